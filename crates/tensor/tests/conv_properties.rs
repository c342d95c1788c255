//! Properties of convolution that hold whatever the weights: translation equivariance, 1×1 conv as
//! a per-pixel linear layer, and two stacked linear convs as one conv with the composed kernel.
use convkit_tensor::ops::conv::{
    conv2d, conv_nd, conv_transpose_nd, Conv2dConfig, ConvConfig, ConvTransposeConfig, Rank,
    Spatial,
};
use convkit_tensor::{linear, seeded_rng, Tensor};
use convkit_testkit::assert_close;

fn randn(dims: &[usize], seed: u64) -> Tensor {
    Tensor::randn(dims, &mut seeded_rng(seed))
}

/// `x [N, C, H, W]` moved down by `a` rows and right by `b` columns, zero-filled.
fn shift(x: &Tensor, a: usize, b: usize) -> Tensor {
    let &[n, c, h, w] = x.dims() else { panic!() };
    let src = x.to_vec();
    let mut out = vec![0.0; src.len()];
    for p in 0..n * c {
        for i in a..h {
            for j in b..w {
                out[(p * h + i) * w + j] = src[(p * h + i - a) * w + j - b];
            }
        }
    }
    Tensor::from_vec(out, x.dims()).unwrap()
}

/// The values of `y [N, C, H, W]` at rows `r` and columns `s` only.
fn window(y: &Tensor, r: std::ops::Range<usize>, s: std::ops::Range<usize>) -> Vec<f32> {
    let &[n, c, h, w] = y.dims() else { panic!() };
    let v = y.to_vec();
    let mut out = Vec::new();
    for p in 0..n * c {
        for i in r.clone() {
            out.extend_from_slice(&v[(p * h + i) * w + s.start..(p * h + i) * w + s.end]);
        }
    }
    out
}

#[test]
fn same_conv_commutes_with_translation_away_from_the_border() {
    // (channels in, weight, dilation, groups): dense (im2col + GEMM) and depthwise (direct kernel)
    let cases = [
        (3, [4, 3, 3, 3], (1, 1), 1),
        (3, [3, 1, 5, 3], (1, 1), 3),
        (2, [4, 1, 3, 3], (2, 1), 2),
    ];
    for (i, (c, wd, dilation, groups)) in cases.into_iter().enumerate() {
        // 'same' padding: half the dilated kernel on each side.
        let reach = (dilation.0 * (wd[2] - 1) / 2, dilation.1 * (wd[3] - 1) / 2);
        let config = Conv2dConfig {
            padding: reach,
            dilation,
            groups,
            ..Default::default()
        };
        let (h, w, a, b) = (13, 11, 2, 3);
        let x = randn(&[2, c, h, w], i as u64);
        let k = randn(&wd, 10 + i as u64);
        let bias = randn(&[wd[0]], 20 + i as u64);
        let conv = |t: &Tensor| conv2d(t, &k, Some(&bias), &config).unwrap();
        let y_of_shifted = conv(&shift(&x, a, b));
        assert_eq!(y_of_shifted.dims(), &[2, wd[0], h, w]);
        let shifted_y = shift(&conv(&x), a, b);
        // Rows a.. see no fill; rows ..h − reach see no bottom border.
        let (rows, cols) = (a..h - reach.0, b..w - reach.1);
        assert_close(
            &format!("case {i}"),
            &window(&y_of_shifted, rows.clone(), cols.clone()),
            &window(&shifted_y, rows, cols),
            1e-5,
            1e-5,
        )
        .unwrap();
    }
}

#[test]
fn one_by_one_conv_is_a_per_pixel_linear_layer() {
    let (n, c_in, c_out, h, w) = (2, 5, 3, 4, 7);
    let x = randn(&[n, c_in, h, w], 1);
    let k = randn(&[c_out, c_in, 1, 1], 2);
    let bias = randn(&[c_out], 3);
    let y = conv2d(&x, &k, Some(&bias), &Conv2dConfig::default()).unwrap();
    // Pixels as rows: [N·H·W, C_in].
    let xv = x.to_vec();
    let hw = h * w;
    let pixels: Vec<f32> = (0..n * hw)
        .flat_map(|p| (0..c_in).map(move |c| (p / hw, c, p % hw)))
        .map(|(i, c, s)| xv[(i * c_in + c) * hw + s])
        .collect();
    let pixels = Tensor::from_vec(pixels, [n * hw, c_in]).unwrap();
    let per_pixel = linear(&pixels, &k.reshape(&[c_out, c_in]).unwrap(), Some(&bias))
        .unwrap()
        .to_vec();
    let yv = y.to_vec();
    let y_rows: Vec<f32> = (0..n * hw)
        .flat_map(|p| (0..c_out).map(move |c| (p / hw, c, p % hw)))
        .map(|(i, c, s)| yv[(i * c_out + c) * hw + s])
        .collect();
    assert_close("1x1 conv vs linear", &y_rows, &per_pixel, 1e-5, 1e-5).unwrap();
}

