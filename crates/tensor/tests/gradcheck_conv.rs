//! Finite-difference gradient checks (random upstream gradient, odd sizes, batch 1, stride/padding
//! edge cases) for every convolution, and the error messages of invalid configurations.
use convkit_tensor::gradcheck::{check_gradients, GradCheckConfig};
use convkit_tensor::ops::conv::{
    conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, Conv1dConfig,
    Conv2dConfig, Conv3dConfig, ConvTranspose1dConfig, ConvTranspose2dConfig,
    ConvTranspose3dConfig,
};
use convkit_tensor::{seeded_rng, Result, Tensor};

fn input(dims: &[usize], seed: u64) -> Tensor {
    Tensor::randn(dims, &mut seeded_rng(seed)).with_grad()
}

/// Checks `f(x, w, bias)` and `f(x, w, None)` for the given shapes.
fn check(
    x: &[usize],
    w: &[usize],
    c_out: usize,
    seed: u64,
    f: impl Fn(&Tensor, &Tensor, Option<&Tensor>) -> Result<Tensor>,
) {
    let config = GradCheckConfig {
        rtol: 2e-2,
        atol: 5e-3,
        seed,
        ..Default::default()
    };
    let inputs = [
        input(x, seed),
        input(w, seed + 1),
        input(&[c_out], seed + 2),
    ];
    for with_bias in [true, false] {
        let n = if with_bias { 3 } else { 2 };
        let worst = check_gradients(
            |t| f(&t[0], &t[1], with_bias.then(|| &t[2])),
            &inputs[..n],
            &config,
        )
        .expect("op failed")
        .unwrap_or_else(|e| panic!("x {x:?} w {w:?} bias {with_bias}: {e}"));
        assert!(worst.is_finite());
    }
}

#[test]
fn conv1d_configurations() {
    // (input, weight, stride, padding, dilation, groups)
    let cases = [
        ([2, 3, 16], [4, 3, 3], 1, 1, 1, 1),
        ([1, 2, 21], [3, 2, 5], 2, 2, 2, 1),
        ([2, 4, 9], [6, 2, 3], 3, 0, 1, 2),
        ([1, 3, 7], [6, 1, 3], 1, 1, 1, 3), // depthwise, multiplier 2
        ([3, 5, 5], [2, 5, 1], 1, 0, 1, 1), // pointwise
        ([1, 1, 4], [1, 1, 6], 1, 1, 1, 1), // kernel = padded input
    ];
    for (i, (x, w, stride, padding, dilation, groups)) in cases.into_iter().enumerate() {
        let config = Conv1dConfig {
            stride,
            padding,
            dilation,
            groups,
        };
        check(&x, &w, w[0], 100 + i as u64 * 10, |x, w, b| {
            conv1d(x, w, b, &config)
        });
    }
}

#[test]
fn conv2d_depthwise_and_pointwise_paths() {
    // (input, weight, stride, padding, dilation, groups)
    let cases = [
        ([2, 4, 7, 6], [8, 1, 3, 3], (1, 1), (1, 1), (1, 1), 4), // multiplier 2
        ([1, 3, 9, 8], [3, 1, 3, 5], (2, 1), (1, 2), (1, 1), 3), // rectangular
        ([1, 2, 9, 9], [6, 1, 3, 3], (2, 3), (2, 2), (2, 1), 2), // dilated, multiplier 3
        ([1, 3, 5, 5], [3, 1, 5, 5], (1, 1), (0, 0), (1, 1), 3), // kernel = image
        ([2, 6, 5, 7], [4, 6, 1, 1], (1, 1), (0, 0), (1, 1), 1), // 1×1, no im2col
        ([1, 4, 5, 3], [6, 2, 1, 1], (1, 1), (0, 0), (1, 1), 2), // grouped 1×1
    ];
    for (i, (x, w, stride, padding, dilation, groups)) in cases.into_iter().enumerate() {
        let config = Conv2dConfig {
            stride,
            padding,
            dilation,
            groups,
        };
        check(&x, &w, w[0], 200 + i as u64 * 10, |x, w, b| {
            conv2d(x, w, b, &config)
        });
    }
}

