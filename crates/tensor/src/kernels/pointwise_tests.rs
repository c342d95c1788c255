//! The 1×1 stride-1 unpadded path of `conv2d` (GEMM straight on the input, no im2col) against the
//! direct-loop references: batch 1, odd sizes, groups, one thread and many.

use super::conv::*;
use super::conv_geometry::Conv2dGeometry;
use super::reference::*;
use super::test_util::{assert_close, random_vec};

fn check(n: usize, c_in: usize, c_out: usize, (h, w): (usize, usize), groups: usize) {
    let g = Conv2dGeometry {
        n,
        c_in,
        c_out,
        size: [h, w],
        kernel: [1, 1],
        stride: [1, 1],
        padding: [0, 0],
        dilation: [1, 1],
        groups,
    };
    let seed = (n * 7 + c_in * 5 + c_out * 3 + h + groups) as u64;
    let (x, wt, b) = (
        random_vec(g.input_len(), seed),
        random_vec(g.weight_len(), seed + 1),
        random_vec(c_out, seed + 2),
    );
    let dy = random_vec(g.output_len(), seed + 3);
    let what = format!("{g:?}");
    let (mut y, mut ry) = (vec![f32::NAN; g.output_len()], vec![0.0; g.output_len()]);
    conv_forward(&g, &x, &wt, Some(&b), &mut y);
    conv_reference_forward(&g, &x, &wt, Some(&b), &mut ry);
    assert_close(&y, &ry, 1e-5, 1e-4, &format!("forward {what}"));
    let (mut dx, mut rx) = (vec![f32::NAN; g.input_len()], vec![0.0; g.input_len()]);
    conv_backward_input(&g, &dy, &wt, &mut dx);
    conv_reference_backward_input(&g, &dy, &wt, &mut rx);
    assert_close(&dx, &rx, 1e-5, 1e-4, &format!("grad_input {what}"));
    let (mut dw, mut rw) = (vec![f32::NAN; g.weight_len()], vec![0.0; g.weight_len()]);
    let (mut db, mut rb) = (vec![f32::NAN; c_out], vec![0.0; c_out]);
    conv_backward_weight(&g, &x, &dy, &mut dw, Some(&mut db));
    conv_reference_backward_weight(&g, &x, &dy, &mut rw, Some(&mut rb));
    let tol = 1e-5 * ((n * h * w) as f32).sqrt() * 4.0;
    assert_close(&dw, &rw, tol, 1e-4, &format!("grad_weight {what}"));
    assert_close(&db, &rb, tol, 1e-4, &format!("grad_bias {what}"));
}

#[test]
fn pointwise_edge_shapes() {
    check(1, 5, 3, (7, 9), 1); // batch 1, odd sizes
    check(1, 1, 1, (1, 1), 1);
    check(3, 6, 9, (3, 5), 3); // groups
    check(5, 8, 4, (2, 3), 1); // more images than threads: batch-parallel
    check(2, 33, 17, (11, 13), 1);
}

#[test]
fn pointwise_single_thread_pool() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| check(3, 4, 6, (5, 7), 2));
}