#[test]
fn two_stacked_convs_equal_one_conv_with_the_composed_kernel() {
    let (c, m, o, k1, k2) = (2, 3, 4, (3, 2), (2, 3));
    let x = randn(&[2, c, 9, 8], 1);
    let (w1, b1) = (randn(&[m, c, k1.0, k1.1], 2), randn(&[m], 3));
    let (w2, b2) = (randn(&[o, m, k2.0, k2.1], 4), randn(&[o], 5));
    let cfg = Conv2dConfig::default();
    let stacked = conv2d(
        &conv2d(&x, &w1, Some(&b1), &cfg).unwrap(),
        &w2,
        Some(&b2),
        &cfg,
    )
    .unwrap();
    // K[o, c, p, q] = Σ_m Σ_{a+b = (p, q)} w2[o, m, b]·w1[m, c, a]; bias b2 + Σ w2·b1.
    let (kh, kw) = (k1.0 + k2.0 - 1, k1.1 + k2.1 - 1);
    let (v1, v2, vb1) = (w1.to_vec(), w2.to_vec(), b1.to_vec());
    let mut kernel = vec![0.0f32; o * c * kh * kw];
    let mut bias = b2.to_vec();
    for oi in 0..o {
        for mi in 0..m {
            for (by, bx) in (0..k2.0).flat_map(|y| (0..k2.1).map(move |x| (y, x))) {
                let w2v = v2[((oi * m + mi) * k2.0 + by) * k2.1 + bx];
                bias[oi] += w2v * vb1[mi];
                for ci in 0..c {
                    for (ay, ax) in (0..k1.0).flat_map(|y| (0..k1.1).map(move |x| (y, x))) {
                        let w1v = v1[((mi * c + ci) * k1.0 + ay) * k1.1 + ax];
                        kernel[((oi * c + ci) * kh + ay + by) * kw + ax + bx] += w2v * w1v;
                    }
                }
            }
        }
    }
    let kernel = Tensor::from_vec(kernel, [o, c, kh, kw]).unwrap();
    let bias = Tensor::from_vec(bias, [o]).unwrap();
    let one = conv2d(&x, &kernel, Some(&bias), &cfg).unwrap();
    assert_eq!(one.dims(), stacked.dims());
    assert_close("composed", &one.to_vec(), &stacked.to_vec(), 1e-4, 1e-4).unwrap();
}

#[test]
fn course_output_size_example() {
    // 32×128×11×11 with 128 3×3 filters, pad 1, stride 2 → 32×128×6×6.
    let x = Tensor::zeros([32, 128, 11, 11]);
    let w = Tensor::zeros([128, 128, 3, 3]);
    let config = Conv2dConfig {
        stride: (2, 2),
        padding: (1, 1),
        ..Default::default()
    };
    assert_eq!(
        conv2d(&x, &w, None, &config).unwrap().dims(),
        &[32, 128, 6, 6]
    );
}

/// `⟨a, b⟩` in f64.
fn dot(a: &Tensor, b: &Tensor) -> f64 {
    a.to_vec()
        .iter()
        .zip(b.to_vec())
        .map(|(x, y)| *x as f64 * y as f64)
        .sum()
}

/// `⟨conv_transpose(dy, w), x⟩ = ⟨dy, conv(x, w)⟩`: the transposed convolution is the adjoint of
/// the convolution with the same weight and settings (`output_padding` picks x's size back).
fn check_adjoint<const D: usize>(
    x_dims: &[usize],
    w_dims: &[usize],
    conv: ConvConfig<D>,
    output_padding: [usize; D],
    seed: u64,
) where
    Rank<D>: Spatial<D>,
{
    let (x, w) = (randn(x_dims, seed), randn(w_dims, seed + 1));
    let y = conv_nd(&x, &w, None, &conv).unwrap();
    let dy = randn(y.dims(), seed + 2);
    let transposed = ConvTransposeConfig {
        stride: conv.stride,
        padding: conv.padding,
        output_padding: <Rank<D> as Spatial<D>>::from_array(output_padding),
        dilation: conv.dilation,
        groups: conv.groups,
    };
    let back = conv_transpose_nd(&dy, &w, None, &transposed).unwrap();
    assert_eq!(back.dims(), x.dims(), "{conv:?}");
    let (lhs, rhs) = (dot(&back, &x), dot(&dy, &y));
    assert!(
        (lhs - rhs).abs() <= 1e-4 * (1.0 + lhs.abs()),
        "{conv:?}: {lhs} vs {rhs}"
    );
}

#[test]
fn transposed_convolutions_are_adjoints_at_every_rank() {
    // Weight [C_out, C_in/groups, k...] of the convolution x [N, C_in, ...] → y [N, C_out, ...].
    let c1 = ConvConfig::<1> {
        stride: 2,
        padding: 1,
        dilation: 2,
        groups: 2,
    };
    check_adjoint(&[2, 4, 11], &[6, 2, 3], c1, [0], 1);
    check_adjoint(
        &[1, 3, 10],
        &[2, 3, 3],
        ConvConfig {
            stride: 3,
            ..ConvConfig { groups: 1, ..c1 }
        },
        [1],
        2,
    );
    let c2 = ConvConfig::<2> {
        stride: (2, 1),
        padding: (1, 2),
        dilation: (1, 2),
        groups: 1,
    };
    check_adjoint(&[2, 3, 8, 7], &[4, 3, 3, 2], c2, [1, 0], 3);
    let depthwise = ConvConfig::<2> { groups: 3, ..c2 };
    check_adjoint(&[1, 3, 7, 7], &[6, 1, 3, 3], depthwise, [0, 0], 4);
    let c3 = ConvConfig::<3> {
        stride: (1, 2, 2),
        padding: (1, 0, 1),
        dilation: (2, 1, 1),
        groups: 1,
    };
    check_adjoint(&[1, 2, 5, 6, 5], &[3, 2, 2, 3, 3], c3, [0, 1, 0], 5);
}
