//! Max pooling forward, one output row at a time: every tap `(ky, kx)` of the windows that lie
//! wholly inside the row is folded into the whole output row at once, a strided slice of one
//! input row against a contiguous slice of the output, with selects the compiler vectorises.
//! Only the border columns whose window the padding (or ceil mode) clips take the scalar clipped
//! loop; clipped rows simply have fewer taps.
//!
//! The taps go in row-major window order, so ties keep the first maximum and a NaN takes over,
//! exactly as PyTorch (and the direct-loop reference) choose.
//!
//! The work is split into bands of output rows of one plane, so that rayon has jobs even when a
//! call has a few large planes (batch 1).

use super::pool::{border_columns, every, inner_columns, min_jobs_per_task, window_spans};
use super::pool::{Pool2dGeometry, Span, PAR_THRESHOLD};
use rayon::prelude::*;
use std::ops::Range;

/// Output elements one band aims at: large enough to amortise a job, small enough to give
/// several jobs per plane of a large image.
const BAND_OUTPUTS: usize = 2048;

/// What every band of one call shares.
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
    /// 2×2 windows, stride 2 across (LeNet, VGG): all four taps fold in one pass.
    pairs_2x2: bool,
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
    let band_len = (BAND_OUTPUTS / plan.ow).clamp(1, plan.ys.len()) * plan.ow;
    let bands_per_plane = op.div_ceil(band_len);
    let y_bands = out.chunks_mut(op).flat_map(|p| p.chunks_mut(band_len));
    let idx_bands = idx.chunks_mut(op).flat_map(|p| p.chunks_mut(band_len));
    let jobs: Vec<_> = y_bands.zip(or_empty(idx_bands)).enumerate().collect();
    let run = |(job, (y, i)): (usize, (&mut [f32], &mut [u32]))| {
        let plane = &input[job / bands_per_plane * hw..][..hw];
        let oy0 = job % bands_per_plane * (band_len / plan.ow);
        plan.band_max::<IDX>(plane, oy0, y, i);
    };
    if work > PAR_THRESHOLD && jobs.len() > 1 && rayon::current_num_threads() > 1 {
        let min = min_jobs_per_task(work, jobs.len());
        jobs.into_par_iter().with_min_len(min).for_each(run);
    } else {
        jobs.into_iter().for_each(run);
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
        let inner = inner_columns(&xs, g.kw);
        Plan {
            w: g.w,
            ow: xs.len(),
            kw: g.kw,
            sw: g.stride.1,
            dw: g.dilation.1,
            ys,
            xs,
            inner,
            pairs_2x2: (g.kh, g.kw, g.stride.1, g.dilation) == (2, 2, 2, (1, 1)),
        }
    }

    /// Output rows `oy0..` of one plane `x` into `y` (and `idx` when `IDX`), `[rows, ow]`.
    fn band_max<const IDX: bool>(&self, x: &[f32], oy0: usize, y: &mut [f32], idx: &mut [u32]) {
        let ow = self.ow;
        let out_rows = y.chunks_exact_mut(ow).zip(or_empty(idx.chunks_mut(ow)));
        for (&sy, (y_row, i_row)) in self.ys[oy0..].iter().zip(out_rows) {
            for ox in border_columns(&self.inner, ow) {
                let (m, at) = self.clipped_window(x, sy, self.xs[ox]);
                y_row[ox] = m;
                if IDX {
                    i_row[ox] = at;
                }
            }
            let inner = self.inner.clone();
            let (vals, at) = (
                &mut y_row[inner.clone()],
                i_row.get_mut(inner).unwrap_or_default(),
            );
            self.inner_windows::<IDX>(x, sy, vals, at);
        }
    }

    /// The maximum of one window, tap by tap (only the taps inside the plane), and its flat
    /// index; (−∞, `u32::MAX`) for a window with no cell in the plane.
    fn clipped_window(&self, x: &[f32], sy: Span, sx: Span) -> (f32, u32) {
        let cells = sy
            .coords()
            .flat_map(|iy| sx.coords().map(move |ix| iy * self.w + ix));
        let mut taps = cells.map(|i| (x[i], i as u32));
        match taps.next() {
            Some(first) => taps.fold(first, |m, (v, i)| fold_max(m, v, i)),
            None => (f32::NEG_INFINITY, u32::MAX),
        }
    }

    /// The windows of the inner columns (`vals.len()` of them) of the output row whose window
    /// rows are `sy`, every tap at once across the row.
    fn inner_windows<const IDX: bool>(
        &self,
        x: &[f32],
        sy: Span,
        vals: &mut [f32],
        at: &mut [u32],
    ) {
        if vals.is_empty() {
            return;
        }
        let Some(top) = sy.coords().next() else {
            // Every window of the row lies in the padding (padding > kernel / 2).
            vals.fill(f32::NEG_INFINITY);
            at.fill(u32::MAX);
            return;
        };
        // Inner windows start at every `sw`-th column from here (`base ≥ 0` inside).
        let (start, sw) = (self.xs[self.inner.start].base as usize, self.sw);
        // −∞ with the first tap's index stands for "nothing yet": the first tap replaces it
        // unless it is −∞ itself, whose index is then already in place.
        if self.pairs_2x2 && sy.k_hi - sy.k_lo == 2 {
            let rows = &x[top * self.w + start..];
            let (r0, r1) = (&rows[..2 * vals.len()], &rows[self.w..][..2 * vals.len()]);
            let first = (top * self.w + start) as u32;
            return max_2x2::<IDX>(r0, r1, vals, at, first, self.w as u32);
        }
        vals.fill(f32::NEG_INFINITY);
        let mut first = (top * self.w + start) as u32;
        for a in at.iter_mut() {
            *a = first;
            first = first.wrapping_add(sw as u32);
        }
        for iy in sy.coords() {
            for from in (0..self.kw).map(|t| iy * self.w + start + t * self.dw) {
                let (src, at0) = (&x[from..], from as u32);
                match sw {
                    1 => fold_max_into::<IDX, 1>(vals, at, src, sw, at0),
                    2 => fold_max_into::<IDX, 2>(vals, at, src, sw, at0),
                    _ => fold_max_into::<IDX, 0>(vals, at, src, sw, at0),
                }
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

/// The maxima of the 2×2 windows over rows `r0` and `r1` (`w` apart in the plane) that start at
/// every second column, the first cell at flat index `first`. With AVX2, eight windows at a time
/// (a row's last ones by eight that end with them, written twice with the same values).
#[inline(never)]
fn max_2x2<const IDX: bool>(
    r0: &[f32],
    r1: &[f32],
    vals: &mut [f32],
    at: &mut [u32],
    first: u32,
    w: u32,
) {
    let n = vals.len();
    assert!(r0.len() >= 2 * n && r1.len() >= 2 * n && (!IDX || at.len() >= n));
    #[cfg(target_arch = "x86_64")]
    if n >= 8 && super::has_avx2(pulp::Arch::new()) {
        for ox in (0..n).step_by(8).map(|ox| ox.min(n - 8)) {
            // SAFETY: AVX2 is available; windows `ox..ox + 8` lie in the rows and the outputs
            // (asserted above).
            unsafe { avx2::max_2x2_eight::<IDX>(r0, r1, vals, at, ox, first, w) };
        }
        return;
    }
    let cells = r0.chunks_exact(2).zip(r1.chunks_exact(2));
    for (ox, (out, (p, q))) in vals.iter_mut().zip(cells).enumerate() {
        let a = first + 2 * ox as u32;
        let m = fold_max((p[0], a), p[1], a + 1);
        let m = fold_max(m, q[0], a + w);
        let m = fold_max(m, q[1], a + w + 1);
        *out = m.0;
        if IDX {
            at[ox] = m.1;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// [`super::max_2x2`]'s windows `ox..ox + 8`, tap by tap in the same order, with the same
    /// rule ([`super::fold_max`]: a greater value or a NaN takes over).
    ///
    /// # Safety
    /// AVX2 must be available; `r0` and `r1` must hold `2·(ox + 8)` values, `vals` (and `at` when
    /// `IDX`) `ox + 8`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn max_2x2_eight<const IDX: bool>(
        r0: &[f32],
        r1: &[f32],
        vals: &mut [f32],
        at: &mut [u32],
        ox: usize,
        first: u32,
        w: u32,
    ) {
        // Even and odd columns of 16 values: shuffles within 128-bit halves, then the 64-bit
        // pairs put in order.
        let split = |row: &[f32]| {
            let (a, b) = (
                _mm256_loadu_ps(row.as_ptr().add(2 * ox)),
                _mm256_loadu_ps(row.as_ptr().add(2 * ox + 8)),
            );
            let order = |v: __m256| {
                _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)))
            };
            (
                order(_mm256_shuffle_ps::<0b10_00_10_00>(a, b)),
                order(_mm256_shuffle_ps::<0b11_01_11_01>(a, b)),
            )
        };
        let ((p0, p1), (q0, q1)) = (split(r0), split(r1));
        let base = _mm256_add_epi32(
            _mm256_set1_epi32((first + 2 * ox as u32) as i32),
            _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14),
        );
        let mut best = p0;
        let mut best_at = _mm256_castsi256_ps(base);
        for (v, offset) in [(p1, 1), (q0, w), (q1, w + 1)] {
            let take = _mm256_or_ps(
                _mm256_cmp_ps::<_CMP_GT_OQ>(v, best),
                _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v),
            );
            best = _mm256_blendv_ps(best, v, take);
            let cand_at = _mm256_add_epi32(base, _mm256_set1_epi32(offset as i32));
            best_at = _mm256_blendv_ps(best_at, _mm256_castsi256_ps(cand_at), take);
        }
        _mm256_storeu_ps(vals.as_mut_ptr().add(ox), best);
        if IDX {
            _mm256_storeu_ps(at.as_mut_ptr().add(ox).cast(), best_at);
        }
    }
}

/// [`fold_max`] of every candidate `src[j·sw]`, at flat index `at0 + j·sw`, into `best[j]`
/// (and `best_at[j]` when `IDX`). `SW` is `sw` as a constant (0: only known at run time), so
/// that the strided loads vectorise; kept out of line so that the selects vectorise whatever the
/// caller looks like (the wrapping index arithmetic matters too).
#[inline(never)]
fn fold_max_into<const IDX: bool, const SW: usize>(
    best: &mut [f32],
    best_at: &mut [u32],
    src: &[f32],
    sw: usize,
    at0: u32,
) {
    let sw = if SW == 0 { sw } else { SW };
    let cand = every(src, best.len(), sw).copied();
    if IDX {
        let mut at = at0;
        for ((b, a), v) in best.iter_mut().zip(best_at.iter_mut()).zip(cand) {
            (*b, *a) = fold_max((*b, *a), v, at);
            at = at.wrapping_add(sw as u32);
        }
    } else {
        for (b, v) in best.iter_mut().zip(cand) {
            *b = fold_max((*b, 0), v, 0).0;
        }
    }
}
