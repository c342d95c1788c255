//! `batch_norm_relu`, batch norm fused with the ReLU after it (and a residual sum in between):
//! finite-difference gradients away from the ReLU's kink, and agreement with the unfused ops
//! (outputs, every gradient, running statistics) in training and eval; and the one-pass batch
//! statistics that every batch norm shares.
use convkit_tensor::gradcheck::{check_gradients, GradCheckConfig};
use convkit_tensor::{
    batch_norm, batch_norm_relu, no_grad, seeded_rng, BatchNormConfig, BatchNormTensors, Tensor,
};
use rand::Rng;

/// `[N, C, H, W]` values whose batch statistics put every normalised value at least 0.5 from 0:
/// each channel holds pairs ±a with a in [1, 2), so its mean is 0 and its std below 2.
fn symmetric_input(dims: [usize; 4], seed: u64) -> Tensor {
    let [n, c, h, w] = dims;
    let per_channel = n * h * w;
    assert_eq!(per_channel % 2, 0, "pairs need an even count per channel");
    let mut rng = seeded_rng(seed);
    let mut values = vec![0.0; n * c * h * w];
    for ch in 0..c {
        for k in (0..per_channel).step_by(2) {
            let a = rng.random_range(1.0..2.0f32);
            for (j, v) in [a, -a].into_iter().enumerate() {
                let (img, pixel) = ((k + j) / (h * w), (k + j) % (h * w));
                values[(img * c + ch) * h * w + pixel] = v;
            }
        }
    }
    Tensor::from_vec(values, dims).unwrap().with_grad()
}

fn uniform(dims: &[usize], range: std::ops::Range<f32>, seed: u64) -> Tensor {
    let mut rng = seeded_rng(seed);
    let n = dims.iter().product();
    let v = (0..n).map(|_| rng.random_range(range.clone())).collect();
    Tensor::from_vec(v, dims).unwrap().with_grad()
}

fn check(f: impl Fn(&[Tensor]) -> convkit_tensor::Result<Tensor>, inputs: &[Tensor]) {
    check_gradients(f, inputs, &GradCheckConfig::default())
        .expect("op failed")
        .unwrap_or_else(|e| panic!("{e}"));
}

fn affine(t: &[Tensor]) -> BatchNormTensors<'_> {
    BatchNormTensors {
        weight: Some(&t[1]),
        bias: Some(&t[2]),
        ..Default::default()
    }
}

#[test]
fn gradients_without_a_residual() {
    let dims = [2, 3, 2, 3];
    // Weight in [0.5, 1.5) and bias in ±0.1 keep every pre-activation at least 0.15 from 0.
    let inputs = [
        symmetric_input(dims, 1),
        uniform(&[3], 0.5..1.5, 2),
        uniform(&[3], -0.1..0.1, 3),
    ];
    check(
        |t| batch_norm_relu(&t[0], affine(t), BatchNormConfig::default(), None, None),
        &inputs,
    );
}

#[test]
fn gradients_with_a_residual() {
    let dims = [3, 2, 2, 2];
    let (x, w, b) = (
        Tensor::randn(dims, &mut seeded_rng(4)).with_grad(),
        uniform(&[2], 0.5..1.5, 5),
        uniform(&[2], -0.5..0.5, 6),
    );
    // The residual puts each pre-activation at ±[0.5, 1.5) with random signs.
    let z = no_grad(|| {
        batch_norm(
            &x,
            None,
            None,
            Some(&w),
            Some(&b),
            BatchNormConfig::default(),
        )
        .unwrap()
    });
    let mut rng = seeded_rng(7);
    let r: Vec<f32> = z
        .to_vec()
        .iter()
        .map(|z| {
            let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            sign * rng.random_range(0.5..1.5) - z
        })
        .collect();
    let r = Tensor::from_vec(r, dims).unwrap().with_grad();
    check(
        |t| {
            batch_norm_relu(
                &t[0],
                affine(t),
                BatchNormConfig::default(),
                Some(&t[3]),
                None,
            )
        },
        &[x.clone(), w.clone(), b.clone(), r],
    );
}

