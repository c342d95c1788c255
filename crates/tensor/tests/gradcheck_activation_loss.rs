//! Activations, losses and dropout variants: finite-difference gradient checks (random upstream
//! gradient, odd sizes, batch 1, every reduction), hand-computed values and statistical properties.
use convkit_tensor::gradcheck::{check_gradients, GradCheckConfig};
use convkit_tensor::ops::dropout::StochasticDepthMode;
use convkit_tensor::ops::loss::{
    cross_entropy, multi_margin_loss, multiclass_hinge_loss, nll_loss, pointwise_loss, ClassTarget,
    CrossEntropyConfig, MultiMarginConfig, PointwiseLoss, PointwiseLossConfig, Reduction,
};
use convkit_tensor::{seeded_rng, Activation, GeluApproximation, Result, Tensor};

fn input(dims: &[usize], seed: u64) -> Tensor {
    Tensor::randn(dims, &mut seeded_rng(seed)).with_grad()
}

/// `scale`·N(0, 1) samples moved at least 0.05 away from every kink.
fn away_from(dims: &[usize], seed: u64, scale: f32, kinks: &[f32]) -> Tensor {
    let t = Tensor::randn(dims, &mut seeded_rng(seed));
    let v = t
        .to_vec()
        .iter()
        .map(|&x| {
            let mut x = x * scale;
            for &k in kinks {
                if (x - k).abs() < 0.05 {
                    x = k + 0.05f32.copysign(x - k);
                }
            }
            x
        })
        .collect();
    Tensor::from_vec(v, dims).unwrap().with_grad()
}

/// Distinct values 0.3 apart in a seeded random order: no max or hinge flips under the FD step.
fn spaced(dims: &[usize], seed: u64) -> Tensor {
    use rand::seq::SliceRandom;
    let n: usize = dims.iter().product();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut seeded_rng(seed));
    let v = order
        .iter()
        .map(|&k| k as f32 * 0.3 - 0.15 * n as f32)
        .collect();
    Tensor::from_vec(v, dims).unwrap().with_grad()
}

fn check(f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor]) {
    let worst = check_gradients(f, inputs, &GradCheckConfig::default())
        .expect("op failed")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(worst.is_finite());
}

fn assert_close(actual: &[f32], expected: &[f32], tol: f32) {
    assert_eq!(actual.len(), expected.len());
    for (i, (a, b)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - b).abs() <= tol * (1.0 + b.abs()),
            "element {i}: {a} vs {b}"
        );
    }
}

#[test]
fn pointwise_activations() {
    let cases: [(Activation, f32, &[f32]); 12] = [
        (Activation::Identity, 1.0, &[]),
        (Activation::Relu6, 4.0, &[0.0, 6.0]),
        (Activation::Elu { alpha: 1.0 }, 2.0, &[0.0]),
        (Activation::Elu { alpha: 0.3 }, 2.0, &[0.0]),
        (
            Activation::Gelu {
                approximate: GeluApproximation::Exact,
            },
            2.0,
            &[],
        ),
        (
            Activation::Gelu {
                approximate: GeluApproximation::Tanh,
            },
            2.0,
            &[],
        ),
        (Activation::Silu, 3.0, &[]),
        (Activation::Hardswish, 4.0, &[-3.0, 3.0]),
        (
            Activation::Softplus {
                beta: 1.0,
                threshold: 20.0,
            },
            3.0,
            &[],
        ),
        // βx crosses the threshold inside the sample: the linear branch is checked too.
        (
            Activation::Softplus {
                beta: 2.0,
                threshold: 3.0,
            },
            3.0,
            &[1.5],
        ),
        (
            Activation::LeakyRelu {
                negative_slope: 0.2,
            },
            1.0,
            &[0.0],
        ),
        (Activation::Relu, 1.0, &[0.0]),
    ];
    for (i, (op, scale, kinks)) in cases.into_iter().enumerate() {
        for (j, dims) in [[3usize, 5, 7].as_slice(), &[1, 4], &[9]]
            .iter()
            .enumerate()
        {
            let x = away_from(dims, (i * 10 + j) as u64, scale, kinks);
            check(|t| Ok(t[0].activation(op)), &[x]);
        }
    }
}

