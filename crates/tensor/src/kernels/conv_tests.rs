//! The convolution driver (1-D, 2-D and 3-D) against the direct-loop references over edge
//! geometries.

use super::conv::*;
use super::conv_geometry::ConvGeometry;
use super::reference::*;
use super::test_util::{assert_close, random_vec};

/// A geometry from `(c_in, c_out, groups)` and per-axis size, kernel, stride, padding, dilation.
fn geom<const D: usize>(
    n: usize,
    (c_in, c_out, groups): (usize, usize, usize),
    size: [usize; D],
    kernel: [usize; D],
    stride: [usize; D],
    padding: [usize; D],
    dilation: [usize; D],
) -> ConvGeometry<D> {
    ConvGeometry {
        n,
        c_in,
        c_out,
        size,
        kernel,
        stride,
        padding,
        dilation,
        groups,
    }
}

/// Runs all three kernels (with and without bias) and compares them with the references.
fn check<const D: usize>(g: &ConvGeometry<D>) {
    let seed = (g.n * 31 + g.c_in * 17 + g.size[0] * 7 + g.kernel[0] * 3 + g.groups) as u64;
    let x = random_vec(g.input_len(), seed);
    let w = random_vec(g.weight_len(), seed + 1);
    let b = random_vec(g.c_out, seed + 2);
    let dy = random_vec(g.output_len(), seed + 3);
    let what = format!("{g:?}");
    let kernel: usize = g.kernel.iter().product();
    let tol = 1e-5 * (g.col_rows().max(1) as f32).sqrt() * 4.0;

    for bias in [None, Some(&b[..])] {
        let (mut y, mut r) = (vec![f32::NAN; g.output_len()], vec![0.0; g.output_len()]);
        conv_forward(g, &x, &w, bias, &mut y);
        conv_reference_forward(g, &x, &w, bias, &mut r);
        assert_close(&y, &r, tol, 1e-4, &format!("forward {what}"));
        assert_eq!(conv_forward_new(g, &x, &w, bias), y, "forward_new {what}");
    }

    let (mut dx, mut rx) = (vec![f32::NAN; g.input_len()], vec![0.0; g.input_len()]);
    conv_backward_input(g, &dy, &w, &mut dx);
    conv_reference_backward_input(g, &dy, &w, &mut rx);
    let tol_x = 1e-5 * ((g.cg_out() * kernel).max(1) as f32).sqrt() * 4.0;
    assert_close(&dx, &rx, tol_x, 1e-4, &format!("grad_input {what}"));

    let sum_terms = (g.n * g.out_size().iter().product::<usize>()).max(1) as f32;
    let tol_w = 1e-5 * sum_terms.sqrt() * 4.0;
    let (mut dw, mut rw) = (vec![f32::NAN; g.weight_len()], vec![0.0; g.weight_len()]);
    let (mut db, mut rb) = (vec![f32::NAN; g.c_out], vec![0.0; g.c_out]);
    conv_backward_weight(g, &x, &dy, &mut dw, Some(&mut db));
    conv_reference_backward_weight(g, &x, &dy, &mut rw, Some(&mut rb));
    assert_close(&dw, &rw, tol_w, 1e-4, &format!("grad_weight {what}"));
    assert_close(&db, &rb, tol_w, 1e-4, &format!("grad_bias {what}"));
    let mut dw2 = vec![f32::NAN; g.weight_len()];
    conv_backward_weight(g, &x, &dy, &mut dw2, None);
    assert_close(
        &dw2,
        &rw,
        tol_w,
        1e-4,
        &format!("grad_weight (no bias) {what}"),
    );
}

/// A dense 2-D geometry (groups 1, dilation 1 unless given through `geom`).
fn conv2(n: usize, (c_in, c_out): (usize, usize), size: [usize; 2], k: usize) -> ConvGeometry<2> {
    geom(
        n,
        (c_in, c_out, 1),
        size,
        [k, k],
        [1, 1],
        [k / 2, k / 2],
        [1, 1],
    )
}

#[test]
fn conv2d_basic_and_batch() {
    for n in [1, 2, 3, 5] {
        check(&conv2(n, (3, 4), [6, 5], 3));
    }
}

