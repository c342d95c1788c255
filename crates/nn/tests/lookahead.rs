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
    Lookahead::new(inner, params.to_vec(), LookaheadConfig { k, alpha: 0.5 }).unwrap()
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
        let err = Lookahead::new(inner, p.clone(), LookaheadConfig { k, alpha }).err();
        assert!(err.is_some(), "k {k} alpha {alpha} accepted");
    }
}
