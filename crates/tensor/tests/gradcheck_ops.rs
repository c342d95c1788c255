//! Finite-difference gradient checks for every differentiable op, with a random upstream gradient,
//! odd sizes, batch size 1 and broadcasting edge cases.
use convkit_tensor::gradcheck::{check_gradients, GradCheckConfig};
use convkit_tensor::{batch_norm, linear, seeded_rng, BatchNormConfig, Result, Tensor};

fn input(dims: &[usize], seed: u64) -> Tensor {
    Tensor::randn(dims, &mut seeded_rng(seed)).with_grad()
}

/// Values at least 0.1 away from 0, for ops with a kink there (ReLU).
fn away_from_zero(dims: &[usize], seed: u64) -> Tensor {
    let t = Tensor::randn(dims, &mut seeded_rng(seed));
    let v = t.to_vec().iter().map(|x| x + 0.1f32.copysign(*x)).collect();
    Tensor::from_vec(v, dims).unwrap().with_grad()
}

fn positive(dims: &[usize], seed: u64) -> Tensor {
    Tensor::uniform(dims, 0.5, 2.0, &mut seeded_rng(seed)).with_grad()
}

fn check(f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor]) {
    check_with(f, inputs, &GradCheckConfig::default());
}

fn check_with(
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
    config: &GradCheckConfig,
) {
    let worst = check_gradients(f, inputs, config)
        .expect("op failed")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(worst.is_finite());
}

#[test]
fn binary_ops_with_broadcasts() {
    let cases: [(&[usize], &[usize]); 5] = [
        (&[2, 3, 4, 5], &[2, 3, 4, 5]), // same shape
        (&[2, 3, 4, 5], &[3, 1, 1]),    // per-channel over NCHW
        (&[1, 3, 2, 2], &[1, 3, 1, 1]), // batch 1, keepdim form
        (&[7, 5], &[5]),                // per-feature over N×D
        (&[3, 5], &[1]),                // scalar
    ];
    for (i, (a, b)) in cases.iter().enumerate() {
        let seed = i as u64 * 10;
        check(|t| t[0].add(&t[1]), &[input(a, seed), input(b, seed + 1)]);
        check(
            |t| t[0].sub(&t[1]),
            &[input(a, seed + 2), input(b, seed + 3)],
        );
        check(
            |t| t[0].mul(&t[1]),
            &[input(a, seed + 4), input(b, seed + 5)],
        );
        check(
            |t| t[0].div(&t[1]),
            &[input(a, seed + 6), positive(b, seed + 7)],
        );
        // The broadcast operand on the left.
        check(
            |t| t[1].sub(&t[0]),
            &[input(a, seed + 8), input(b, seed + 9)],
        );
    }
}

#[test]
fn scalar_and_unary_ops() {
    check(
        |t| Ok(t[0].add_scalar(0.7).mul_scalar(-1.3)),
        &[input(&[3, 4], 1)],
    );
    check(|t| Ok(t[0].neg()), &[input(&[5], 2)]);
    check(|t| Ok(t[0].exp()), &[input(&[2, 3], 3)]);
    check(|t| Ok(t[0].log()), &[positive(&[2, 3], 4)]);
    check(|t| Ok(t[0].sqrt()), &[positive(&[7], 5)]);
}

#[test]
fn matmul_and_linear() {
    check(
        |t| t[0].matmul(&t[1]),
        &[input(&[3, 5], 1), input(&[5, 4], 2)],
    );
    check(
        |t| t[0].matmul(&t[1]),
        &[input(&[1, 7], 3), input(&[7, 1], 4)],
    );
    check(
        |t| linear(&t[0], &t[1], Some(&t[2])),
        &[input(&[4, 6], 5), input(&[3, 6], 6), input(&[3], 7)],
    );
    check(
        |t| linear(&t[0], &t[1], None),
        &[input(&[1, 9], 8), input(&[5, 9], 9)],
    );
}