#[test]
fn conv2d_strides_paddings_dilations() {
    for s in [[1, 1], [2, 2], [3, 3], [2, 1], [1, 3]] {
        for p in [[0, 0], [1, 1], [2, 2], [0, 2]] {
            for d in [[1, 1], [2, 2], [1, 2]] {
                let g = geom(2, (3, 2, 1), [9, 7], [3, 3], s, p, d);
                if g.output_len() > 0 {
                    check(&g);
                }
            }
        }
    }
}

#[test]
fn conv2d_rectangular_and_odd() {
    check(&geom(2, (2, 3, 1), [7, 11], [2, 5], [1, 2], [1, 2], [1, 1]));
    check(&geom(1, (5, 7, 1), [13, 3], [5, 1], [3, 1], [0, 1], [2, 1]));
    check(&geom(3, (1, 1, 1), [1, 1], [1, 1], [1, 1], [0, 0], [1, 1]));
    check(&geom(2, (1, 1, 1), [1, 9], [1, 3], [1, 2], [0, 0], [1, 1]));
    // Channel counts that are not a multiple of the vector width.
    check(&geom(2, (9, 13, 1), [5, 6], [3, 3], [1, 1], [1, 1], [1, 1]));
}

#[test]
fn conv2d_kernel_equals_padded_input_and_padding_beyond_the_kernel() {
    check(&geom(2, (3, 4, 1), [5, 5], [5, 5], [1, 1], [0, 0], [1, 1]));
    check(&geom(2, (3, 4, 1), [3, 4], [5, 6], [1, 1], [1, 1], [1, 1]));
    check(&geom(1, (2, 2, 1), [3, 3], [3, 3], [2, 2], [1, 1], [2, 2])); // dilated span 5 = 3 + 2
    check(&geom(2, (2, 3, 1), [4, 3], [2, 2], [1, 2], [3, 4], [1, 1])); // padding > kernel
    check(&geom(1, (2, 3, 1), [1, 1], [1, 1], [1, 1], [2, 1], [1, 1])); // 1×1 over padding only
}

#[test]
fn conv2d_empty_batch_and_channels() {
    check(&geom(0, (3, 4, 1), [5, 5], [3, 3], [1, 1], [1, 1], [1, 1]));
    check(&geom(2, (3, 4, 1), [2, 2], [5, 5], [1, 1], [0, 0], [1, 1])); // no output pixel
}

#[test]
fn conv2d_groups_and_depthwise() {
    check(&geom(2, (4, 6, 2), [6, 6], [3, 3], [1, 1], [1, 1], [1, 1]));
    check(&geom(3, (6, 6, 3), [7, 5], [3, 3], [2, 2], [1, 1], [1, 1]));
    check(&geom(2, (5, 5, 5), [8, 8], [3, 3], [1, 1], [1, 1], [1, 1])); // depthwise
    check(&geom(2, (4, 8, 4), [7, 7], [3, 3], [2, 2], [1, 1], [2, 2])); // depthwise, multiplier 2
    check(&geom(2, (4, 6, 2), [5, 5], [1, 1], [1, 1], [0, 0], [1, 1])); // grouped pointwise
}

#[test]
fn conv2d_pointwise_and_strided_1x1() {
    check(&geom(3, (7, 5, 1), [6, 9], [1, 1], [1, 1], [0, 0], [1, 1]));
    check(&geom(2, (4, 3, 1), [7, 7], [1, 1], [2, 2], [0, 0], [1, 1]));
    check(&geom(2, (4, 3, 1), [5, 5], [1, 1], [1, 1], [1, 1], [1, 1]));
}

#[test]
fn conv2d_lenet_shapes() {
    check(&conv2(4, (1, 20), [28, 28], 5));
    check(&conv2(4, (20, 50), [14, 14], 5));
}

