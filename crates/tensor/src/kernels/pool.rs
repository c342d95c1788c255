//! 2-D pooling over NCHW `f32` slices: max (with arg-max indices), average, global average.
//!
//! Every plane (one channel of one image) is independent; large calls run planes in parallel on
//! the rayon pool. Window bounds are clipped once per output row/column, so the inner loops never
//! test for padding. The windows that lie wholly inside a row (all but the border columns) are
//! computed one tap at a time across the whole output row, which vectorises (max pooling forward
//! in `max_pool_rows.rs`). All kernels **overwrite** their output buffers; backward kernels sum the
//! contributions of overlapping windows.

use super::max_pool_rows::max_pool_bands;
use crate::shape::window_out_len;
use rayon::prelude::*;
use std::ops::Range;

/// Shapes and hyper-parameters of a 2-D pooling (PyTorch's `MaxPool2d` / `AvgPool2d` arguments).
///
/// Buffers: input `[n, c, h, w]`, output and indices `[n, c, out_h, out_w]`. Strides and
/// dilations must be ≥ 1; PyTorch also requires `padding ≤ kernel / 2`, which guarantees every
/// window holds at least one real cell (the op layer checks it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dGeometry {
    /// Batch size.
    pub n: usize,
    /// Channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Window height.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// (vertical, horizontal) stride.
    pub stride: (usize, usize),
    /// (vertical, horizontal) padding on each side (never chosen by max, zeros for average).
    pub padding: (usize, usize),
    /// (vertical, horizontal) dilation (max pooling only; average pooling needs (1, 1)).
    pub dilation: (usize, usize),
    /// Round the output size up instead of down (the last window must still start inside the
    /// input or the left padding).
    pub ceil_mode: bool,
}

/// PyTorch's pooling output size ([`window_out_len`]), 0 when no window fits.
fn pool_out_len(len: usize, k: usize, s: usize, p: usize, d: usize, ceil: bool) -> usize {
    window_out_len(len, k, s, p, d, ceil).unwrap_or(0)
}

impl Pool2dGeometry {
    /// Output height.
    pub fn out_h(&self) -> usize {
        let (k, s, p, d) = (self.kh, self.stride.0, self.padding.0, self.dilation.0);
        pool_out_len(self.h, k, s, p, d, self.ceil_mode)
    }
    /// Output width.
    pub fn out_w(&self) -> usize {
        let (k, s, p, d) = (self.kw, self.stride.1, self.padding.1, self.dilation.1);
        pool_out_len(self.w, k, s, p, d, self.ceil_mode)
    }
    /// Elements of the input, `n·c·h·w`.
    pub fn input_len(&self) -> usize {
        self.n * self.c * self.h * self.w
    }
    /// Elements of the output, `n·c·out_h·out_w`.
    pub fn output_len(&self) -> usize {
        self.n * self.c * self.out_h() * self.out_w()
    }
    fn check(&self) {
        assert!(
            self.stride.0 >= 1 && self.stride.1 >= 1,
            "pool2d: stride must be >= 1"
        );
        assert!(
            self.dilation.0 >= 1 && self.dilation.1 >= 1,
            "pool2d: dilation must be >= 1"
        );
    }
}

/// The window of output coordinate `o` along one axis: first input coordinate `base = o·s − p`
/// (may be negative) and the kernel taps `k_lo..k_hi` that land inside `0..len`.
#[derive(Clone, Copy)]
pub(super) struct Span {
    pub(super) base: isize,
    pub(super) k_lo: usize,
    pub(super) k_hi: usize,
    d: usize,
}

impl Span {
    fn new(o: usize, k: usize, s: usize, p: usize, d: usize, len: usize) -> Span {
        let base = (o * s) as isize - p as isize;
        let di = d as isize;
        let k_lo = if base >= 0 {
            0
        } else {
            ((-base + di - 1) / di) as usize
        };
        let last = len as isize - 1 - base;
        let k_hi = if last < 0 {
            0
        } else {
            (last / di + 1) as usize
        };
        let k_hi = k_hi.min(k).max(k_lo.min(k));
        Span {
            base,
            k_lo: k_lo.min(k),
            k_hi,
            d,
        }
    }
    /// Input coordinates of the in-bounds taps.
    pub(super) fn coords(self) -> impl Iterator<Item = usize> {
        (self.k_lo..self.k_hi).map(move |t| (self.base + (t * self.d) as isize) as usize)
    }
    /// In-bounds range (dilation 1 only): `start..end`.
    fn range(self) -> Range<usize> {
        let start = (self.base + self.k_lo as isize) as usize;
        start..start + (self.k_hi - self.k_lo)
    }
}