#[test]
fn reductions() {
    check(|t| Ok(t[0].sum()), &[input(&[2, 3, 4], 1)]);
    check(|t| Ok(t[0].mean()), &[input(&[5, 3], 2)]);
    check(
        |t| t[0].sum_dims(&[0, 2], false),
        &[input(&[2, 3, 4, 5], 3)],
    );
    check(|t| t[0].sum_dims(&[1], true), &[input(&[3, 4, 2], 4)]);
    check(
        |t| t[0].mean_dims(&[2, 3], true),
        &[input(&[2, 3, 3, 5], 5)],
    );
    // Distinct values so the arg-max doesn't flip under the finite-difference step.
    let distinct: Vec<f32> = (0..30).map(|i| ((i * 7) % 30) as f32 * 0.1).collect();
    let x = Tensor::from_vec(distinct, [2, 5, 3]).unwrap().with_grad();
    check(|t| t[0].max_dim(1), std::slice::from_ref(&x));
    check(|t| t[0].max_dim(2), &[x]);
}

#[test]
fn shape_ops() {
    check(
        |t| t[0].reshape(&[6, 4])?.mul(&t[1]),
        &[input(&[2, 3, 4], 1), input(&[6, 4], 2)],
    );
    check(|t| t[0].flatten(1), &[input(&[2, 3, 2, 2], 3)]);
    check(|t| t[0].transpose(), &[input(&[3, 5], 4)]);
    check(
        |t| Tensor::concat(&[t[0].clone(), t[1].clone()], 1),
        &[input(&[2, 3, 2], 5), input(&[2, 4, 2], 6)],
    );
    check(
        |t| Tensor::concat(&[t[0].clone(), t[1].clone()], 0),
        &[input(&[1, 3], 7), input(&[2, 3], 8)],
    );
    check(|t| t[0].narrow(1, 1, 2), &[input(&[2, 4, 3], 9)]);
}

#[test]
fn activations() {
    check(|t| Ok(t[0].relu()), &[away_from_zero(&[3, 4, 5], 1)]);
    check(|t| Ok(t[0].leaky_relu(0.1)), &[away_from_zero(&[2, 7], 2)]);
    check(|t| Ok(t[0].sigmoid()), &[input(&[3, 5], 3)]);
    check(|t| Ok(t[0].tanh()), &[input(&[3, 5], 4)]);
    for dim in 0..3 {
        check(|t| t[0].softmax(dim), &[input(&[3, 4, 5], 5 + dim as u64)]);
        check(
            |t| t[0].log_softmax(dim),
            &[input(&[3, 4, 5], 8 + dim as u64)],
        );
    }
}

#[test]
fn losses() {
    check(
        |t| t[0].cross_entropy(&[2, 0, 4, 1, 4]),
        &[input(&[5, 6], 1)],
    );
    check(|t| t[0].cross_entropy(&[3]), &[input(&[1, 4], 2)]);
    check(
        |t| t[0].mse_loss(&t[1]),
        &[input(&[4, 3], 3), input(&[4, 3], 4)],
    );
}

#[test]
fn dropout_with_fixed_mask() {
    // Reseeding inside the function keeps the mask fixed across the finite-difference evaluations.
    check(
        |t| t[0].dropout(0.3, true, &mut seeded_rng(42)),
        &[input(&[4, 9], 1)],
    );
}

#[test]
fn batch_norm_train_and_eval() {
    let config = GradCheckConfig {
        rtol: 2e-2,
        ..Default::default()
    };
    for (i, dims) in [
        [4usize, 3, 5, 5].as_slice(),
        &[1, 2, 3, 3],
        &[6, 5],
        &[2, 3, 7],
    ]
    .iter()
    .enumerate()
    {
        let c = dims[1];
        let bn = |training: bool| {
            move |t: &[Tensor]| {
                let (rm, rv) = (Tensor::zeros([c]), Tensor::ones([c]));
                let cfg = BatchNormConfig {
                    training,
                    ..Default::default()
                };
                batch_norm(&t[0], Some(&rm), Some(&rv), Some(&t[1]), Some(&t[2]), cfg)
            }
        };
        let seed = i as u64 * 10;
        let inputs = [
            input(dims, seed),
            positive(&[c], seed + 1),
            input(&[c], seed + 2),
        ];
        check_with(bn(true), &inputs, &config);
        check_with(bn(false), &inputs, &config);
    }
}

