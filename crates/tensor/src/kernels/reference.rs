//! Naive direct-loop reference kernels (`f64` accumulation) that the fast kernels are tested
//! against. Written for obviousness, not speed; every bounds test is explicit.

use super::conv_geometry::ConvGeometry;
use super::pool::Pool2dGeometry;

/// Input coordinate read by output coordinate `o` at kernel offset `k`, if inside `0..len`.
fn src(o: usize, k: usize, stride: usize, pad: usize, dil: usize, len: usize) -> Option<usize> {
    let i = (o * stride + k * dil) as isize - pad as isize;
    (i >= 0 && (i as usize) < len).then_some(i as usize)
}

/// Calls `f(x, w, y)` with the flat input, weight and output indices of every multiply-add of
/// the convolution (any rank: it is lifted to three axes first).
fn for_each_mac<const D: usize>(g: &ConvGeometry<D>, mut f: impl FnMut(usize, usize, usize)) {
    let g = g.lift::<3>();
    let (cg_in, cg_out) = (g.cg_in(), g.cg_out());
    let ([d, h, w], [kd, kh, kw], o) = (g.size, g.kernel, g.out_size());
    let at = |axis: usize, o: usize, k: usize| {
        let len = g.size[axis];
        src(o, k, g.stride[axis], g.padding[axis], g.dilation[axis], len)
    };
    for n in 0..g.n {
        for co in 0..g.c_out {
            for oz in 0..o[0] {
                for oy in 0..o[1] {
                    for ox in 0..o[2] {
                        let y = (((n * g.c_out + co) * o[0] + oz) * o[1] + oy) * o[2] + ox;
                        for c in 0..cg_in {
                            let ci = co / cg_out * cg_in + c;
                            for kz in 0..kd {
                                for ky in 0..kh {
                                    for kx in 0..kw {
                                        let (Some(iz), Some(iy), Some(ix)) =
                                            (at(0, oz, kz), at(1, oy, ky), at(2, ox, kx))
                                        else {
                                            continue;
                                        };
                                        let x = (((n * g.c_in + ci) * d + iz) * h + iy) * w + ix;
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

/// Reference forward: shapes as [`super::conv::conv_forward`].
pub(crate) fn conv_reference_forward<const D: usize>(
    g: &ConvGeometry<D>,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    let mut acc = vec![0.0f64; g.output_len()];
    for_each_mac(g, |x, w, y| acc[y] += input[x] as f64 * weight[w] as f64);
    let plane: usize = g.out_size().iter().product();
    for (i, (o, a)) in out.iter_mut().zip(&acc).enumerate() {
        let b = bias.map_or(0.0, |b| b[(i / plane.max(1)) % g.c_out] as f64);
        *o = (a + b) as f32;
    }
}

/// Reference input gradient: shapes as [`super::conv::conv_backward_input`].
pub(crate) fn conv_reference_backward_input<const D: usize>(
    g: &ConvGeometry<D>,
    grad_out: &[f32],
    weight: &[f32],
    grad_input: &mut [f32],
) {
    let mut acc = vec![0.0f64; g.input_len()];
    for_each_mac(g, |x, w, y| acc[x] += grad_out[y] as f64 * weight[w] as f64);
    for (o, a) in grad_input.iter_mut().zip(&acc) {
        *o = *a as f32;
    }
}

/// Reference weight/bias gradient: shapes as [`super::conv::conv_backward_weight`].
pub(crate) fn conv_reference_backward_weight<const D: usize>(
    g: &ConvGeometry<D>,
    input: &[f32],
    grad_out: &[f32],
    grad_weight: &mut [f32],
    grad_bias: Option<&mut [f32]>,
) {
    let mut acc = vec![0.0f64; g.weight_len()];
    for_each_mac(g, |x, w, y| acc[w] += grad_out[y] as f64 * input[x] as f64);
    for (o, a) in grad_weight.iter_mut().zip(&acc) {
        *o = *a as f32;
    }
    if let Some(db) = grad_bias {
        let plane: usize = g.out_size().iter().product();
        for (co, b) in db.iter_mut().enumerate() {
            let mut s = 0.0f64;
            for n in 0..g.n {
                let start = (n * g.c_out + co) * plane;
                s += grad_out[start..start + plane]
                    .iter()
                    .map(|&v| v as f64)
                    .sum::<f64>();
            }
            *b = s as f32;
        }
    }
}

/// Visits the window of output `(oy, ox)`: `f(iy, ix)` for in-bounds cells, `pad()` once per
/// padded cell.
fn window(
    g: &Pool2dGeometry,
    oy: usize,
    ox: usize,
    mut f: impl FnMut(usize, usize),
    mut pad: impl FnMut(),
) {
    for ky in 0..g.kh {
        for kx in 0..g.kw {
            let iy = src(oy, ky, g.stride.0, g.padding.0, g.dilation.0, g.h);
            let ix = src(ox, kx, g.stride.1, g.padding.1, g.dilation.1, g.w);
            match (iy, ix) {
                (Some(iy), Some(ix)) => f(iy, ix),
                _ => pad(),
            }
        }
    }
}

/// Reference max pool: output and arg-max (flat index in the input plane; first maximum wins;
/// like PyTorch, a NaN always takes over, so the last NaN wins).
pub(crate) fn max_pool2d_reference(
    g: &Pool2dGeometry,
    input: &[f32],
    out: &mut [f32],
    idx: &mut [u32],
) {
    let (oh, ow) = (g.out_h(), g.out_w());
    for p in 0..g.n * g.c {
        let plane = &input[p * g.h * g.w..][..g.h * g.w];
        for oy in 0..oh {
            for ox in 0..ow {
                let (mut best, mut arg) = (f32::NEG_INFINITY, None);
                window(
                    g,
                    oy,
                    ox,
                    |iy, ix| {
                        let v = plane[iy * g.w + ix];
                        if arg.is_none() || v > best || v.is_nan() {
                            best = v;
                            arg = Some(iy * g.w + ix);
                        }
                    },
                    || {},
                );
                out[(p * oh + oy) * ow + ox] = best;
                idx[(p * oh + oy) * ow + ox] = arg.map_or(u32::MAX, |a| a as u32);
            }
        }
    }
}

/// Reference average pool (`count_include_pad` counts padded cells, but never cells past the
/// padding that ceil mode adds — PyTorch's rule).
pub(crate) fn avg_pool2d_reference(
    g: &Pool2dGeometry,
    count_include_pad: bool,
    input: &[f32],
    out: &mut [f32],
) {
    let (oh, ow) = (g.out_h(), g.out_w());
    for p in 0..g.n * g.c {
        let plane = &input[p * g.h * g.w..][..g.h * g.w];
        for oy in 0..oh {
            for ox in 0..ow {
                let (mut s, mut real) = (0.0f64, 0usize);
                window(
                    g,
                    oy,
                    ox,
                    |iy, ix| {
                        s += plane[iy * g.w + ix] as f64;
                        real += 1;
                    },
                    || {},
                );
                let div = if count_include_pad {
                    padded_count(g, oy, ox)
                } else {
                    real
                };
                out[(p * oh + oy) * ow + ox] = (s / div.max(1) as f64) as f32;
            }
        }
    }
}

/// Cells of window `(oy, ox)` inside the padded input `[-p, len + p)`.
fn padded_count(g: &Pool2dGeometry, oy: usize, ox: usize) -> usize {
    let count = |o: usize, k: usize, s: usize, p: usize, len: usize| {
        (0..k).filter(|&kk| o * s + kk < len + 2 * p).count()
    };
    count(oy, g.kh, g.stride.0, g.padding.0, g.h) * count(ox, g.kw, g.stride.1, g.padding.1, g.w)
}

/// Reference average-pool backward: the adjoint of [`avg_pool2d_reference`].
pub(crate) fn avg_pool2d_backward_reference(
    g: &Pool2dGeometry,
    count_include_pad: bool,
    grad_out: &[f32],
    grad_input: &mut [f32],
) {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut acc = vec![0.0f64; grad_input.len()];
    for p in 0..g.n * g.c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut real = 0;
                window(g, oy, ox, |_, _| real += 1, || {});
                let div = if count_include_pad {
                    padded_count(g, oy, ox)
                } else {
                    real
                };
                let gv = grad_out[(p * oh + oy) * ow + ox] as f64 / div.max(1) as f64;
                window(
                    g,
                    oy,
                    ox,
                    |iy, ix| acc[p * g.h * g.w + iy * g.w + ix] += gv,
                    || {},
                );
            }
        }
    }
    for (o, a) in grad_input.iter_mut().zip(&acc) {
        *o = *a as f32;
    }
}