#[test]
fn conv3d_configurations() {
    // (input, weight, stride, padding, dilation, groups)
    let cases = [
        (
            [1, 2, 5, 5, 5],
            [3, 2, 3, 3, 3],
            (1, 1, 1),
            (1, 1, 1),
            (1, 1, 1),
            1,
        ),
        (
            [2, 2, 6, 5, 4],
            [2, 2, 2, 2, 2],
            (2, 2, 2),
            (0, 0, 0),
            (1, 1, 1),
            1,
        ),
        (
            [1, 3, 5, 7, 6],
            [2, 3, 3, 1, 2],
            (1, 2, 1),
            (1, 0, 2),
            (2, 1, 1),
            1,
        ),
        (
            [1, 4, 4, 4, 3],
            [2, 2, 3, 3, 3],
            (1, 1, 1),
            (1, 1, 1),
            (1, 1, 1),
            2,
        ),
    ];
    for (i, (x, w, stride, padding, dilation, groups)) in cases.into_iter().enumerate() {
        let config = Conv3dConfig {
            stride,
            padding,
            dilation,
            groups,
        };
        check(&x, &w, w[0], 300 + i as u64 * 10, |x, w, b| {
            conv3d(x, w, b, &config)
        });
    }
}

#[test]
fn conv_transpose2d_configurations() {
    // (input, weight [C_in, C_out/groups, kh, kw], stride, padding, output_padding, dilation, groups)
    let cases = [
        (
            [2, 4, 5, 5],
            [4, 3, 2, 2],
            (2, 2),
            (0, 0),
            (0, 0),
            (1, 1),
            1,
        ),
        (
            [1, 3, 4, 5],
            [3, 2, 3, 3],
            (2, 2),
            (1, 1),
            (1, 1),
            (1, 1),
            1,
        ),
        (
            [1, 2, 5, 4],
            [2, 3, 3, 2],
            (3, 1),
            (1, 0),
            (2, 0),
            (1, 2),
            1,
        ), // rectangular
        (
            [2, 4, 3, 3],
            [4, 2, 3, 3],
            (2, 2),
            (1, 1),
            (0, 1),
            (1, 1),
            2,
        ), // groups
        (
            [1, 3, 4, 4],
            [3, 2, 3, 3],
            (1, 1),
            (1, 1),
            (0, 0),
            (1, 1),
            3,
        ), // depthwise, ×2
        (
            [1, 2, 3, 4],
            [2, 2, 3, 3],
            (1, 1),
            (0, 1),
            (2, 1),
            (3, 2),
            1,
        ), // output_padding ≥ stride
    ];
    for (i, (x, w, stride, padding, output_padding, dilation, groups)) in
        cases.into_iter().enumerate()
    {
        let config = ConvTranspose2dConfig {
            stride,
            padding,
            output_padding,
            dilation,
            groups,
        };
        check(&x, &w, w[1] * groups, 400 + i as u64 * 10, |x, w, b| {
            conv_transpose2d(x, w, b, &config)
        });
    }
}

#[test]
fn conv_transpose1d_and_3d_configurations() {
    // (input, weight [C_in, C_out/groups, k], stride, padding, output_padding, dilation, groups)
    let cases = [
        ([2, 3, 5], [3, 2, 3], 2, 1, 1, 1, 1),
        ([1, 4, 4], [4, 1, 2], 1, 0, 0, 2, 2),
        ([1, 2, 3], [2, 3, 3], 2, 0, 2, 3, 1), // output_padding ≥ stride: extended input
        ([1, 3, 6], [3, 2, 3], 1, 1, 0, 1, 3), // depthwise, ×2
    ];
    for (i, (x, w, stride, padding, output_padding, dilation, groups)) in
        cases.into_iter().enumerate()
    {
        let config = ConvTranspose1dConfig {
            stride,
            padding,
            output_padding,
            dilation,
            groups,
        };
        check(&x, &w, w[1] * groups, 500 + i as u64 * 10, |x, w, b| {
            conv_transpose1d(x, w, b, &config)
        });
    }
    let config = ConvTranspose3dConfig {
        stride: (2, 1, 2),
        padding: (1, 0, 0),
        output_padding: (1, 0, 1),
        dilation: (1, 2, 1),
        groups: 2,
    };
    check(&[1, 4, 3, 2, 3], &[4, 1, 2, 2, 3], 2, 600, |x, w, b| {
        conv_transpose3d(x, w, b, &config)
    });
    let y = conv_transpose3d(
        &Tensor::zeros([1, 4, 3, 2, 3]),
        &Tensor::zeros([4, 1, 2, 2, 3]),
        None,
        &config,
    )
    .unwrap();
    // (3 − 1)·2 − 2 + 1 + 1 + 1; (2 − 1) + 2 + 1; (3 − 1)·2 + 2 + 1 + 1
    assert_eq!(y.dims(), &[1, 2, 5, 4, 8]);
}