/// The windows of every output row and column, computed once per call (their integer divisions
/// are too slow for the inner loops).
pub(super) fn window_spans(g: &Pool2dGeometry) -> (Vec<Span>, Vec<Span>) {
    let rows =
        (0..g.out_h()).map(|o| Span::new(o, g.kh, g.stride.0, g.padding.0, g.dilation.0, g.h));
    let cols =
        (0..g.out_w()).map(|o| Span::new(o, g.kw, g.stride.1, g.padding.1, g.dilation.1, g.w));
    (rows.collect(), cols.collect())
}

/// The output columns whose window lies wholly inside the row (all `k` taps in bounds): a
/// contiguous range, since window starts grow with the column.
pub(super) fn inner_columns(xs: &[Span], k: usize) -> Range<usize> {
    let whole = |s: &Span| s.k_lo == 0 && s.k_hi == k;
    let start = xs.iter().position(whole).unwrap_or(xs.len());
    let end = xs.iter().rposition(whole).map_or(start, |e| e + 1);
    debug_assert!(
        xs[start..end].iter().all(whole),
        "inner columns are contiguous"
    );
    start..end
}

/// The other output columns (clipped by the padding or ceil mode).
pub(super) fn border_columns(inner: &Range<usize>, ow: usize) -> impl Iterator<Item = usize> {
    (0..inner.start).chain(inner.end..ow)
}

/// Flat plane offsets of the taps of the first inner window (row-major) in the output row whose
/// window rows are `sy`; the other inner windows are `sw` further along. None without inner windows.
fn inner_taps(
    g: &Pool2dGeometry,
    xs: &[Span],
    inner: &Range<usize>,
    sy: Span,
) -> impl Iterator<Item = usize> {
    let (w, start) = (g.w, xs.get(inner.start).map_or(0, |s| s.base as usize));
    let kw = if inner.is_empty() { 0 } else { g.kw };
    sy.range()
        .flat_map(move |iy| (0..kw).map(move |t| iy * w + start + t))
}

/// `src[0], src[sw], …`: the `n` cells of one tap across `n` windows `sw` apart.
#[inline(always)]
pub(super) fn every(src: &[f32], n: usize, sw: usize) -> impl Iterator<Item = &f32> {
    src[..n.saturating_sub(1) * sw + n.min(1)]
        .chunks(sw)
        .map(|c| &c[0])
}

/// Above this many touched elements a call runs planes in parallel; also the least work per job.
pub(super) const PAR_THRESHOLD: usize = 1 << 15;

/// The least number of jobs (out of `count` sharing `work`) that one rayon task should take, so
/// that each task touches about a quarter of [`PAR_THRESHOLD`] elements.
pub(super) fn min_jobs_per_task(work: usize, count: usize) -> usize {
    (PAR_THRESHOLD / 4 / (work / count).max(1)).clamp(1, count)
}

/// Runs `f(input_plane, output_plane)` for every plane pair (`out.len() / out_plane` of them), in
/// parallel when `work` (elements touched, roughly) is large.
fn planes<A: Sync, B: Send>(
    input: &[A],
    in_plane: usize,
    out: &mut [B],
    out_plane: usize,
    work: usize,
    f: impl Fn(&[A], &mut [B]) + Sync,
) {
    if out_plane == 0 {
        return;
    }
    if in_plane == 0 {
        out.chunks_mut(out_plane).for_each(|o| f(&input[..0], o));
        return;
    }
    let count = out.len() / out_plane;
    if work > PAR_THRESHOLD && count > 1 && rayon::current_num_threads() > 1 {
        let min = min_jobs_per_task(work, count);
        out.par_chunks_mut(out_plane)
            .zip(input.par_chunks(in_plane))
            .with_min_len(min)
            .for_each(|(o, i)| f(i, o));
    } else {
        out.chunks_mut(out_plane)
            .zip(input.chunks(in_plane))
            .for_each(|(o, i)| f(i, o));
    }
}

