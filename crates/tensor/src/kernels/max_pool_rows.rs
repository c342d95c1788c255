//! Max pooling forward, separably: first the maxima of every input row's horizontal windows, then
//! for every output row the maximum of those row maxima down the window's rows.
//!
//! Both passes fold whole contiguous slices element by element with selects, which the compiler
//! vectorises; only the border columns whose window the padding (or ceil mode) clips take a
//! scalar loop, and clipped rows simply fold fewer row maxima. The order matters for ties: the
//! strictly greater value (or a NaN) along each row, then down the rows, keeps PyTorch's choice —
//! the first maximum in row-major window order, or the last NaN — where columns first would not.
//!
//! The work is split into bands of output rows of one plane: a band bounds the row-maxima buffer
//! (to stay in cache) and gives rayon jobs even when a call has a few large planes (batch 1).

use super::pool::{min_jobs_per_task, window_spans, Pool2dGeometry, Span, PAR_THRESHOLD};
use rayon::prelude::*;
use std::ops::Range;

/// Row-maxima entries one band aims at (the buffer then stays in L1/L2).
const BAND_ENTRIES: usize = 4096;

/// What every band of one call shares: the geometry along each axis and the band layout.
struct Plan {
    w: usize,
    ow: usize,
    kw: usize,
    sw: usize,
    dw: usize,
    ys: Vec<Span>,
    xs: Vec<Span>,
    /// Output columns whose window lies wholly inside the row (all `kw` taps in bounds).
    inner: Range<usize>,
    /// Output rows per band.
    band: usize,
    /// Input rows that some window reads (a stride longer than the window skips rows).
    row_read: Vec<bool>,
}

/// One thread's buffer, reused across its bands: `[band input rows, ow]`, the maximum of each
/// input row's window for every output column.
#[derive(Default)]
struct RowMaxima {
    vals: Vec<f32>,
    /// The flat plane index of each maximum (empty without indices).
    at: Vec<u32>,
}

/// Max pooling of all planes into `out` (and the arg-max into `idx` when `IDX`; else `idx` is
/// empty). The caller has checked the buffer lengths.
pub(super) fn max_pool_bands<const IDX: bool>(
    g: &Pool2dGeometry,
    input: &[f32],
    out: &mut [f32],
    idx: &mut [u32],
) {
    let (hw, op) = (g.h * g.w, g.out_h() * g.out_w());
    if op == 0 {
        return;
    }
    let plan = Plan::new(g);
    let work = input.len() + out.len() * g.kh * g.kw;
    let band_len = plan.band * plan.ow;
    let bands_per_plane = op.div_ceil(band_len);
    let y_bands = out.chunks_mut(op).flat_map(|p| p.chunks_mut(band_len));
    let idx_bands = idx.chunks_mut(op).flat_map(|p| p.chunks_mut(band_len));
    let jobs: Vec<_> = y_bands.zip(or_empty(idx_bands)).enumerate().collect();
    let run = |rm: &mut RowMaxima, (job, (y, i)): (usize, (&mut [f32], &mut [u32]))| {
        let plane = &input[job / bands_per_plane * hw..][..hw];
        let oy0 = job % bands_per_plane * plan.band;
        plan.band_max::<IDX>(plane, oy0, y, i, rm);
    };
    if work > PAR_THRESHOLD && jobs.len() > 1 && rayon::current_num_threads() > 1 {
        let min = min_jobs_per_task(work, jobs.len());
        jobs.into_par_iter()
            .with_min_len(min)
            .for_each_init(RowMaxima::default, run);
    } else {
        let mut rm = RowMaxima::default();
        jobs.into_iter().for_each(|job| run(&mut rm, job));
    }
}

/// The slices of `parts`, then empty slices for ever (zipping an absent index buffer along).
fn or_empty<'a, T: 'a>(
    parts: impl Iterator<Item = &'a mut [T]>,
) -> impl Iterator<Item = &'a mut [T]> {
    parts.chain(std::iter::repeat_with(Default::default))
}

impl Plan {
    fn new(g: &Pool2dGeometry) -> Plan {
        let (ys, xs) = window_spans(g);
        let whole = |s: &Span| s.k_lo == 0 && s.k_hi == g.kw;
        let start = xs.iter().position(whole).unwrap_or(xs.len());
        let end = xs.iter().rposition(whole).map_or(start, |e| e + 1);
        debug_assert!(
            xs[start..end].iter().all(whole),
            "inner columns are contiguous"
        );
        let mut row_read = vec![false; g.h];
        ys.iter()
            .flat_map(|s| s.coords())
            .for_each(|iy| row_read[iy] = true);
        let (ow, sh) = (xs.len(), g.stride.0);
        // At least as many output rows as one window spans input rows, so that rows computed
        // twice (once per neighbouring band) stay a small share.
        let reach = g.kh.saturating_sub(1) * g.dilation.0 + 1;
        let band = (BAND_ENTRIES / (ow * sh).max(1))
            .max(reach.div_ceil(sh))
            .clamp(1, ys.len().max(1));
        Plan {
            w: g.w,
            ow,
            kw: g.kw,
            sw: g.stride.1,
            dw: g.dilation.1,
            ys,
            xs,
            inner: start..end,
            band,
            row_read,
        }
    }