/// ResNet-sized 3×3 layers that the driver sends to Winograd's F(2×2, 3×3): forward and input
/// gradient from 32 channels, the weight gradient too from 64 with enough tiles for two threads.
#[test]
fn conv2d_winograd_layers() {
    use super::direct_conv::{uses_winograd, uses_winograd_weight_gradient};
    let two_threads = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a thread pool");
    two_threads.install(|| {
        for (n, c, size) in [(2, 32, [8, 9]), (6, 64, [16, 15])] {
            let g = conv2(n, (c, c), size, 3);
            assert!(uses_winograd(&g), "{g:?}");
            assert_eq!(uses_winograd_weight_gradient(&g), c >= 64, "{g:?}");
            check(&g);
        }
    });
}

#[test]
fn conv2d_bands_smaller_than_image() {
    // Force several output-row bands per image (and one row per band) to test the band seams.
    let old = tile_floats();
    for floats in [1, 200, 1000] {
        set_tile_floats(floats);
        check(&conv2(2, (3, 4), [9, 8], 3));
        check(&geom(1, (2, 3, 1), [11, 6], [3, 2], [2, 1], [2, 1], [2, 1]));
        check(&geom(
            2,
            (2, 3, 1),
            [7, 5, 4],
            [3; 3],
            [1; 3],
            [1; 3],
            [1; 3],
        ));
        check(&geom(
            1,
            (2, 2, 1),
            [9, 4, 5],
            [3, 2, 2],
            [2, 1, 1],
            [2, 0, 1],
            [2, 1, 1],
        ));
    }
    set_tile_floats(old);
}

#[test]
fn conv2d_single_thread_pool() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        check(&conv2(3, (3, 4), [6, 5], 3));
        check(&geom(
            3,
            (2, 3, 1),
            [4, 3, 5],
            [2; 3],
            [1; 3],
            [1; 3],
            [1; 3],
        ));
    });
}

#[test]
fn conv1d_matches_reference() {
    check(&geom(2, (3, 4, 1), [9], [3], [1], [1], [1]));
    check(&geom(1, (4, 6, 2), [21], [5], [2], [2], [2]));
    check(&geom(3, (2, 2, 2), [7], [3], [1], [1], [1])); // depthwise
    check(&geom(2, (5, 3, 1), [6], [1], [1], [0], [1])); // pointwise
    check(&geom(1, (1, 1, 1), [1], [1], [3], [2], [1])); // padding beyond the kernel
}

#[test]
fn conv3d_matches_reference() {
    check(&geom(
        2,
        (2, 3, 1),
        [5, 5, 5],
        [3; 3],
        [1; 3],
        [1; 3],
        [1; 3],
    ));
    check(&geom(
        1,
        (3, 2, 1),
        [6, 7, 5],
        [2, 3, 1],
        [2, 1, 3],
        [0, 1, 1],
        [1; 3],
    ));
    check(&geom(
        2,
        (2, 2, 1),
        [7, 6, 8],
        [3; 3],
        [1, 2, 1],
        [2, 0, 1],
        [2, 1, 3],
    ));
    check(&geom(
        1,
        (1, 1, 1),
        [1, 1, 1],
        [1; 3],
        [1; 3],
        [0; 3],
        [1; 3],
    ));
    check(&geom(
        1,
        (2, 1, 1),
        [3, 3, 3],
        [3; 3],
        [1; 3],
        [0; 3],
        [1; 3],
    )); // kernel = input
    check(&geom(
        3,
        (3, 5, 1),
        [4, 3, 2],
        [1; 3],
        [1; 3],
        [0; 3],
        [1; 3],
    )); // pointwise
    check(&geom(
        2,
        (2, 3, 1),
        [1, 5, 4],
        [1, 3, 3],
        [2, 1, 1],
        [0, 1, 1],
        [1; 3],
    )); // one slice
    check(&geom(
        2,
        (2, 3, 1),
        [1, 5, 4],
        [1, 3, 3],
        [1; 3],
        [1, 1, 1],
        [1; 3],
    )); // padded depth
}

#[test]
fn conv3d_groups() {
    check(&geom(
        2,
        (4, 6, 2),
        [4, 5, 3],
        [3, 2, 2],
        [1; 3],
        [1; 3],
        [1; 3],
    ));
    check(&geom(
        1,
        (3, 3, 3),
        [5, 4, 4],
        [3; 3],
        [2; 3],
        [1; 3],
        [1; 3],
    ));
}
