//! Lookahead around SGD: the slow weights by hand, and a resumed run that repeats the straight one.
use convkit_nn::optim::{Lookahead, LookaheadConfig, Optimizer, Sgd, SgdConfig};
use convkit_tensor::Tensor;

fn param(values: &[f32]) -> Vec<(String, Tensor)> {
    let t = Tensor::from_vec(values.to_vec(), [values.len()])
        .unwrap()
        .with_grad();
    vec![("w".into(), t)]
}

/// Gradient `g` for the parameter: d(Σ w·g)/dw = g.
fn backward(params: &[(String, Tensor)], g: &[f32]) {
    let g = Tensor::from_vec(g.to_vec(), [g.len()]).unwrap();
    params[0].1.mul(&g).unwrap().sum().backward().unwrap();
}

fn lookahead(params: &[(String, Tensor)], momentum: f32, k: usize) -> Lookahead {
    let sgd = SgdConfig {
        lr: 0.1,
        momentum,
        ..Default::default()
    };
    let inner = Box::new(Sgd::new(params.to_vec(), sgd).unwrap());
    let config = LookaheadConfig {
        k,
        alpha: 0.5,
        ..Default::default()
    };
    Lookahead::new(inner, params.to_vec(), config, 0).unwrap()
}

fn step(params: &[(String, Tensor)], optimizer: &mut Lookahead, g: &[f32]) {
    optimizer.zero_grad();
    backward(params, g);
    optimizer.step().unwrap();
}

#[test]
fn every_k_steps_the_weights_go_back_halfway_to_the_slow_ones() {
    let p = param(&[1.0]);
    let mut optimizer = lookahead(&p, 0.0, 2);
    let mut seen = Vec::new();
    for _ in 0..4 {
        step(&p, &mut optimizer, &[1.0]);
        seen.push(p[0].1.to_vec()[0]);
    }
    // Fast: 0.9, 0.8 → slow 1 + 0.5·(0.8 − 1) = 0.9; then 0.8, 0.7 → slow 0.9 + 0.5·(0.7 − 0.9).
    let want = [0.9, 0.9, 0.8, 0.8];
    for (got, want) in seen.iter().zip(want) {
        assert!((got - want).abs() < 1e-6, "{seen:?}");
    }
}

#[test]
fn a_run_resumed_from_the_state_continues_exactly() {
    let gradients: Vec<[f32; 3]> = (0..9)
        .map(|i| [i as f32 * 0.3 - 1.0, 0.5, (i % 3) as f32])
        .collect();
    let straight = param(&[0.2, -0.4, 1.0]);
    let mut optimizer = lookahead(&straight, 0.9, 3);
    for g in &gradients {
        step(&straight, &mut optimizer, g);
    }

    let first = param(&[0.2, -0.4, 1.0]);
    let mut before = lookahead(&first, 0.9, 3);
    for g in &gradients[..4] {
        step(&first, &mut before, g);
    }
    let state = before.state();
    assert!(state.iter().any(|(n, _)| n == "w.lookahead_slow"));
    let resumed = param(&first[0].1.to_vec());
    let mut after = lookahead(&resumed, 0.9, 3);
    after.load_state(&state).unwrap();
    for g in &gradients[4..] {
        step(&resumed, &mut after, g);
    }
    let bits = |p: &[(String, Tensor)]| {
        p[0].1
            .to_vec()
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&resumed), bits(&straight));
}

#[test]
fn state_without_the_slow_weights_is_refused_and_bad_settings_too() {
    let p = param(&[1.0, 2.0]);
    let mut optimizer = lookahead(&p, 0.9, 2);
    step(&p, &mut optimizer, &[1.0, 1.0]);
    let state: Vec<_> = optimizer
        .state()
        .into_iter()
        .filter(|(n, _)| n != "w.lookahead_slow")
        .collect();
    let err = lookahead(&p, 0.9, 2)
        .load_state(&state)
        .unwrap_err()
        .to_string();
    assert!(err.contains("w.lookahead_slow"), "{err}");

    for (k, alpha) in [(0, 0.5), (5, 0.0), (5, 1.5), (5, f32::NAN)] {
        let inner = Box::new(Sgd::new(p.clone(), SgdConfig::default()).unwrap());
        let config = LookaheadConfig {
            k,
            alpha,
            ..Default::default()
        };
        let err = Lookahead::new(inner, p.clone(), config, 10).err();
        assert!(err.is_some(), "k {k} alpha {alpha} accepted");
    }
    for (ramp, total) in [(0.0, 10), (f32::INFINITY, 10), (3.0, 0)] {
        let inner = Box::new(Sgd::new(p.clone(), SgdConfig::default()).unwrap());
        let config = LookaheadConfig {
            ramp: Some(ramp),
            ..Default::default()
        };
        let err = Lookahead::new(inner, p.clone(), config, total).err();
        assert!(err.is_some(), "ramp {ramp} over {total} steps accepted");
    }
}

/// airbench's variant: alpha = 1 − (1 − 0.2)·(t/T)³ at the synchronisations (k = 2 of T = 4
/// steps), and a buffer (not touched by the optimiser) averaged like the weights.
#[test]
fn a_ramped_alpha_averages_more_toward_the_end_and_buffers_follow() {
    let p = param(&[0.0]);
    let buffer = Tensor::from_vec(vec![0.0], [1]).unwrap();
    let sgd = SgdConfig {
        lr: 1.0,
        momentum: 0.0,
        ..Default::default()
    };
    let inner = Box::new(Sgd::new(p.clone(), sgd).unwrap());
    let config = LookaheadConfig {
        k: 2,
        alpha: 0.2,
        ramp: Some(3.0),
        buffers: true,
    };
    let mut followed = p.clone();
    followed.push(("running_mean".into(), buffer.clone()));
    let mut optimizer = Lookahead::new(inner, followed, config, 4).unwrap();
    let (mut w, mut slow, mut b) = (0.0f32, 0.0f32, 0.0f32);
    // The slow copies are taken at the first step: the weight before it, the buffer as the
    // forward pass before it left it.
    let mut b_slow = 10.0;
    for t in 1..=4 {
        buffer.data_mut()[0] += 10.0; // as a training forward pass would move it
        b += 10.0;
        step(&p, &mut optimizer, &[-1.0]); // each step adds 1 to the weight
        w += 1.0;
        if t % 2 == 0 {
            let alpha = 1.0 - 0.8 * (t as f32 / 4.0).powi(3);
            slow += alpha * (w - slow);
            b_slow += alpha * (b - b_slow);
            (w, b) = (slow, b_slow);
        }
        let got = (p[0].1.to_vec()[0], buffer.to_vec()[0]);
        assert!(
            (got.0 - w).abs() < 1e-5 && (got.1 - b).abs() < 1e-4,
            "step {t}: {got:?} vs {w}, {b}"
        );
    }
    assert!(w < 4.0, "the ramp held the weight back at the end: {w}");
}