#[test]
fn eval_mode_gradients_use_the_running_statistics() {
    let dims = [2, 3, 2, 2];
    let (mean, var) = (
        Tensor::from_vec(vec![0.1, -0.2, 0.3], [3]).unwrap(),
        Tensor::from_vec(vec![0.5, 1.5, 2.0], [3]).unwrap(),
    );
    let config = BatchNormConfig {
        training: false,
        ..Default::default()
    };
    let (w, b) = (uniform(&[3], 0.5..1.5, 9), uniform(&[3], -0.5..0.5, 10));
    // x puts each pre-activation at ±[0.5, 1.5) with random signs: x = mean + (p − b)·σ/w.
    let (m, v, wv, bv) = (mean.to_vec(), var.to_vec(), w.to_vec(), b.to_vec());
    let mut rng = seeded_rng(8);
    let x: Vec<f32> = (0..dims.iter().product())
        .map(|i: usize| {
            let ch = (i / 4) % 3;
            let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            let p = sign * rng.random_range(0.5..1.5f32);
            m[ch] + (p - bv[ch]) * (v[ch] + 1e-5).sqrt() / wv[ch]
        })
        .collect();
    let x = Tensor::from_vec(x, dims).unwrap().with_grad();
    fn with_stats<'a>(t: &'a [Tensor], mean: &'a Tensor, var: &'a Tensor) -> BatchNormTensors<'a> {
        BatchNormTensors {
            running_mean: Some(mean),
            running_var: Some(var),
            ..affine(t)
        }
    }
    let inputs = [x.clone(), w.clone(), b.clone()];
    let y = batch_norm_relu(&x, with_stats(&inputs, &mean, &var), config, None, None)
        .unwrap()
        .to_vec();
    assert!(y.iter().any(|&v| v > 0.0) && y.contains(&0.0), "{y:?}");
    check(
        |t| batch_norm_relu(&t[0], with_stats(t, &mean, &var), config, None, None),
        &inputs,
    );
}

/// `(output, [dx, dw, db, dr], running mean, running var)` of `f` under the upstream gradient `g`.
fn run(
    f: impl Fn(&Tensor, &Tensor, &Tensor, &Tensor, &Tensor, &Tensor) -> Tensor,
    dims: [usize; 4],
    training: bool,
) -> (Vec<f32>, Vec<Vec<f32>>, Vec<f32>, Vec<f32>) {
    let c = dims[1];
    let mut rng = seeded_rng(11);
    let x = Tensor::randn(dims, &mut rng).with_grad();
    let w = Tensor::randn([c], &mut rng).with_grad();
    let b = Tensor::randn([c], &mut rng).with_grad();
    let r = Tensor::randn(dims, &mut rng).with_grad();
    let g = Tensor::randn(dims, &mut rng);
    let (rm, rv) = (Tensor::zeros([c]), Tensor::ones([c]));
    if !training {
        rm.data_mut()
            .copy_from_slice(&Tensor::randn([c], &mut rng).to_vec());
    }
    let y = f(&x, &w, &b, &r, &rm, &rv);
    y.mul(&g).unwrap().sum().backward().unwrap();
    let grads = [&x, &w, &b, &r]
        .map(|t| t.grad().unwrap().to_vec())
        .to_vec();
    (y.to_vec(), grads, rm.to_vec(), rv.to_vec())
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (a, b)) in a.iter().zip(b).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
            "{what}[{i}]: {a} vs {b}"
        );
    }
}

