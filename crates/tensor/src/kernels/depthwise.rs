//! Direct depthwise 2-D convolution: `groups == c_in`, `c_out = m·c_in` (channel multiplier `m`),
//! weight `[c_out, 1, kh, kw]`. Output channel `co` reads input channel `co / m` only.
//!
//! A depthwise conv has `kh·kw` multiply-adds per output, far too few for im2col + GEMM to pay off
//! (one tiny GEMM per channel). Here every kernel tap is one pass over an output row: for each
//! `(oy, ky, kx)` the valid output columns are computed once, so the inner loop is a bounds-check-free
//! `y[ox] += w·x[ox·s + off]` (contiguous, vectorised, when the stride is 1).
//!
//! Parallel over planes: forward over `(n, co)`, input gradient over `(n, ci)` (each summing its `m`
//! output channels), weight gradient over `co` (each summing the batch). No locks, no scratch.
//!
//! Every kernel **overwrites** its output buffer(s).

use super::axis::Axis;
use super::conv_geometry::Conv2dGeometry;
use rayon::prelude::*;

/// Whether the geometry is a depthwise convolution with more than one channel (the case these
/// kernels take over from im2col + GEMM).
pub fn is_depthwise(g: &Conv2dGeometry) -> bool {
    g.groups > 1 && g.groups == g.c_in && g.c_out.is_multiple_of(g.c_in)
}

fn axes(g: &Conv2dGeometry) -> (Axis, Axis) {
    let [ay, ax] = g.axes();
    (ay, ax)
}

/// Calls `f(oy, iy, ox0, ox1, ix0, tap)` for every kernel tap and output row that reads inside the
/// image: outputs `oy, ox0..ox1` read input row `iy`, columns `ix0 + (ox − ox0)·stride_w`.
fn for_each_tap(
    (ay, ax): (Axis, Axis),
    kh: usize,
    kw: usize,
    mut f: impl FnMut(usize, usize, usize, usize, usize, usize),
) {
    for ky in 0..kh {
        let (oy0, oy1, iy0) = ay.valid(ky);
        for kx in 0..kw {
            let (ox0, ox1, ix0) = ax.valid(kx);
            if ox0 == ox1 {
                continue;
            }
            for oy in oy0..oy1 {
                f(
                    oy,
                    iy0 + (oy - oy0) * ay.stride,
                    ox0,
                    ox1,
                    ix0,
                    ky * kw + kx,
                );
            }
        }
    }
}

/// Forward: shapes as [`super::conv::conv_forward`], with `groups == c_in`.
///
/// # Panics
/// If the geometry is not depthwise or a buffer length does not match it.
pub fn depthwise_forward(
    g: &Conv2dGeometry,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    check_lengths(g, input.len(), weight.len(), out.len());
    let (ay, ax) = axes(g);
    let (hw, ohw, kk, m) = (
        g.size[0] * g.size[1],
        ay.out * ax.out,
        g.kernel[0] * g.kernel[1],
        g.c_out / g.c_in,
    );
    if ohw == 0 {
        return;
    }
    let plane = Plane {
        axes: (ay, ax),
        kh: g.kernel[0],
        kw: g.kernel[1],
    };
    out.par_chunks_mut(ohw).enumerate().for_each(|(p, y)| {
        let (n, co) = (p / g.c_out, p % g.c_out);
        y.fill(bias.map_or(0.0, |b| b[co]));
        forward_plane(
            plane,
            &input[(n * g.c_in + co / m) * hw..][..hw],
            &weight[co * kk..][..kk],
            y,
        );
    });
}

/// The spatial geometry of one depthwise plane.
#[derive(Clone, Copy)]
struct Plane {
    axes: (Axis, Axis),
    kh: usize,
    kw: usize,
}

/// `y [oh, ow] += x [h, w] ⋆ k [kh, kw]` for one channel.
fn forward_plane(p: Plane, x: &[f32], k: &[f32], y: &mut [f32]) {
    let (w_in, ow, sw) = (p.axes.1.len, p.axes.1.out, p.axes.1.stride);
    for_each_tap(p.axes, p.kh, p.kw, |oy, iy, ox0, ox1, ix0, tap| {
        let wv = k[tap];
        let yr = &mut y[oy * ow + ox0..oy * ow + ox1];
        let xr = &x[iy * w_in + ix0..];
        if sw == 1 {
            yr.iter_mut().zip(xr).for_each(|(y, x)| *y += wv * x);
        } else {
            yr.iter_mut()
                .zip(xr.iter().step_by(sw))
                .for_each(|(y, x)| *y += wv * x);
        }
    });
}