/// Max pooling forward with arg-max indices.
///
/// - `input`: `[n, c, h, w]`
/// - `out`: `[n, c, out_h, out_w]`, overwritten with the window maxima (padding is −∞, never chosen)
/// - `indices`: `[n, c, out_h, out_w]`, overwritten with the flat index `iy·w + ix` of each maximum
///   inside its input plane (PyTorch's convention). The first maximum in window order wins; a NaN
///   always takes over (so NaN propagates, as in PyTorch). A window with no real cell (only
///   possible when `padding > kernel/2`) yields −∞ and index `u32::MAX`.
///
/// # Panics
/// If a buffer length does not match the geometry, or a stride/dilation is 0.
pub fn max_pool2d_forward(g: &Pool2dGeometry, input: &[f32], out: &mut [f32], indices: &mut [u32]) {
    check_max_pool_forward(g, input, out);
    assert_eq!(
        indices.len(),
        g.output_len(),
        "max_pool2d_forward: indices length"
    );
    max_pool_bands::<true>(g, input, out, indices);
}

/// Max pooling forward without arg-max indices, for inference (nothing will run backward).
///
/// - `input`: `[n, c, h, w]`
/// - `out`: `[n, c, out_h, out_w]`, overwritten with the same values as [`max_pool2d_forward`]
///
/// # Panics
/// If a buffer length does not match the geometry, or a stride/dilation is 0.
pub fn max_pool2d_forward_values(g: &Pool2dGeometry, input: &[f32], out: &mut [f32]) {
    check_max_pool_forward(g, input, out);
    max_pool_bands::<false>(g, input, out, &mut []);
}

fn check_max_pool_forward(g: &Pool2dGeometry, input: &[f32], out: &[f32]) {
    g.check();
    assert_eq!(
        input.len(),
        g.input_len(),
        "max_pool2d_forward: input length"
    );
    assert_eq!(out.len(), g.output_len(), "max_pool2d_forward: out length");
}

/// Max pooling backward: routes each output gradient to the input cell its index names.
///
/// - `grad_out`: `[n, c, out_h, out_w]`
/// - `indices`: `[n, c, out_h, out_w]` from [`max_pool2d_forward`] (`u32::MAX` entries are skipped)
/// - `grad_input`: `[n, c, h, w]`, overwritten; overlapping windows that chose the same cell add up
///
/// # Panics
/// If a buffer length does not match the geometry.
pub fn max_pool2d_backward(
    g: &Pool2dGeometry,
    grad_out: &[f32],
    indices: &[u32],
    grad_input: &mut [f32],
) {
    g.check();
    assert_eq!(
        grad_out.len(),
        g.output_len(),
        "max_pool2d_backward: grad_out length"
    );
    assert_eq!(
        indices.len(),
        g.output_len(),
        "max_pool2d_backward: indices length"
    );
    assert_eq!(
        grad_input.len(),
        g.input_len(),
        "max_pool2d_backward: grad_input length"
    );
    let (op, hw) = (g.out_h() * g.out_w(), g.h * g.w);
    if op == 0 {
        grad_input.fill(0.0);
        return;
    }
    let work = grad_input.len() + 2 * op * g.n * g.c;
    let pairs: Vec<(&[f32], &[u32])> = grad_out.chunks(op).zip(indices.chunks(op)).collect();
    // Each plane is zeroed by the job that scatters into it, just before, while it is in cache.
    planes(&pairs, 1, grad_input, hw, work, |pair, gi| {
        let (go, idx) = pair[0];
        gi.fill(0.0);
        for (&gv, &i) in go.iter().zip(idx) {
            if let Some(cell) = gi.get_mut(i as usize) {
                *cell += gv;
            }
        }
    });
}