    /// Output rows `oy0..` of one plane `x` into `y` (and `idx` when `IDX`), `[rows, ow]`.
    fn band_max<const IDX: bool>(
        &self,
        x: &[f32],
        oy0: usize,
        y: &mut [f32],
        idx: &mut [u32],
        rm: &mut RowMaxima,
    ) {
        let ow = self.ow;
        let spans = &self.ys[oy0..oy0 + y.len() / ow];
        let first = spans.iter().filter_map(|s| s.coords().next()).min();
        let last = spans.iter().filter_map(|s| s.coords().last()).max();
        let Some((lo, hi)) = first.zip(last) else {
            // Every window of the band lies in the padding (padding > kernel / 2).
            y.fill(f32::NEG_INFINITY);
            idx.fill(u32::MAX);
            return;
        };
        let entries = (hi + 1 - lo) * ow;
        rm.vals.resize(entries, 0.0);
        rm.at.resize(if IDX { entries } else { 0 }, 0);
        let rows = rm
            .vals
            .chunks_exact_mut(ow)
            .zip(or_empty(rm.at.chunks_mut(ow)));
        for ((vals, at), iy) in rows.zip(lo..).filter(|(_, iy)| self.row_read[*iy]) {
            let row = &x[iy * self.w..][..self.w];
            self.row_max::<IDX>(row, (iy * self.w) as u32, vals, at);
        }
        let (vals, at) = (rm.vals.as_slice(), rm.at.as_slice());
        let out_rows = y.chunks_exact_mut(ow).zip(or_empty(idx.chunks_mut(ow)));
        for (sy, (y_row, i_row)) in spans.iter().zip(out_rows) {
            let mut taps = sy.coords().map(|iy| (iy - lo) * ow);
            let Some(r) = taps.next() else {
                y_row.fill(f32::NEG_INFINITY);
                i_row.fill(u32::MAX);
                continue;
            };
            // Fold the row maxima down the window, tracking which row (its offset `r`) won, then
            // look its index up: a select between two loaded indices would not vectorise.
            y_row.copy_from_slice(&vals[r..][..ow]);
            i_row.fill(r as u32);
            for r in taps {
                fold_max_into::<IDX, 1>(y_row, i_row, &vals[r..], 1, (r as u32, 0));
            }
            for (a, j) in i_row.iter_mut().zip(0..) {
                *a = at[*a as usize + j];
            }
        }
    }

    /// The window maxima of one input row (flat plane index of its first cell: `row_at`) for
    /// every output column into `vals` (and `at` when `IDX`).
    fn row_max<const IDX: bool>(&self, row: &[f32], row_at: u32, vals: &mut [f32], at: &mut [u32]) {
        for ox in (0..self.inner.start).chain(self.inner.end..self.ow) {
            let mut taps = self.xs[ox].coords().map(|ix| (row[ix], row_at + ix as u32));
            let m = match taps.next() {
                Some(first) => taps.fold(first, |m, (v, i)| fold_max(m, v, i)),
                None => (f32::NEG_INFINITY, u32::MAX),
            };
            vals[ox] = m.0;
            if IDX {
                at[ox] = m.1;
            }
        }
        let inner = self.inner.clone();
        if inner.is_empty() {
            return;
        }
        // Inner windows start at every `sw`-th column from here (`base ≥ 0` inside).
        let (start, sw) = (self.xs[inner.start].base as usize, self.sw);
        let (vals, at) = (
            &mut vals[inner.clone()],
            at.get_mut(inner).unwrap_or_default(),
        );
        // −∞ with the first tap's index stands for "nothing yet": the first tap replaces it
        // unless it is −∞ itself, whose index is then already in place.
        vals.fill(f32::NEG_INFINITY);
        let mut first_at = row_at + start as u32;
        for a in at.iter_mut() {
            *a = first_at;
            first_at = first_at.wrapping_add(sw as u32);
        }
        for from in (0..self.kw).map(|t| start + t * self.dw) {
            let (src, at0) = (&row[from..], (row_at + from as u32, sw as u32));
            match sw {
                1 => fold_max_into::<IDX, 1>(vals, at, src, sw, at0),
                2 => fold_max_into::<IDX, 2>(vals, at, src, sw, at0),
                _ => fold_max_into::<IDX, 0>(vals, at, src, sw, at0),
            }
        }
    }
}

/// Folds the candidate `v` at flat index `at` into the running (maximum, index): a strictly
/// greater value wins (so the first of equal values stays) and a NaN always takes over, as in
/// PyTorch and the reference.
#[inline(always)]
fn fold_max((best, best_at): (f32, u32), v: f32, at: u32) -> (f32, u32) {
    let take = (v > best) | v.is_nan();
    (if take { v } else { best }, if take { at } else { best_at })
}

/// [`fold_max`] of every candidate `src[j·sw]`, at flat index `at0 + j·step`, into `best[j]`
/// (and `best_at[j]` when `IDX`). `SW` is `sw` as a constant (0: only known at run time), so
/// that the strided loads vectorise; kept out of line so that the selects vectorise whatever the
/// caller looks like (the wrapping index arithmetic matters too).
#[inline(never)]
fn fold_max_into<const IDX: bool, const SW: usize>(
    best: &mut [f32],
    best_at: &mut [u32],
    src: &[f32],
    sw: usize,
    (at0, step): (u32, u32),
) {
    let sw = if SW == 0 { sw } else { SW };
    let Some(last) = best.len().checked_sub(1) else {
        return;
    };
    let cand = src[..=last * sw].chunks(sw).map(|c| c[0]);
    if IDX {
        let mut at = at0;
        for ((b, a), v) in best.iter_mut().zip(best_at.iter_mut()).zip(cand) {
            (*b, *a) = fold_max((*b, *a), v, at);
            at = at.wrapping_add(step);
        }
    } else {
        for (b, v) in best.iter_mut().zip(cand) {
            *b = fold_max((*b, 0), v, 0).0;
        }
    }
}