#[test]
fn conv_transpose2d_output_size() {
    // H_out = (H − 1)·s − 2p + d(k − 1) + op + 1
    let x = Tensor::zeros([1, 2, 3, 4]);
    let w = Tensor::zeros([2, 5, 3, 2]);
    let config = ConvTranspose2dConfig {
        stride: (2, 3),
        padding: (1, 0),
        output_padding: (1, 2),
        dilation: (1, 2),
        groups: 1,
    };
    let y = conv_transpose2d(&x, &w, None, &config).unwrap();
    assert_eq!(y.dims(), &[1, 5, 2 * 2 - 2 + 2 + 1 + 1, 3 * 3 + 2 + 2 + 1]);
}

fn err(r: Result<Tensor>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn invalid_configurations_are_named_errors() {
    let x2 = Tensor::zeros([1, 4, 5, 5]);
    let w2 = Tensor::zeros([6, 2, 3, 3]);
    let c2 = |stride, groups| Conv2dConfig {
        stride,
        groups,
        ..Default::default()
    };
    let e = err(conv2d(&x2, &w2, None, &c2((0, 1), 2)));
    assert!(
        e.contains("conv2d: invalid configuration: stride must be at least 1, got (0, 1)"),
        "{e}"
    );
    let e = err(conv2d(
        &x2,
        &Tensor::zeros([5, 2, 3, 3]),
        None,
        &c2((1, 1), 2),
    ));
    assert!(
        e.contains("5 output channels are not divisible by groups=2"),
        "{e}"
    );
    assert!(e.contains("input [1, 4, 5, 5], weight [5, 2, 3, 3]"), "{e}");
    let e = err(conv2d(&x2, &w2, None, &c2((1, 1), 3)));
    assert!(
        e.contains("input has 4 channels but weight expects 6"),
        "{e}"
    );
    let e = err(conv2d(
        &x2,
        &Tensor::zeros([6, 2, 7, 3]),
        None,
        &c2((1, 1), 2),
    ));
    assert!(
        e.contains("kernel (7, 3) (dilation (1, 1)) is larger than the padded input (5, 5)"),
        "{e}"
    );

    let x1 = Tensor::zeros([2, 3, 4]);
    let e = err(conv1d(
        &x1,
        &Tensor::zeros([4, 3, 5]),
        None,
        &Conv1dConfig::default(),
    ));
    assert!(
        e.starts_with("conv1d: kernel 5 (dilation 1) is larger than the padded input 4"),
        "{e}"
    );
    let e = err(conv1d(
        &x1,
        &Tensor::zeros([4, 3, 3]),
        Some(&Tensor::zeros([3])),
        &Conv1dConfig::default(),
    ));
    assert!(
        e.contains("conv1d: bias has shape [3] but the op has 4 output channels"),
        "{e}"
    );
    let e = err(conv1d(&x2, &w2, None, &Conv1dConfig::default()));
    assert!(e.contains("conv1d: needs input [N, C, L]"), "{e}");

    let x3 = Tensor::zeros([1, 2, 4, 4, 4]);
    let c3 = Conv3dConfig {
        dilation: (1, 0, 1),
        ..Default::default()
    };
    let e = err(conv3d(&x3, &Tensor::zeros([2, 2, 3, 3, 3]), None, &c3));
    assert!(
        e.contains("conv3d: invalid configuration: dilation must be at least 1, got (1, 0, 1)"),
        "{e}"
    );
    let e = err(conv3d(
        &x3,
        &Tensor::zeros([2, 2, 5, 3, 3]),
        None,
        &Conv3dConfig::default(),
    ));
    assert!(e.contains("conv3d: kernel (5, 3, 3)"), "{e}");

    let ct = |output_padding, stride, dilation| ConvTranspose2dConfig {
        stride,
        output_padding,
        dilation,
        ..Default::default()
    };
    let e = err(conv_transpose2d(
        &x2,
        &Tensor::zeros([4, 3, 3, 3]),
        None,
        &ct((2, 0), (2, 2), (2, 1)),
    ));
    assert!(e.contains("conv_transpose2d: invalid configuration: output_padding (2, 0) must be smaller than either stride (2, 2) or dilation (2, 1)"), "{e}");
    let e = err(conv_transpose2d(
        &x2,
        &Tensor::zeros([3, 3, 3, 3]),
        None,
        &ct((0, 0), (1, 1), (1, 1)),
    ));
    assert!(
        e.contains("conv_transpose2d: input has 4 channels but weight expects 3"),
        "{e}"
    );
    let padded = ConvTranspose2dConfig {
        padding: (4, 4),
        ..Default::default()
    };
    let e = err(conv_transpose2d(
        &x2,
        &Tensor::zeros([4, 3, 3, 3]),
        None,
        &padded,
    ));
    assert!(
        e.contains("conv_transpose2d: padding (4, 4) removes more than the whole output"),
        "{e}"
    );
}
