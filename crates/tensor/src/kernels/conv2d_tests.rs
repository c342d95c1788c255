//! The fast convolution kernels against the direct-loop references over edge geometries.

use super::conv2d::*;
use super::reference::*;
use super::test_util::{assert_close, random_vec};

#[allow(clippy::too_many_arguments)]
fn geom(
    n: usize,
    c_in: usize,
    c_out: usize,
    (h, w): (usize, usize),
    (kh, kw): (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    groups: usize,
) -> Conv2dGeometry {
    Conv2dGeometry {
        n,
        c_in,
        h,
        w,
        c_out,
        kh,
        kw,
        stride,
        padding,
        dilation,
        groups,
    }
}

/// Runs all three kernels (with and without bias) and compares them with the references.
fn check(g: &Conv2dGeometry) {
    let seed = (g.n * 31 + g.c_in * 17 + g.h * 7 + g.kh * 3 + g.groups) as u64;
    let x = random_vec(g.input_len(), seed);
    let w = random_vec(g.weight_len(), seed + 1);
    let b = random_vec(g.c_out, seed + 2);
    let dy = random_vec(g.output_len(), seed + 3);
    let what = format!("{g:?}");
    let terms = (g.c_in / g.groups * g.kh * g.kw).max(1) as f32;
    let tol = 1e-5 * terms.sqrt() * 4.0;

    for bias in [None, Some(&b[..])] {
        let (mut y, mut r) = (vec![f32::NAN; g.output_len()], vec![0.0; g.output_len()]);
        conv2d_forward(g, &x, &w, bias, &mut y);
        conv2d_reference_forward(g, &x, &w, bias, &mut r);
        assert_close(&y, &r, tol, 1e-4, &format!("forward {what}"));
        assert_eq!(conv2d_forward_new(g, &x, &w, bias), y, "forward_new {what}");
    }

    let (mut dx, mut rx) = (vec![f32::NAN; g.input_len()], vec![0.0; g.input_len()]);
    conv2d_backward_input(g, &dy, &w, &mut dx);
    conv2d_reference_backward_input(g, &dy, &w, &mut rx);
    let tol_x = 1e-5 * ((g.c_out / g.groups * g.kh * g.kw).max(1) as f32).sqrt() * 4.0;
    assert_close(&dx, &rx, tol_x, 1e-4, &format!("grad_input {what}"));

    let sum_terms = (g.n * g.out_h() * g.out_w()).max(1) as f32;
    let tol_w = 1e-5 * sum_terms.sqrt() * 4.0;
    let (mut dw, mut rw) = (vec![f32::NAN; g.weight_len()], vec![0.0; g.weight_len()]);
    let (mut db, mut rb) = (vec![f32::NAN; g.c_out], vec![0.0; g.c_out]);
    conv2d_backward_weight(g, &x, &dy, &mut dw, Some(&mut db));
    conv2d_reference_backward_weight(g, &x, &dy, &mut rw, Some(&mut rb));
    assert_close(&dw, &rw, tol_w, 1e-4, &format!("grad_weight {what}"));
    assert_close(&db, &rb, tol_w, 1e-4, &format!("grad_bias {what}"));
    let mut dw2 = vec![f32::NAN; g.weight_len()];
    conv2d_backward_weight(g, &x, &dy, &mut dw2, None);
    assert_close(
        &dw2,
        &rw,
        tol_w,
        1e-4,
        &format!("grad_weight (no bias) {what}"),
    );
}

#[test]
fn output_size_formula() {
    let g = geom(1, 1, 1, (28, 28), (5, 5), (1, 1), (2, 2), (1, 1), 1);
    assert_eq!((g.out_h(), g.out_w()), (28, 28));
    let g = geom(1, 1, 1, (7, 8), (3, 2), (2, 3), (1, 0), (2, 1), 1);
    // (7 + 2 - 4 - 1)/2 + 1 = 3 ; (8 - 1 - 1)/3 + 1 = 3
    assert_eq!((g.out_h(), g.out_w()), (3, 3));
    let g = geom(1, 1, 1, (2, 2), (5, 5), (1, 1), (0, 0), (1, 1), 1);
    assert_eq!(g.output_len(), 0);
}

#[test]
fn conv2d_basic_and_batch() {
    for n in [1, 2, 3, 5] {
        check(&geom(n, 3, 4, (6, 5), (3, 3), (1, 1), (1, 1), (1, 1), 1));
    }
}

#[test]
fn conv2d_strides_paddings_dilations() {
    for s in [(1, 1), (2, 2), (3, 3), (2, 1), (1, 3)] {
        for p in [(0, 0), (1, 1), (2, 2), (0, 2)] {
            for d in [(1, 1), (2, 2), (1, 2)] {
                let g = geom(2, 3, 2, (9, 7), (3, 3), s, p, d, 1);
                if g.out_h() > 0 && g.out_w() > 0 {
                    check(&g);
                }
            }
        }
    }
}

#[test]
fn conv2d_rectangular_and_odd() {
    check(&geom(2, 2, 3, (7, 11), (2, 5), (1, 2), (1, 2), (1, 1), 1));
    check(&geom(1, 5, 7, (13, 3), (5, 1), (3, 1), (0, 1), (2, 1), 1));
    check(&geom(3, 1, 1, (1, 1), (1, 1), (1, 1), (0, 0), (1, 1), 1));
    check(&geom(2, 1, 1, (1, 9), (1, 3), (1, 2), (0, 0), (1, 1), 1));
}

#[test]
fn conv2d_kernel_equals_padded_input() {
    check(&geom(2, 3, 4, (5, 5), (5, 5), (1, 1), (0, 0), (1, 1), 1));
    check(&geom(2, 3, 4, (3, 4), (5, 6), (1, 1), (1, 1), (1, 1), 1));
    check(&geom(1, 2, 2, (3, 3), (3, 3), (2, 2), (1, 1), (2, 2), 1)); // dilated span 5 = 3 + 2
}

#[test]
fn conv2d_groups_and_depthwise() {
    check(&geom(2, 4, 6, (6, 6), (3, 3), (1, 1), (1, 1), (1, 1), 2));
    check(&geom(3, 6, 6, (7, 5), (3, 3), (2, 2), (1, 1), (1, 1), 3));
    check(&geom(2, 5, 5, (8, 8), (3, 3), (1, 1), (1, 1), (1, 1), 5)); // depthwise
    check(&geom(2, 4, 8, (7, 7), (3, 3), (2, 2), (1, 1), (2, 2), 4)); // depthwise, multiplier 2
    check(&geom(2, 4, 6, (5, 5), (1, 1), (1, 1), (0, 0), (1, 1), 2)); // grouped pointwise
}

#[test]
fn conv2d_pointwise_and_strided_1x1() {
    check(&geom(3, 7, 5, (6, 9), (1, 1), (1, 1), (0, 0), (1, 1), 1));
    check(&geom(2, 4, 3, (7, 7), (1, 1), (2, 2), (0, 0), (1, 1), 1));
    check(&geom(2, 4, 3, (5, 5), (1, 1), (1, 1), (1, 1), (1, 1), 1));
}

#[test]
fn conv2d_lenet_shapes() {
    check(&geom(4, 1, 20, (28, 28), (5, 5), (1, 1), (2, 2), (1, 1), 1));
    check(&geom(
        4,
        20,
        50,
        (14, 14),
        (5, 5),
        (1, 1),
        (2, 2),
        (1, 1),
        1,
    ));
}

#[test]
fn conv2d_bands_smaller_than_image() {
    // Force several output-row bands per image (and one row per band) to test the band seams.
    let old = tile_floats();
    for floats in [1, 200, 1000] {
        set_tile_floats(floats);
        check(&geom(2, 3, 4, (9, 8), (3, 3), (1, 1), (1, 1), (1, 1), 1));
        check(&geom(1, 2, 3, (11, 6), (3, 2), (2, 1), (2, 1), (2, 1), 1));
    }
    set_tile_floats(old);
}

#[test]
fn conv2d_single_thread_pool() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| check(&geom(3, 3, 4, (6, 5), (3, 3), (1, 1), (1, 1), (1, 1), 1)));
}