/// `dx [h, w] += dy [oh, ow]` scattered through `k [kh, kw]` for one (input, output) channel pair.
fn backward_input_plane(p: Plane, dy: &[f32], k: &[f32], dx: &mut [f32]) {
    let (w_in, ow, sw) = (p.axes.1.len, p.axes.1.out, p.axes.1.stride);
    for_each_tap(p.axes, p.kh, p.kw, |oy, iy, ox0, ox1, ix0, tap| {
        let wv = k[tap];
        let dyr = &dy[oy * ow + ox0..oy * ow + ox1];
        let dxr = &mut dx[iy * w_in + ix0..];
        if sw == 1 {
            dxr.iter_mut().zip(dyr).for_each(|(x, y)| *x += wv * y);
        } else {
            dxr.iter_mut()
                .step_by(sw)
                .zip(dyr)
                .for_each(|(x, y)| *x += wv * y);
        }
    });
}

/// `dw [kh, kw] += Σ dy [oh, ow] · x [h, w]` (the correlation at each tap) for one channel.
fn backward_weight_plane(p: Plane, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    let (w_in, ow, sw) = (p.axes.1.len, p.axes.1.out, p.axes.1.stride);
    for_each_tap(p.axes, p.kh, p.kw, |oy, iy, ox0, ox1, ix0, tap| {
        let dyr = &dy[oy * ow + ox0..oy * ow + ox1];
        let xr = &x[iy * w_in + ix0..];
        dw[tap] += if sw == 1 {
            dot(dyr, &xr[..dyr.len()])
        } else {
            dyr.iter()
                .zip(xr.iter().step_by(sw))
                .map(|(a, b)| a * b)
                .sum()
        };
    });
}

/// Input gradient: shapes as [`super::conv::conv_backward_input`], with `groups == c_in`.
///
/// # Panics
/// As [`depthwise_forward`].
pub fn depthwise_backward_input(
    g: &Conv2dGeometry,
    grad_out: &[f32],
    weight: &[f32],
    grad_input: &mut [f32],
) {
    check_lengths(g, grad_input.len(), weight.len(), grad_out.len());
    let (ay, ax) = axes(g);
    let (hw, ohw, kk, m) = (
        g.size[0] * g.size[1],
        ay.out * ax.out,
        g.kernel[0] * g.kernel[1],
        g.c_out / g.c_in,
    );
    if hw == 0 {
        return;
    }
    let plane = Plane {
        axes: (ay, ax),
        kh: g.kernel[0],
        kw: g.kernel[1],
    };
    grad_input
        .par_chunks_mut(hw)
        .enumerate()
        .for_each(|(p, dx)| {
            let (n, ci) = (p / g.c_in, p % g.c_in);
            dx.fill(0.0);
            for co in ci * m..(ci + 1) * m {
                let dy = &grad_out[(n * g.c_out + co) * ohw..][..ohw];
                backward_input_plane(plane, dy, &weight[co * kk..][..kk], dx);
            }
        });
}

/// Weight (and bias) gradient summed over the batch: shapes as
/// [`super::conv::conv_backward_weight`], with `groups == c_in`.
///
/// # Panics
/// As [`depthwise_forward`].
pub fn depthwise_backward_weight(
    g: &Conv2dGeometry,
    input: &[f32],
    grad_out: &[f32],
    grad_weight: &mut [f32],
    grad_bias: Option<&mut [f32]>,
) {
    check_lengths(g, input.len(), grad_weight.len(), grad_out.len());
    let (ay, ax) = axes(g);
    let (hw, ohw, kk, m) = (
        g.size[0] * g.size[1],
        ay.out * ax.out,
        g.kernel[0] * g.kernel[1],
        g.c_out / g.c_in,
    );
    let dy_plane = |n: usize, co: usize| &grad_out[(n * g.c_out + co) * ohw..][..ohw];
    if let Some(db) = grad_bias {
        assert_eq!(
            db.len(),
            g.c_out,
            "depthwise_backward_weight: grad_bias length"
        );
        db.par_iter_mut().enumerate().for_each(|(co, b)| {
            *b = (0..g.n).map(|n| sum(dy_plane(n, co))).sum();
        });
    }
    if kk == 0 {
        return;
    }
    let plane = Plane {
        axes: (ay, ax),
        kh: g.kernel[0],
        kw: g.kernel[1],
    };
    grad_weight
        .par_chunks_mut(kk)
        .enumerate()
        .for_each(|(co, dw)| {
            dw.fill(0.0);
            for n in 0..g.n {
                let x = &input[(n * g.c_in + co / m) * hw..][..hw];
                backward_weight_plane(plane, x, dy_plane(n, co), dw);
            }
        });
}

fn check_lengths(g: &Conv2dGeometry, input: usize, weight: usize, out: usize) {
    assert!(
        is_depthwise(g),
        "depthwise kernel on a non-depthwise geometry {g:?}"
    );
    assert_eq!(input, g.input_len(), "depthwise: input length");
    assert_eq!(weight, g.weight_len(), "depthwise: weight length");
    assert_eq!(out, g.output_len(), "depthwise: output length");
}

/// Sum in 8 independent lanes (so the compiler may vectorise it).
fn sum(a: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = a.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        lanes.iter_mut().zip(c).for_each(|(l, x)| *l += x);
    }
    lanes.iter().sum::<f32>() + tail
}

/// Dot product in 8 independent lanes.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}
