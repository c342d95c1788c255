//! The course notes' worked examples, as tests.
use convkit_models::{receptive_field, Window};
use convkit_nn::layers::{Conv2d, Conv2dConfig};
use convkit_nn::{Mode, Module};
use convkit_tensor::kernels::conv_geometry::Conv2dGeometry;
use convkit_tensor::ops::pool::{max_pool2d, Pool2dConfig};
use convkit_tensor::{linear, seeded_rng, Tensor};

#[test]
fn max_pooling_4x4_example() {
    let x = Tensor::from_vec(
        vec![
            1., 1., 2., 4., 5., 6., 7., 8., 3., 2., 1., 0., 1., 2., 3., 4.,
        ],
        [1, 1, 4, 4],
    )
    .unwrap();
    let y = max_pool2d(&x, &Pool2dConfig::square(2)).unwrap();
    assert_eq!(y.dims(), &[1, 1, 2, 2]);
    assert_eq!(y.to_vec(), vec![6., 8., 3., 4.]);
}

#[test]
fn ten_5x5_filters_on_3x32x32() {
    let config = Conv2dConfig {
        padding: (2, 2),
        ..Default::default()
    };
    let conv = Conv2d::new(3, 10, (5, 5), config, &mut seeded_rng(0)).unwrap();
    let y = conv
        .forward(&Tensor::zeros([1, 3, 32, 32]), Mode::Eval)
        .unwrap();
    assert_eq!(y.dims(), &[1, 10, 32, 32]);
    assert_eq!(conv.num_parameters(), 760); // (5·5·3 + 1)·10
    let g = Conv2dGeometry {
        n: 1,
        c_in: 3,
        c_out: 10,
        size: [32, 32],
        kernel: [5, 5],
        stride: [1, 1],
        padding: [2, 2],
        dilation: [1, 1],
        groups: 1,
    };
    assert_eq!(g.macs(), 768_000); // 10·32·32 outputs × 5·5·3 multiply-adds
}

#[test]
fn strided_3x3_conv_on_32x128x11x11() {
    let config = Conv2dConfig {
        padding: (1, 1),
        stride: (2, 2),
        ..Default::default()
    };
    let conv = Conv2d::new(128, 128, (3, 3), config, &mut seeded_rng(0)).unwrap();
    let y = conv
        .forward(&Tensor::zeros([32, 128, 11, 11]), Mode::Eval)
        .unwrap();
    assert_eq!(y.dims(), &[32, 128, 6, 6]); // floor((11 + 2 − 3) / 2) + 1 = 6
}

#[test]
fn receptive_field_of_conv_stacks() {
    for k in [3, 5, 7] {
        for l in 1..=5 {
            let stack = vec![
                Window {
                    kernel: k,
                    stride: 1,
                    dilation: 1
                };
                l
            ];
            assert_eq!(receptive_field(&stack), 1 + l * (k - 1));
        }
    }
}

/// The classic 2-2-2 sigmoid network, one step of backprop on E = ½Σ(target − out)², lr 0.5.
/// Expected values are worked out here by the chain rule, written as scalar arithmetic, and also
/// checked against the well-known published figures.
#[test]
fn two_layer_sigmoid_network_one_backprop_step() {
    let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
    let (x1, x2, t1, t2, lr) = (0.05, 0.10, 0.01, 0.99, 0.5);
    let (w1, w2, w3, w4, b1) = (0.15, 0.20, 0.25, 0.30, 0.35);
    let (w5, w6, w7, w8, b2) = (0.40, 0.45, 0.50, 0.55, 0.60);
    // By hand.
    let (h1, h2) = (sig(w1 * x1 + w2 * x2 + b1), sig(w3 * x1 + w4 * x2 + b1));
    let (o1, o2) = (sig(w5 * h1 + w6 * h2 + b2), sig(w7 * h1 + w8 * h2 + b2));
    let error = 0.5 * ((t1 - o1) * (t1 - o1) + (t2 - o2) * (t2 - o2));
    let (d1, d2) = ((o1 - t1) * o1 * (1.0 - o1), (o2 - t2) * o2 * (1.0 - o2));
    let (e1, e2) = (
        (d1 * w5 + d2 * w7) * h1 * (1.0 - h1),
        (d1 * w6 + d2 * w8) * h2 * (1.0 - h2),
    );
    let expected_hidden = [
        w1 - lr * e1 * x1,
        w2 - lr * e1 * x2,
        w3 - lr * e2 * x1,
        w4 - lr * e2 * x2,
    ];
    let expected_output = [
        w5 - lr * d1 * h1,
        w6 - lr * d1 * h2,
        w7 - lr * d2 * h1,
        w8 - lr * d2 * h2,
    ];

    // With convkit: the biases stay fixed, as in the worked example.
    let tensor = |v: &[f64], dims: &[usize]| {
        Tensor::from_vec(v.iter().map(|&x| x as f32).collect(), dims).unwrap()
    };
    let hidden_w = tensor(&[w1, w2, w3, w4], &[2, 2]).with_grad();
    let output_w = tensor(&[w5, w6, w7, w8], &[2, 2]).with_grad();
    let (hidden_b, output_b) = (tensor(&[b1, b1], &[2]), tensor(&[b2, b2], &[2]));
    let hidden = linear(&tensor(&[x1, x2], &[1, 2]), &hidden_w, Some(&hidden_b))
        .unwrap()
        .sigmoid();
    let out = linear(&hidden, &output_w, Some(&output_b))
        .unwrap()
        .sigmoid();
    // mean over the two outputs of (out − target)² is exactly ½Σ(target − out)².
    let loss = out.mse_loss(&tensor(&[t1, t2], &[1, 2])).unwrap();
    assert!((loss.item() as f64 - error).abs() < 1e-7);
    assert!((error - 0.298371109).abs() < 1e-9);
    loss.backward().unwrap();
    for (w, expected) in [(&hidden_w, expected_hidden), (&output_w, expected_output)] {
        let grad = w.grad().unwrap().to_vec();
        let updated: Vec<f64> = w
            .to_vec()
            .iter()
            .zip(&grad)
            .map(|(&p, &g)| p as f64 - lr * g as f64)
            .collect();
        for (u, e) in updated.iter().zip(expected) {
            assert!((u - e).abs() < 1e-7, "updated {u} vs by hand {e}");
        }
    }
    let published_output = [0.35891648, 0.408666186, 0.511301270, 0.561370121];
    let published_hidden = [0.149780716, 0.19956143, 0.24975114, 0.29950229];
    for (mine, published) in expected_output
        .iter()
        .chain(&expected_hidden)
        .zip(published_output.iter().chain(&published_hidden))
    {
        assert!((mine - published).abs() < 1e-8, "{mine} vs {published}");
    }
}