/// Divisor of the average-pool window `(sy, sx)`: PyTorch counts padded cells (but not cells past
/// the padding that ceil mode adds) when `count_include_pad`, else only real cells.
fn avg_divisor(g: &Pool2dGeometry, sy: Span, sx: Span, count_include_pad: bool) -> f32 {
    let n = if count_include_pad {
        let padded = |base: isize, k: usize, len: usize, p: usize| {
            ((base + k as isize).min((len + p) as isize) - base).max(0) as usize
        };
        padded(sy.base, g.kh, g.h, g.padding.0) * padded(sx.base, g.kw, g.w, g.padding.1)
    } else {
        (sy.k_hi - sy.k_lo) * (sx.k_hi - sx.k_lo)
    };
    n.max(1) as f32
}

/// `1 / avg_divisor` of every output cell, row-major `[out_h, out_w]`.
fn avg_inverse_divisors(
    g: &Pool2dGeometry,
    ys: &[Span],
    xs: &[Span],
    count_include_pad: bool,
) -> Vec<f32> {
    ys.iter()
        .flat_map(|&sy| {
            xs.iter()
                .map(move |&sx| 1.0 / avg_divisor(g, sy, sx, count_include_pad))
        })
        .collect()
}

/// Average pooling forward.
///
/// - `input`: `[n, c, h, w]`
/// - `out`: `[n, c, out_h, out_w]`, overwritten with window sums divided by the window's cell count
///   (padded cells included when `count_include_pad`, PyTorch's default)
///
/// # Panics
/// If a buffer length does not match the geometry, a stride is 0 or the dilation is not (1, 1).
pub fn avg_pool2d_forward(
    g: &Pool2dGeometry,
    count_include_pad: bool,
    input: &[f32],
    out: &mut [f32],
) {
    g.check();
    assert_eq!(g.dilation, (1, 1), "avg_pool2d: dilation must be (1, 1)");
    assert_eq!(
        input.len(),
        g.input_len(),
        "avg_pool2d_forward: input length"
    );
    assert_eq!(out.len(), g.output_len(), "avg_pool2d_forward: out length");
    let (oh, ow) = (g.out_h(), g.out_w());
    let work = input.len() + out.len() * g.kh * g.kw;
    let (ys, xs) = window_spans(g);
    let inverse_divisors = avg_inverse_divisors(g, &ys, &xs, count_include_pad);
    let inner = inner_columns(&xs, g.kw);
    let sw = g.stride.1;
    planes(input, g.h * g.w, out, oh * ow, work, |x, y| {
        let rows = ys.iter().zip(y.chunks_exact_mut(ow));
        for ((&sy, y_row), inverse_row) in rows.zip(inverse_divisors.chunks_exact(ow)) {
            // Cells in row-major window order, as PyTorch sums them.
            for ox in border_columns(&inner, ow) {
                let cells = sy.range().flat_map(|iy| &x[iy * g.w..][xs[ox].range()]);
                y_row[ox] = cells.fold(0.0, |s, &v| s + v);
            }
            // The inner windows, one tap across the whole row at a time.
            let sums = &mut y_row[inner.clone()];
            sums.fill(0.0);
            for tap in inner_taps(g, &xs, &inner, sy) {
                match sw {
                    1 => add_every::<1>(sums, &x[tap..], sw),
                    2 => add_every::<2>(sums, &x[tap..], sw),
                    _ => add_every::<0>(sums, &x[tap..], sw),
                }
            }
            y_row.iter_mut().zip(inverse_row).for_each(|(v, i)| *v *= i);
        }
    });
}

/// `sums[j] += src[j·sw]`; `SW` is `sw` as a constant (0: known at run time only), so that the
/// strided loads vectorise.
#[inline(never)]
fn add_every<const SW: usize>(sums: &mut [f32], src: &[f32], sw: usize) {
    let sw = if SW == 0 { sw } else { SW };
    let n = sums.len();
    sums.iter_mut()
        .zip(every(src, n, sw))
        .for_each(|(s, v)| *s += v);
}