#[test]
fn conv2d_configurations() {
    use convkit_tensor::ops::conv::{conv2d, Conv2dConfig};
    let cases = [
        // (input dims, weight dims, stride, padding, dilation, groups)
        ([2, 3, 7, 6], [4, 3, 3, 3], (1, 1), (1, 1), (1, 1), 1),
        ([1, 2, 9, 9], [3, 2, 3, 3], (2, 2), (0, 0), (1, 1), 1),
        ([1, 2, 8, 7], [2, 2, 3, 2], (3, 2), (2, 1), (1, 1), 1),
        ([2, 4, 7, 7], [6, 2, 3, 3], (1, 1), (1, 1), (1, 1), 2),
        ([1, 3, 6, 6], [3, 1, 3, 3], (1, 1), (1, 1), (1, 1), 3),
        ([1, 2, 9, 9], [2, 2, 3, 3], (1, 1), (2, 2), (2, 2), 1),
        ([2, 5, 4, 4], [3, 5, 1, 1], (1, 1), (0, 0), (1, 1), 1),
        ([1, 1, 5, 5], [2, 1, 5, 5], (1, 1), (0, 0), (1, 1), 1),
    ];
    let config = GradCheckConfig {
        rtol: 2e-2,
        atol: 5e-3,
        ..Default::default()
    };
    for (i, (x, w, stride, padding, dilation, groups)) in cases.into_iter().enumerate() {
        let conv = Conv2dConfig {
            stride,
            padding,
            dilation,
            groups,
        };
        let seed = i as u64 * 10;
        let inputs = [
            input(&x, seed),
            input(&w, seed + 1),
            input(&[w[0]], seed + 2),
        ];
        check_with(
            |t| conv2d(&t[0], &t[1], Some(&t[2]), &conv),
            &inputs,
            &config,
        );
        check_with(|t| conv2d(&t[0], &t[1], None, &conv), &inputs[..2], &config);
    }
}

#[test]
fn pooling_configurations() {
    use convkit_tensor::ops::pool::{avg_pool2d, global_avg_pool2d, max_pool2d, Pool2dConfig};
    // Distinct values spaced well beyond the finite-difference step, so no window's max flips.
    let distinct = |dims: &[usize], seed: u64| {
        let n: usize = dims.iter().product();
        let mut order: Vec<usize> = (0..n).collect();
        use rand::seq::SliceRandom;
        order.shuffle(&mut seeded_rng(seed));
        let v = order.iter().map(|&k| k as f32 * 0.1).collect();
        Tensor::from_vec(v, dims).unwrap().with_grad()
    };
    let configs = [
        Pool2dConfig::square(2),
        Pool2dConfig::new((3, 3), (2, 2), (1, 1)),
        Pool2dConfig::new((2, 3), (1, 2), (0, 1)),
        Pool2dConfig {
            ceil_mode: true,
            ..Pool2dConfig::new((3, 3), (2, 2), (0, 0))
        },
        Pool2dConfig {
            count_include_pad: false,
            ..Pool2dConfig::new((3, 3), (1, 1), (1, 1))
        },
    ];
    for (i, config) in configs.iter().enumerate() {
        let x = distinct(&[2, 3, 7, 8], i as u64);
        check(|t| max_pool2d(&t[0], config), std::slice::from_ref(&x));
        check(|t| avg_pool2d(&t[0], config), &[x]);
    }
    check(
        |t| max_pool2d(&t[0], &Pool2dConfig::square(2)),
        &[distinct(&[1, 1, 5, 5], 9)],
    );
    check(|t| global_avg_pool2d(&t[0]), &[input(&[2, 3, 5, 3], 10)]);
}