#[test]
fn activation_values_by_hand() {
    let x = Tensor::from_vec(vec![-4.0, -1.0, 0.0, 1.0, 7.0], [5]).unwrap();
    assert_close(&x.relu6().to_vec(), &[0.0, 0.0, 0.0, 1.0, 6.0], 1e-6);
    let e = (-1.0f32).exp() - 1.0;
    assert_close(
        &x.elu(0.5).to_vec(),
        &[0.5 * ((-4.0f32).exp() - 1.0), 0.5 * e, 0.0, 1.0, 7.0],
        1e-6,
    );
    assert_close(
        &x.hardswish().to_vec(),
        &[0.0, -1.0 / 3.0, 0.0, 2.0 / 3.0, 7.0],
        1e-6,
    );
    // GELU(1) = Φ(1) = 0.8413447460685429; the tanh form gives 0.8411919906082768.
    let one = Tensor::from_vec(vec![1.0], [1]).unwrap();
    assert_close(
        &one.gelu(GeluApproximation::Exact).to_vec(),
        &[0.841_344_8],
        1e-6,
    );
    assert_close(
        &one.gelu(GeluApproximation::Tanh).to_vec(),
        &[0.841_192],
        1e-6,
    );
    assert_close(&one.silu().to_vec(), &[1.0 / (1.0 + (-1.0f32).exp())], 1e-6);
    assert_close(
        &one.softplus(1.0, 20.0).unwrap().to_vec(),
        &[1f32.exp().ln_1p()],
        1e-6,
    );
    assert!(one.softplus(0.0, 20.0).is_err());
}

#[test]
fn prelu_shared_and_per_channel() {
    let slopes =
        |n: usize, seed: u64| Tensor::uniform([n], 0.05, 0.5, &mut seeded_rng(seed)).with_grad();
    for (i, dims) in [[2usize, 3, 4, 5].as_slice(), &[1, 4, 3], &[5, 3], &[7]]
        .iter()
        .enumerate()
    {
        let seed = i as u64 * 10;
        let channels = if dims.len() == 1 { dims[0] } else { dims[1] };
        let x = away_from(dims, seed, 1.0, &[0.0]);
        check(
            |t| t[0].prelu(&t[1]),
            &[x.clone(), slopes(channels, seed + 1)],
        );
        check(|t| t[0].prelu(&t[1]), &[x, slopes(1, seed + 2)]);
    }
    // Hand value: per-channel slopes apply along dim 1.
    let x = Tensor::from_vec(vec![-1.0, 2.0, -3.0, -4.0], [1, 2, 2]).unwrap();
    let w = Tensor::from_vec(vec![0.5, 0.25], [2]).unwrap();
    assert_eq!(x.prelu(&w).unwrap().to_vec(), vec![-0.5, 2.0, -0.75, -1.0]);
    let err = x.prelu(&Tensor::ones([3])).unwrap_err().to_string();
    assert!(err.contains("prelu") && err.contains("[1, 2, 2]"), "{err}");
}

#[test]
fn maxout_groups_consecutive_channels() {
    let x = spaced(&[2, 6, 3, 2], 1);
    check(|t| t[0].maxout(3), std::slice::from_ref(&x));
    check(|t| t[0].maxout(2), &[spaced(&[1, 4], 2)]);
    let x = Tensor::from_vec(vec![1.0, 5.0, 2.0, -1.0, 0.0, -3.0], [1, 6]).unwrap();
    assert_eq!(x.maxout(3).unwrap().to_vec(), vec![5.0, 0.0]);
    assert_eq!(x.maxout(2).unwrap().to_vec(), vec![5.0, 2.0, 0.0]);
    let err = x.maxout(4).unwrap_err().to_string();
    assert!(err.contains("maxout") && err.contains("[1, 6]"), "{err}");
}

#[test]
fn softmax_over_every_dim() {
    let dims = [2usize, 3, 4, 5];
    for dim in 0..dims.len() {
        let x = input(&dims, dim as u64);
        check(|t| t[0].softmax(dim), std::slice::from_ref(&x));
        check(|t| t[0].log_softmax(dim), std::slice::from_ref(&x));
        // Sums to one along `dim`, and log-softmax is its log.
        let s = x.softmax(dim).unwrap();
        let ones = s.sum_dims(&[dim], false).unwrap().to_vec();
        assert_close(&ones, &vec![1.0; ones.len()], 1e-5);
        let log_s: Vec<f32> = s.to_vec().iter().map(|v| v.ln()).collect();
        assert_close(&x.log_softmax(dim).unwrap().to_vec(), &log_s, 1e-5);
    }
    check(|t| t[0].softmax(0), &[input(&[7], 9)]);
    assert!(input(&[2, 3], 0).softmax(2).is_err());
}