/// Average pooling backward (adjoint of [`avg_pool2d_forward`]).
///
/// - `grad_out`: `[n, c, out_h, out_w]`
/// - `grad_input`: `[n, c, h, w]`, overwritten; each cell gets the sum over the windows covering it
///   of `grad_out / divisor`
///
/// # Panics
/// As [`avg_pool2d_forward`].
pub fn avg_pool2d_backward(
    g: &Pool2dGeometry,
    count_include_pad: bool,
    grad_out: &[f32],
    grad_input: &mut [f32],
) {
    g.check();
    assert_eq!(g.dilation, (1, 1), "avg_pool2d: dilation must be (1, 1)");
    assert_eq!(
        grad_out.len(),
        g.output_len(),
        "avg_pool2d_backward: grad_out length"
    );
    assert_eq!(
        grad_input.len(),
        g.input_len(),
        "avg_pool2d_backward: grad_input length"
    );
    let (oh, ow) = (g.out_h(), g.out_w());
    grad_input.fill(0.0);
    let work = grad_input.len() + grad_out.len() * g.kh * g.kw;
    let (ys, xs) = window_spans(g);
    let inverse_divisors = avg_inverse_divisors(g, &ys, &xs, count_include_pad);
    let inner = inner_columns(&xs, g.kw);
    let sw = g.stride.1;
    planes(grad_out, oh * ow, grad_input, g.h * g.w, work, |go, gi| {
        let rows = ys.iter().zip(go.chunks_exact(ow));
        for ((&sy, g_row), inverse_row) in rows.zip(inverse_divisors.chunks_exact(ow)) {
            for ox in border_columns(&inner, ow) {
                let v = g_row[ox] * inverse_row[ox];
                for iy in sy.range() {
                    gi[iy * g.w..][xs[ox].range()]
                        .iter_mut()
                        .for_each(|c| *c += v);
                }
            }
            // The inner windows, one tap across the whole row at a time.
            let (g_row, inverse_row) = (&g_row[inner.clone()], &inverse_row[inner.clone()]);
            for tap in inner_taps(g, &xs, &inner, sy) {
                let cells = &mut gi[tap..];
                match sw {
                    1 => scatter_every::<1>(cells, sw, g_row, inverse_row),
                    2 => scatter_every::<2>(cells, sw, g_row, inverse_row),
                    _ => scatter_every::<0>(cells, sw, g_row, inverse_row),
                }
            }
        }
    });
}

/// `cells[j·sw] += g[j] · inverse[j]`; `SW` as in [`add_every`].
#[inline(never)]
fn scatter_every<const SW: usize>(cells: &mut [f32], sw: usize, g: &[f32], inverse: &[f32]) {
    let sw = if SW == 0 { sw } else { SW };
    let n = g.len();
    let cells = cells[..n.saturating_sub(1) * sw + n.min(1)].chunks_mut(sw);
    for (c, (g, i)) in cells.zip(g.iter().zip(inverse)) {
        c[0] += g * i;
    }
}

/// Global average pooling forward: the mean of every plane.
///
/// - `input`: `[planes, hw]` (`planes = n·c`, `hw = h·w`)
/// - `out`: `[planes]`, overwritten
///
/// # Panics
/// If a buffer length does not match `planes` and `hw`.
pub fn global_avg_pool2d_forward(planes_n: usize, hw: usize, input: &[f32], out: &mut [f32]) {
    assert_eq!(
        input.len(),
        planes_n * hw,
        "global_avg_pool2d_forward: input length"
    );
    assert_eq!(out.len(), planes_n, "global_avg_pool2d_forward: out length");
    let inv = 1.0 / hw.max(1) as f32;
    if hw == 0 {
        out.fill(0.0);
        return;
    }
    planes(input, hw, out, 1, input.len(), |x, y| {
        y[0] = x.iter().sum::<f32>() * inv
    });
}

/// Global average pooling backward.
///
/// - `grad_out`: `[planes]`
/// - `grad_input`: `[planes, hw]`, overwritten with `grad_out[p] / hw` across plane `p`
///
/// # Panics
/// If a buffer length does not match `planes` and `hw`.
pub fn global_avg_pool2d_backward(
    planes_n: usize,
    hw: usize,
    grad_out: &[f32],
    grad_input: &mut [f32],
) {
    assert_eq!(
        grad_out.len(),
        planes_n,
        "global_avg_pool2d_backward: grad_out length"
    );
    assert_eq!(
        grad_input.len(),
        planes_n * hw,
        "global_avg_pool2d_backward: grad_input length"
    );
    let (inv, work) = (1.0 / hw.max(1) as f32, grad_input.len());
    planes(grad_out, 1, grad_input, hw, work, |go, gi| {
        gi.fill(go[0] * inv)
    });
}
