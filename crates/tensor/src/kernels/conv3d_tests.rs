//! The vol2col + GEMM 3-D convolution against a direct-loop reference (f64) over edge geometries.

use super::conv3d::*;
use super::test_util::{assert_close, random_vec};

/// Calls `f(x_index, w_index, y_index)` for every multiply-add of the convolution.
fn for_each_mac(g: &Conv3dGeometry, mut f: impl FnMut(usize, usize, usize)) {
    let o = g.out_size();
    let (cg_in, cg_out) = (g.c_in / g.groups, g.c_out / g.groups);
    let src = |i: usize, o: usize, k: usize| -> Option<usize> {
        let v = (o * g.stride[i] + k * g.dilation[i]) as isize - g.padding[i] as isize;
        (v >= 0 && (v as usize) < g.size[i]).then_some(v as usize)
    };
    for n in 0..g.n {
        for co in 0..g.c_out {
            for oz in 0..o[0] {
                for oy in 0..o[1] {
                    for ox in 0..o[2] {
                        let y = (((n * g.c_out + co) * o[0] + oz) * o[1] + oy) * o[2] + ox;
                        for c in 0..cg_in {
                            let ci = co / cg_out * cg_in + c;
                            for kz in 0..g.kernel[0] {
                                for ky in 0..g.kernel[1] {
                                    for kx in 0..g.kernel[2] {
                                        let (Some(iz), Some(iy), Some(ix)) =
                                            (src(0, oz, kz), src(1, oy, ky), src(2, ox, kx))
                                        else {
                                            continue;
                                        };
                                        let [d, h, w] = g.size;
                                        let x = (((n * g.c_in + ci) * d + iz) * h + iy) * w + ix;
                                        let [kd, kh, kw] = g.kernel;
                                        let wi = (((co * cg_in + c) * kd + kz) * kh + ky) * kw + kx;
                                        f(x, wi, y);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn check(g: &Conv3dGeometry) {
    let seed = (g.n * 11 + g.c_in * 5 + g.size[0] * 3 + g.kernel[2]) as u64;
    let x = random_vec(g.input_len(), seed);
    let w = random_vec(g.weight_len(), seed + 1);
    let b = random_vec(g.c_out, seed + 2);
    let dy = random_vec(g.output_len(), seed + 3);
    let what = format!("{g:?}");
    let (mut ry, mut rx, mut rw) = (
        vec![0.0f64; g.output_len()],
        vec![0.0f64; g.input_len()],
        vec![0.0f64; g.weight_len()],
    );
    for_each_mac(g, |xi, wi, yi| {
        ry[yi] += x[xi] as f64 * w[wi] as f64;
        rx[xi] += dy[yi] as f64 * w[wi] as f64;
        rw[wi] += dy[yi] as f64 * x[xi] as f64;
    });
    let plane = g.output_len() / (g.n * g.c_out).max(1);
    let ry: Vec<f32> = (ry.iter().enumerate())
        .map(|(i, v)| (v + b[(i / plane.max(1)) % g.c_out] as f64) as f32)
        .collect();
    let rb: Vec<f32> = (0..g.c_out)
        .map(|co| {
            (0..g.n)
                .map(|n| {
                    dy[(n * g.c_out + co) * plane..][..plane]
                        .iter()
                        .sum::<f32>()
                })
                .sum()
        })
        .collect();
    let to32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<_>>();

    let mut y = vec![f32::NAN; g.output_len()];
    conv3d_forward(g, &x, &w, Some(&b), &mut y);
    assert_close(&y, &ry, 1e-4, 1e-4, &format!("forward {what}"));
    let mut dx = vec![f32::NAN; g.input_len()];
    conv3d_backward_input(g, &dy, &w, &mut dx);
    assert_close(&dx, &to32(rx), 1e-4, 1e-4, &format!("grad_input {what}"));
    let (mut dw, mut db) = (vec![f32::NAN; g.weight_len()], vec![f32::NAN; g.c_out]);
    conv3d_backward_weight(g, &x, &dy, &mut dw, Some(&mut db));
    assert_close(&dw, &to32(rw), 1e-4, 1e-4, &format!("grad_weight {what}"));
    assert_close(&db, &rb, 1e-4, 1e-4, &format!("grad_bias {what}"));
}

fn geom(
    n: usize,
    (c_in, c_out, groups): (usize, usize, usize),
    size: [usize; 3],
    kernel: [usize; 3],
    stride: [usize; 3],
    padding: [usize; 3],
    dilation: [usize; 3],
) -> Conv3dGeometry {
    Conv3dGeometry {
        n,
        c_in,
        size,
        c_out,
        kernel,
        stride,
        padding,
        dilation,
        groups,
    }
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

#[test]
fn conv3d_depth_bands() {
    // Force one or a few output-depth slices per band to test the band seams.
    let old = super::conv2d::tile_floats();
    for floats in [1, 400, 2000] {
        super::conv2d::set_tile_floats(floats);
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
    super::conv2d::set_tile_floats(old);
}