fn ce_config(weight: Option<Tensor>, reduction: Reduction, smoothing: f32) -> CrossEntropyConfig {
    CrossEntropyConfig {
        weight,
        reduction,
        label_smoothing: smoothing,
        ignore_index: None,
    }
}

#[test]
fn cross_entropy_and_nll_every_setting() {
    let weight = Tensor::uniform([5], 0.2, 2.0, &mut seeded_rng(3));
    let targets = [2usize, 0, 4, 1, 4, 3, 0];
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        for w in [None, Some(weight.clone())] {
            for smoothing in [0.0, 0.2] {
                let config = ce_config(w.clone(), reduction, smoothing);
                check(
                    |t| cross_entropy(&t[0], ClassTarget::Indices(&targets), &config),
                    &[input(&[7, 5], 1)],
                );
                check(
                    |t| nll_loss(&t[0], ClassTarget::Indices(&targets), &config),
                    &[input(&[7, 5], 2)],
                );
                // Soft targets, with a gradient to the target distribution too.
                let probs = Tensor::rand([7, 5], &mut seeded_rng(4))
                    .softmax(1)
                    .unwrap()
                    .with_grad();
                check(
                    |t| cross_entropy(&t[0], ClassTarget::Probabilities(&t[1]), &config),
                    &[input(&[7, 5], 5), probs],
                );
            }
        }
    }
    // Spatial targets [N, C, H, W] with batch size 1, and the plain method.
    let pixel_targets = [0usize, 2, 1, 1, 2, 0];
    let config = ce_config(Some(Tensor::ones([3])), Reduction::None, 0.1);
    check(
        |t| cross_entropy(&t[0], ClassTarget::Indices(&pixel_targets), &config),
        &[input(&[1, 3, 2, 3], 6)],
    );
    check(|t| t[0].cross_entropy(&[3]), &[input(&[1, 4], 7)]);
    // An ignored target (here 9, beyond the classes) adds nothing and leaves the mean's divisor.
    let config = CrossEntropyConfig {
        ignore_index: Some(9),
        ..ce_config(None, Reduction::Mean, 0.2)
    };
    let x = input(&[3, 4], 8);
    check(
        |t| cross_entropy(&t[0], ClassTarget::Indices(&[1, 9, 3]), &config),
        std::slice::from_ref(&x),
    );
    let with_ignored = cross_entropy(&x, ClassTarget::Indices(&[1, 9, 3]), &config).unwrap();
    let rows = Tensor::from_vec([&x.to_vec()[..4], &x.to_vec()[8..]].concat(), [2, 4]).unwrap();
    let without = cross_entropy(&rows, ClassTarget::Indices(&[1, 3]), &config).unwrap();
    assert_close(&[with_ignored.item()], &[without.item()], 1e-6);
}

#[test]
fn cross_entropy_by_hand() {
    // logits [0, ln 2, ln 5]: softmax [1/8, 2/8, 5/8].
    let x = Tensor::from_vec(vec![0.0, 2f32.ln(), 5f32.ln()], [1, 3]).unwrap();
    let lp = [(1f32 / 8.0).ln(), (2f32 / 8.0).ln(), (5f32 / 8.0).ln()];
    let plain = x.cross_entropy(&[1]).unwrap().item();
    assert_close(&[plain], &[-lp[1]], 1e-6);
    // Smoothing 0.3: (1 − 0.3)·(−lp[1]) + 0.1·Σ(−lp).
    let smooth = cross_entropy(
        &x,
        ClassTarget::Indices(&[1]),
        &ce_config(None, Reduction::Mean, 0.3),
    )
    .unwrap()
    .item();
    let expected = 0.7 * -lp[1] - 0.1 * lp.iter().sum::<f32>();
    assert_close(&[smooth], &[expected], 1e-6);
    // Weighted mean over two samples: (w0·l0 + w2·l2) / (w0 + w2).
    let x2 = Tensor::from_vec([x.to_vec(), x.to_vec()].concat(), [2, 3]).unwrap();
    let w = Tensor::from_vec(vec![2.0, 1.0, 0.5], [3]).unwrap();
    let weighted = cross_entropy(
        &x2,
        ClassTarget::Indices(&[0, 2]),
        &ce_config(Some(w), Reduction::Mean, 0.0),
    )
    .unwrap()
    .item();
    assert_close(&[weighted], &[(2.0 * -lp[0] + 0.5 * -lp[2]) / 2.5], 1e-6);
    let err = x.cross_entropy(&[0, 1]).unwrap_err().to_string();
    assert!(
        err.contains("2 targets for scores of shape [1, 3]"),
        "{err}"
    );
}

