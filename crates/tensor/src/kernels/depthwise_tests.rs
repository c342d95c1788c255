//! The direct depthwise kernels against the direct-loop references over edge geometries.

use super::conv_geometry::Conv2dGeometry;
use super::depthwise::*;
use super::reference::*;
use super::test_util::{assert_close, random_vec};

#[allow(clippy::too_many_arguments)]
/// Depthwise geometry: `c` input channels, multiplier `m`.
fn geom(
    n: usize,
    c: usize,
    m: usize,
    (h, w): (usize, usize),
    (kh, kw): (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
) -> Conv2dGeometry {
    Conv2dGeometry {
        n,
        c_in: c,
        c_out: c * m,
        size: [h, w],
        kernel: [kh, kw],
        stride: [stride.0, stride.1],
        padding: [padding.0, padding.1],
        dilation: [dilation.0, dilation.1],
        groups: c,
    }
}

fn check(g: &Conv2dGeometry) {
    assert!(is_depthwise(g));
    let seed = (g.n * 13 + g.c_out * 7 + g.size[0] * 5 + g.kernel[1]) as u64;
    let x = random_vec(g.input_len(), seed);
    let w = random_vec(g.weight_len(), seed + 1);
    let b = random_vec(g.c_out, seed + 2);
    let dy = random_vec(g.output_len(), seed + 3);
    let what = format!("{g:?}");
    for bias in [None, Some(&b[..])] {
        let (mut y, mut r) = (vec![f32::NAN; g.output_len()], vec![0.0; g.output_len()]);
        depthwise_forward(g, &x, &w, bias, &mut y);
        conv_reference_forward(g, &x, &w, bias, &mut r);
        assert_close(&y, &r, 1e-5, 1e-4, &format!("forward {what}"));
    }
    let (mut dx, mut rx) = (vec![f32::NAN; g.input_len()], vec![0.0; g.input_len()]);
    depthwise_backward_input(g, &dy, &w, &mut dx);
    conv_reference_backward_input(g, &dy, &w, &mut rx);
    assert_close(&dx, &rx, 1e-5, 1e-4, &format!("grad_input {what}"));

    let tol_w = 1e-5 * ((g.n * g.out_size()[0] * g.out_size()[1]).max(1) as f32).sqrt() * 4.0;
    let (mut dw, mut rw) = (vec![f32::NAN; g.weight_len()], vec![0.0; g.weight_len()]);
    let (mut db, mut rb) = (vec![f32::NAN; g.c_out], vec![0.0; g.c_out]);
    depthwise_backward_weight(g, &x, &dy, &mut dw, Some(&mut db));
    conv_reference_backward_weight(g, &x, &dy, &mut rw, Some(&mut rb));
    assert_close(&dw, &rw, tol_w, 1e-4, &format!("grad_weight {what}"));
    assert_close(&db, &rb, tol_w, 1e-4, &format!("grad_bias {what}"));
}

#[test]
fn depthwise_3x3_same_padding() {
    for n in [1, 2, 3] {
        check(&geom(n, 4, 1, (8, 8), (3, 3), (1, 1), (1, 1), (1, 1)));
    }
    check(&geom(2, 3, 1, (17, 23), (3, 3), (1, 1), (1, 1), (1, 1))); // rows longer than 8 lanes
}

#[test]
fn depthwise_channel_multiplier() {
    check(&geom(1, 3, 2, (7, 9), (3, 3), (1, 1), (1, 1), (1, 1)));
    check(&geom(2, 2, 3, (5, 5), (3, 3), (2, 2), (0, 0), (1, 1)));
    check(&geom(1, 5, 4, (6, 7), (5, 3), (1, 2), (2, 1), (1, 1)));
}

#[test]
fn depthwise_strides_paddings_dilations() {
    for s in [(1, 1), (2, 2), (3, 1), (1, 3)] {
        for p in [(0, 0), (1, 1), (2, 0), (3, 3)] {
            for d in [(1, 1), (2, 2), (1, 3)] {
                let g = geom(2, 3, 1, (9, 8), (3, 3), s, p, d);
                if g.output_len() > 0 {
                    check(&g);
                }
            }
        }
    }
}

#[test]
fn depthwise_odd_and_degenerate_shapes() {
    check(&geom(1, 2, 1, (1, 1), (1, 1), (1, 1), (0, 0), (1, 1))); // 1×1 image, 1×1 kernel
    check(&geom(1, 2, 1, (1, 1), (3, 3), (1, 1), (1, 1), (1, 1))); // kernel mostly in padding
    check(&geom(3, 7, 1, (13, 5), (5, 5), (2, 1), (2, 2), (1, 1)));
    check(&geom(2, 2, 1, (4, 4), (4, 4), (1, 1), (0, 0), (1, 1))); // kernel = image
    check(&geom(1, 3, 1, (5, 6), (7, 7), (2, 2), (3, 3), (1, 1))); // padding > half the image
}

#[test]
fn depthwise_single_thread_pool() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| check(&geom(2, 3, 2, (6, 5), (3, 3), (1, 1), (1, 1), (1, 1))));
}