#[test]
fn matches_batch_norm_then_add_then_relu() {
    for (dims, training) in [
        ([4, 3, 5, 7], true),
        ([2, 16, 9, 9], true),
        ([3, 5, 4, 4], false),
    ] {
        let config = BatchNormConfig {
            training,
            ..Default::default()
        };
        let fused = run(
            |x, w, b, r, rm, rv| {
                let tensors = BatchNormTensors {
                    running_mean: Some(rm),
                    running_var: Some(rv),
                    weight: Some(w),
                    bias: Some(b),
                };
                batch_norm_relu(x, tensors, config, Some(r), None).unwrap()
            },
            dims,
            training,
        );
        let unfused = run(
            |x, w, b, r, rm, rv| {
                let y = batch_norm(x, Some(rm), Some(rv), Some(w), Some(b), config).unwrap();
                y.add(r).unwrap().relu()
            },
            dims,
            training,
        );
        let case = format!("{dims:?} training {training}");
        assert_close(&fused.0, &unfused.0, &format!("{case} output"));
        for (k, name) in ["dx", "dweight", "dbias", "dresidual"].iter().enumerate() {
            assert_close(&fused.1[k], &unfused.1[k], &format!("{case} {name}"));
        }
        assert_close(&fused.2, &unfused.2, &format!("{case} running mean"));
        assert_close(&fused.3, &unfused.3, &format!("{case} running var"));
    }
}

#[test]
fn without_a_residual_it_is_batch_norm_then_relu() {
    let dims = [3, 4, 6, 5];
    let config = BatchNormConfig::default();
    let mut rng = seeded_rng(12);
    let x = Tensor::randn(dims, &mut rng).with_grad();
    let g = Tensor::randn(dims, &mut rng);
    let grad_of = |y: Tensor| {
        x.zero_grad();
        y.mul(&g).unwrap().sum().backward().unwrap();
        (y.to_vec(), x.grad().unwrap().to_vec())
    };
    let fused =
        grad_of(batch_norm_relu(&x, BatchNormTensors::default(), config, None, None).unwrap());
    let unfused = grad_of(
        batch_norm(&x, None, None, None, None, config)
            .unwrap()
            .relu(),
    );
    assert!(fused.0.contains(&0.0) && fused.0.iter().any(|&v| v > 0.0));
    assert_close(&fused.0, &unfused.0, "output");
    assert_close(&fused.1, &unfused.1, "dx");
}

#[test]
fn a_residual_of_another_shape_is_an_error_naming_both() {
    let x = Tensor::zeros([2, 3, 4, 4]);
    let r = Tensor::zeros([2, 3, 4, 5]);
    let err = batch_norm_relu(
        &x,
        BatchNormTensors::default(),
        BatchNormConfig::default(),
        Some(&r),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("batch_norm_relu")
            && err.contains("[2, 3, 4, 5]")
            && err.contains("[2, 3, 4, 4]"),
        "{err}"
    );
}

#[test]
fn one_pass_statistics_keep_their_precision_far_from_zero() {
    // Values 1000 + k/8 (exact in f32): per channel mean 1000 + 7/16, variance (8² − 1)/12 / 64.
    let (n, c, len) = (4, 2, 8);
    let v: Vec<f32> = (0..n * c * len)
        .map(|i| 1000.0 + (i % len) as f32 / 8.0)
        .collect();
    let x = Tensor::from_vec(v, [n, c, len]).unwrap();
    let (rm, rv) = (Tensor::zeros([c]), Tensor::zeros([c]));
    let config = BatchNormConfig {
        momentum: 1.0,
        ..Default::default()
    };
    let y = batch_norm(&x, Some(&rm), Some(&rv), None, None, config).unwrap();
    let count = (n * len) as f64;
    let var = (64.0 - 1.0) / 12.0 / 64.0;
    for ch in 0..c {
        assert!((rm.to_vec()[ch] - 1000.4375).abs() < 1e-4, "{rm:?}");
        let unbiased = var * count / (count - 1.0);
        assert!((rv.to_vec()[ch] as f64 - unbiased).abs() < 1e-6, "{rv:?}");
    }
    let first = (0.0 - 3.5) / 8.0 / (var + 1e-5).sqrt();
    assert!((y.to_vec()[0] as f64 - first).abs() < 1e-4, "{y:?}");
}