#[test]
fn hinge_losses_course_example() {
    // CS231n's three-class example: columns are the cat, car and frog images' scores.
    let scores =
        Tensor::from_vec(vec![3.2, 5.1, -1.7, 1.3, 4.9, 2.0, 2.2, 2.5, -3.1], [3, 3]).unwrap();
    let targets = [0, 1, 2];
    let per_sample = multiclass_hinge_loss(&scores, &targets, 1.0, Reduction::None).unwrap();
    assert_close(&per_sample.to_vec(), &[2.9, 0.0, 12.9], 1e-5);
    let mean = multiclass_hinge_loss(&scores, &targets, 1.0, Reduction::Mean).unwrap();
    assert_close(&[mean.item()], &[15.8 / 3.0], 1e-5);
    // PyTorch's MultiMarginLoss divides each sample's sum by the class count.
    let torch = multi_margin_loss(&scores, &targets, &MultiMarginConfig::default()).unwrap();
    assert_close(&[torch.item()], &[15.8 / 9.0], 1e-5);
}

#[test]
fn hinge_losses_gradients() {
    let targets = [1usize, 0, 3, 3, 2];
    let weight = Tensor::uniform([4], 0.5, 2.0, &mut seeded_rng(1));
    for p in [1, 2] {
        for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            for w in [None, Some(weight.clone())] {
                let config = MultiMarginConfig {
                    p,
                    margin: 1.0,
                    weight: w,
                    reduction,
                };
                check(
                    |t| multi_margin_loss(&t[0], &targets, &config),
                    &[spaced(&[5, 4], p as u64)],
                );
            }
        }
    }
    check(
        |t| multiclass_hinge_loss(&t[0], &targets, 1.0, Reduction::Mean),
        &[spaced(&[5, 4], 7)],
    );
    let bad = MultiMarginConfig {
        p: 3,
        ..Default::default()
    };
    let err = multi_margin_loss(&spaced(&[5, 4], 1), &targets, &bad).unwrap_err();
    assert!(err.to_string().contains("p must be 1 or 2"), "{err}");
}

#[test]
fn pointwise_losses() {
    let kinds = [
        PointwiseLoss::Mse,
        PointwiseLoss::L1,
        PointwiseLoss::SmoothL1 { beta: 1.0 },
        PointwiseLoss::SmoothL1 { beta: 0.3 },
        PointwiseLoss::BceWithLogits,
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            let seed = i as u64 * 10;
            let x = input(&[3, 5], seed);
            // Targets at least 0.1 from the prediction (L1's kink); in [0, 1] for BCE.
            let t = if kind == PointwiseLoss::BceWithLogits {
                Tensor::rand([3, 5], &mut seeded_rng(seed + 1)).with_grad()
            } else {
                let d = away_from(&[3, 5], seed + 2, 1.0, &[0.0, 0.3, -0.3, 1.0, -1.0]);
                x.add(&d).unwrap().detach().with_grad()
            };
            let config = PointwiseLossConfig {
                reduction,
                pos_weight: None,
            };
            check(|t| pointwise_loss(kind, &t[0], &t[1], &config), &[x, t]);
        }
    }
    let config = PointwiseLossConfig {
        reduction: Reduction::Mean,
        pos_weight: Some(Tensor::from_vec(vec![0.5, 1.0, 3.0], [3]).unwrap()),
    };
    check(
        |t| pointwise_loss(PointwiseLoss::BceWithLogits, &t[0], &t[1], &config),
        &[
            input(&[4, 3], 1),
            Tensor::rand([4, 3], &mut seeded_rng(2)).with_grad(),
        ],
    );
}

#[test]
fn pointwise_losses_by_hand() {
    let x = Tensor::from_vec(vec![0.0, 2.0, -1.0], [3]).unwrap();
    let t = Tensor::from_vec(vec![0.5, 0.0, 1.0], [3]).unwrap();
    let loss = |kind, reduction| {
        let config = PointwiseLossConfig {
            reduction,
            pos_weight: None,
        };
        pointwise_loss(kind, &x, &t, &config).unwrap().to_vec()
    };
    assert_close(
        &loss(PointwiseLoss::Mse, Reduction::None),
        &[0.25, 4.0, 4.0],
        1e-6,
    );
    assert_close(&loss(PointwiseLoss::L1, Reduction::Sum), &[4.5], 1e-6);
    assert_close(
        &loss(PointwiseLoss::SmoothL1 { beta: 1.0 }, Reduction::None),
        &[0.125, 1.5, 1.5],
        1e-6,
    );
    // BCE with logit 0 is ln 2 whatever the target.
    let bce = loss(PointwiseLoss::BceWithLogits, Reduction::None)[0];
    assert_close(&[bce], &[2f32.ln()], 1e-6);
    let err = pointwise_loss(
        PointwiseLoss::Mse,
        &x,
        &Tensor::zeros([4]),
        &PointwiseLossConfig::default(),
    )
    .unwrap_err();
    assert!(err
        .to_string()
        .contains("prediction shape [3] differs from target shape [4]"));
}

#[test]
fn dropout_variants_with_fixed_masks() {
    // Reseeding inside the function keeps the mask fixed across the finite-difference evaluations.
    check(
        |t| t[0].dropout2d(0.4, true, &mut seeded_rng(42)),
        &[input(&[3, 4, 3, 2], 1)],
    );
    check(
        |t| t[0].stochastic_depth(0.5, StochasticDepthMode::Row, true, &mut seeded_rng(42)),
        &[input(&[6, 2, 3], 2)],
    );
}

/// Fraction of kept entries, and the mean of the output of an all-ones input.
fn keep_rate_and_mean(y: &Tensor) -> (f32, f32) {
    let v = y.to_vec();
    let kept = v.iter().filter(|&&x| x != 0.0).count() as f32 / v.len() as f32;
    (kept, v.iter().sum::<f32>() / v.len() as f32)
}

#[test]
fn dropout_variants_keep_rate_and_expectation() {
    let mut rng = seeded_rng(11);
    let p = 0.3;
    let x = Tensor::ones([64, 32, 4, 4]);
    let outputs = [
        x.dropout(p, true, &mut rng).unwrap(),
        x.dropout2d(p, true, &mut rng).unwrap(),
        x.stochastic_depth(p, StochasticDepthMode::Row, true, &mut rng)
            .unwrap(),
    ];
    // Groups drawn: 32768 elements, 2048 channels, 64 samples: 4 standard errors of the keep rate.
    for (y, groups) in outputs.iter().zip([32768.0f32, 2048.0, 64.0]) {
        let (kept, mean) = keep_rate_and_mean(y);
        let tol = 4.0 * (p * (1.0 - p) / groups).sqrt();
        assert!((kept - 0.7).abs() < tol, "kept {kept}");
        assert!((mean - 1.0).abs() < tol / 0.7, "mean {mean}");
        assert!(y
            .to_vec()
            .iter()
            .all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6));
    }
    // Whole channels / whole samples are dropped together.
    let channels = outputs[1].to_vec();
    assert!(channels.chunks(16).all(|c| c.iter().all(|&v| v == c[0])));
    let samples = outputs[2].to_vec();
    assert!(samples
        .chunks(32 * 16)
        .all(|c| c.iter().all(|&v| v == c[0])));
    let batch = x
        .stochastic_depth(0.5, StochasticDepthMode::Batch, true, &mut rng)
        .unwrap()
        .to_vec();
    assert!(batch.iter().all(|&v| v == batch[0]));
    // Identity in eval, and reproducible from the seed.
    for y in [
        x.dropout(p, false, &mut rng).unwrap(),
        x.dropout2d(p, false, &mut rng).unwrap(),
        x.stochastic_depth(p, StochasticDepthMode::Row, false, &mut rng)
            .unwrap(),
    ] {
        assert_eq!(y.to_vec(), x.to_vec());
    }
    let a = x.dropout2d(p, true, &mut seeded_rng(5)).unwrap().to_vec();
    assert_eq!(
        a,
        x.dropout2d(p, true, &mut seeded_rng(5)).unwrap().to_vec()
    );
    assert!(x.dropout2d(1.5, true, &mut rng).is_err());
    assert!(Tensor::ones([4]).dropout2d(0.5, true, &mut rng).is_err());
}
