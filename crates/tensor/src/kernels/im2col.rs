//! im2col and its adjoint col2im for one group of channels of one image of a 2-D convolution
//! `g` (`C = g.c_in / g.groups` channels; `g.n` and `g.c_out` play no part).
//!
//! Column layout: `col[C·kh·kw, Hout·Wout]`, row `(c·kh + i)·kw + j` holds, for every output pixel
//! `(oh, ow)` in row-major order, the input value `x[c, oh·sh − ph + i·dh, ow·sw − pw + j·dw]`
//! (0 where that falls in the padding). A convolution is then `W[Cout, C·kh·kw] · col`.
//!
//! The `_rows` variants work on a band of output rows `oh0..oh1` only, so a convolution can stream
//! a cache-sized block of columns through the GEMM instead of materialising the whole matrix.
//!
//! Inner loops: for each column row and output row the valid output-column range is computed once,
//! the padding part is filled (or skipped) in bulk, and the valid part is a `copy_from_slice`
//! (stride 1) or a strided zip (stride > 1): no per-element bounds or padding tests.
//!
//! "Same" geometry (stride 1, output as wide as the input, e.g. 3×3 pad 1): a column row of a band
//! is one contiguous run of the input plane shifted by the kernel offset, so it is moved with a
//! single copy (or add) over the whole band, and only its padding columns are fixed up after. On
//! 32×32 and 8×8 images this replaces many short row copies, whose call overhead dominated.

use super::conv_geometry::Conv2dGeometry;

/// Output width of `g`.
#[inline]
fn out_w(g: &Conv2dGeometry) -> usize {
    g.out_size()[1]
}

/// Output columns `ow` in `[lo, hi)` read a real input column for kernel column offset `off`
/// (`iw = ow·s + off`); all others read padding.
#[inline]
fn valid_range(off: isize, s: usize, w: usize, ow_n: usize) -> (usize, usize) {
    let s = s as isize;
    let lo = if off >= 0 { 0 } else { (-off + s - 1) / s };
    let last = w as isize - 1 - off; // ow·s ≤ last
    let hi = if last < 0 { 0 } else { last / s + 1 };
    let lo = (lo as usize).min(ow_n);
    let hi = (hi as usize).clamp(lo, ow_n);
    debug_assert!(lo == hi || (lo * s as usize) as isize + off >= 0);
    debug_assert!(lo == hi || (((hi - 1) * s as usize) as isize + off) < w as isize);
    (lo, hi)
}

/// A column row of a band is one contiguous shifted run of the input (see the module doc).
#[inline]
fn is_same_geometry(g: &Conv2dGeometry) -> bool {
    g.stride == [1, 1] && out_w(g) == g.size[1]
}

/// Visits, for a same geometry ([`is_same_geometry`]), every column row of the band `oh0..oh1`:
/// `f(row, r_lo, r_hi, lo, hi, shift)` where band rows `r_lo..r_hi` read real input rows, output
/// columns `lo..hi` read real input columns, and band-local flat index `t` of the row reads plane
/// index `t + shift` of channel `c` (plane offset `c·h·w` is folded into `shift`); the caller
/// clamps `t + shift` to that plane, which only cuts padding columns.
#[inline(always)]
fn for_each_same_row(
    g: &Conv2dGeometry,
    oh0: usize,
    oh1: usize,
    mut f: impl FnMut(usize, usize, usize, usize, usize, isize, usize),
) {
    let (ph, pw) = (g.padding[0] as isize, g.padding[1] as isize);
    let [dh, dw] = g.dilation;
    let [kh, kw] = g.kernel;
    let (h, w) = (g.size[0] as isize, g.size[1] as isize);
    let band = oh1 - oh0;
    for c in 0..g.cg_in() {
        for i in 0..kh {
            // Band row r reads input row ih = oh0 + r + i·dh − ph.
            let ih0 = (oh0 + i * dh) as isize - ph;
            let r_lo = (-ih0).clamp(0, band as isize) as usize;
            let r_hi = (h - ih0).clamp(r_lo as isize, band as isize) as usize;
            for j in 0..kw {
                let row = (c * kh + i) * kw + j;
                let off_w = (j * dw) as isize - pw;
                let (lo, hi) = valid_range(off_w, 1, g.size[1], g.size[1]);
                let shift = ih0 * w + off_w;
                f(row, r_lo, r_hi, lo, hi, shift, c * (h * w) as usize);
            }
        }
    }
}

/// The band-local flat range `[a, b)` of rows `r_lo..r_hi` whose shifted plane index
/// `t + shift` lies in the plane `[0, hw)`, with the plane index of `a`; `None` if empty. The
/// cut-off ends are padding columns.
#[inline(always)]
fn same_run(
    r_lo: usize,
    r_hi: usize,
    ow: usize,
    shift: isize,
    hw: usize,
) -> Option<(usize, usize, usize)> {
    let a = ((r_lo * ow) as isize).max(-shift);
    let b = ((r_hi * ow) as isize).min(hw as isize - shift);
    (a < b).then(|| (a as usize, b as usize, (a + shift) as usize))
}

/// Zeroes the padding columns (`..lo` and `hi..`) of band rows `r_lo..r_hi` of one column row.
#[inline(always)]
fn zero_pad_columns(dst: &mut [f32], ow: usize, r_lo: usize, r_hi: usize, lo: usize, hi: usize) {
    for k in (0..lo).chain(hi..ow) {
        for r in r_lo..r_hi {
            dst[r * ow + k] = 0.0;
        }
    }
}

/// Visits every (column row, output row) pair of the band `oh0..oh1`, passing the input row it
/// reads (`None` for a padding row), the output-column range `[lo, hi)` that reads real input, the
/// input column of `lo`, the horizontal stride, and the band-local index `(row, r)`.
#[inline(always)]
fn for_each_segment(
    g: &Conv2dGeometry,
    oh0: usize,
    oh1: usize,
    mut f: impl FnMut(usize, usize, Option<usize>, usize, usize, usize),
) {
    let [sh, sw] = g.stride;
    let [ph, pw] = g.padding;
    let [dh, dw] = g.dilation;
    let [kh, kw] = g.kernel;
    let [h, w] = g.size;
    let ow_n = out_w(g);
    for c in 0..g.cg_in() {
        for i in 0..kh {
            for j in 0..kw {
                let row = (c * kh + i) * kw + j;
                let off_w = (j * dw) as isize - pw as isize;
                let (lo, hi) = valid_range(off_w, sw, w, ow_n);
                let iw0 = (lo as isize * sw as isize + off_w).max(0) as usize;
                for (r, oh) in (oh0..oh1).enumerate() {
                    let ih = (oh * sh + i * dh) as isize - ph as isize;
                    let src = if ih >= 0 && (ih as usize) < h {
                        Some((c * h + ih as usize) * w)
                    } else {
                        None
                    };
                    f(row, r, src, lo, hi, iw0);
                }
            }
        }
    }
}

/// im2col of a whole image.
///
/// - `input`: `[C, H, W]`
/// - `col`: `[C·kh·kw, Hout·Wout]`, fully overwritten
pub fn im2col(g: &Conv2dGeometry, input: &[f32], col: &mut [f32]) {
    im2col_rows(g, input, 0, g.out_size()[0], col);
}

/// im2col of the output-row band `oh0..oh1` (`oh1 ≤ Hout`).
///
/// - `input`: `[C, H, W]`
/// - `col`: `[C·kh·kw, (oh1 − oh0)·Wout]`, fully overwritten
pub fn im2col_rows(g: &Conv2dGeometry, input: &[f32], oh0: usize, oh1: usize, col: &mut [f32]) {
    let [oh_n, ow_n] = g.out_size();
    let [h, w] = g.size;
    let cols = (oh1 - oh0) * ow_n;
    assert!(oh0 <= oh1 && oh1 <= oh_n, "im2col: bad row band");
    assert!(input.len() >= g.cg_in() * h * w, "im2col: input too short");
    assert!(col.len() >= g.col_rows() * cols, "im2col: col too short");
    if is_same_geometry(g) {
        let hw = h * w;
        for_each_same_row(g, oh0, oh1, |row, r_lo, r_hi, lo, hi, shift, plane| {
            let dst = &mut col[row * cols..][..cols];
            dst[..r_lo * ow_n].fill(0.0);
            dst[r_hi * ow_n..].fill(0.0);
            let (a, b) = match same_run(r_lo, r_hi, ow_n, shift, hw) {
                Some((a, b, s0)) => {
                    dst[a..b].copy_from_slice(&input[plane..][..hw][s0..s0 + (b - a)]);
                    (a, b)
                }
                None => (r_hi * ow_n, r_hi * ow_n),
            };
            // What the clamped run missed at its ends reads padding too.
            dst[r_lo * ow_n..a].fill(0.0);
            dst[b..r_hi * ow_n].fill(0.0);
            zero_pad_columns(dst, ow_n, r_lo, r_hi, lo, hi);
        });
        return;
    }
    let sw = g.stride[1];
    for_each_segment(g, oh0, oh1, |row, r, src, lo, hi, iw0| {
        let dst = &mut col[row * cols + r * ow_n..][..ow_n];
        let Some(src) = src else {
            dst.fill(0.0);
            return;
        };
        dst[..lo].fill(0.0);
        dst[hi..].fill(0.0);
        if lo == hi {
            return;
        }
        let dst = &mut dst[lo..hi];
        let src = &input[src + iw0..src + w];
        if sw == 1 {
            dst.copy_from_slice(&src[..dst.len()]);
        } else {
            for (d, s) in dst.iter_mut().zip(src.iter().step_by(sw)) {
                *d = *s;
            }
        }
    });
}

/// col2im of a whole image: the adjoint of [`im2col`], accumulating.
///
/// - `col`: `[C·kh·kw, Hout·Wout]`, used as scratch: entries that read padding may be zeroed
/// - `input_grad`: `[C, H, W]`, each column entry is **added** to the input cell it was read from
pub fn col2im(g: &Conv2dGeometry, col: &mut [f32], input_grad: &mut [f32]) {
    col2im_rows(g, col, 0, g.out_size()[0], input_grad);
}

/// col2im of the output-row band `oh0..oh1`, accumulating (adjoint of [`im2col_rows`]).
///
/// - `col`: `[C·kh·kw, (oh1 − oh0)·Wout]`, used as scratch: entries that read padding may be
///   zeroed (a same geometry adds whole shifted runs, whose padding entries must add nothing)
/// - `input_grad`: `[C, H, W]`, accumulated into
pub fn col2im_rows(
    g: &Conv2dGeometry,
    col: &mut [f32],
    oh0: usize,
    oh1: usize,
    input_grad: &mut [f32],
) {
    let [oh_n, ow_n] = g.out_size();
    let [h, w] = g.size;
    let cols = (oh1 - oh0) * ow_n;
    assert!(oh0 <= oh1 && oh1 <= oh_n, "col2im: bad row band");
    assert!(
        input_grad.len() >= g.cg_in() * h * w,
        "col2im: input_grad too short"
    );
    assert!(col.len() >= g.col_rows() * cols, "col2im: col too short");
    if is_same_geometry(g) {
        let hw = h * w;
        for_each_same_row(g, oh0, oh1, |row, r_lo, r_hi, lo, hi, shift, plane| {
            let src = &mut col[row * cols..][..cols];
            zero_pad_columns(src, ow_n, r_lo, r_hi, lo, hi);
            if let Some((a, b, d0)) = same_run(r_lo, r_hi, ow_n, shift, hw) {
                let dst = &mut input_grad[plane..][..hw][d0..d0 + (b - a)];
                for (d, s) in dst.iter_mut().zip(&src[a..b]) {
                    *d += *s;
                }
            }
        });
        return;
    }
    let sw = g.stride[1];
    for_each_segment(g, oh0, oh1, |row, r, dst, lo, hi, iw0| {
        let Some(dst) = dst.filter(|_| lo < hi) else {
            return;
        };
        let src = &col[row * cols + r * ow_n..][lo..hi];
        let dst = &mut input_grad[dst + iw0..dst + w];
        if sw == 1 {
            for (d, s) in dst[..src.len()].iter_mut().zip(src) {
                *d += *s;
            }
        } else {
            for (d, s) in dst.iter_mut().step_by(sw).zip(src) {
                *d += *s;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_util::random_vec;

    fn geoms() -> Vec<Conv2dGeometry> {
        let mut v = Vec::new();
        for size in [[1, 1], [5, 7], [8, 8]] {
            for kernel in [[1, 1], [3, 3], [2, 5]] {
                for stride in [[1, 1], [2, 3]] {
                    for padding in [[0, 0], [1, 1], [1, 2]] {
                        for dilation in [[1, 1], [2, 1]] {
                            let g = Conv2dGeometry {
                                n: 1,
                                c_in: 2,
                                c_out: 1,
                                size,
                                kernel,
                                stride,
                                padding,
                                dilation,
                                groups: 1,
                            };
                            if g.output_len() > 0 {
                                v.push(g);
                            }
                        }
                    }
                }
            }
        }
        v
    }

    fn naive_im2col(g: &Conv2dGeometry, x: &[f32]) -> Vec<f32> {
        let [oh_n, ow_n] = g.out_size();
        let ([h, w], [kh, kw]) = (g.size, g.kernel);
        let mut col = vec![0.0; g.col_rows() * oh_n * ow_n];
        for c in 0..g.c_in {
            for i in 0..kh {
                for j in 0..kw {
                    for oh in 0..oh_n {
                        for ow in 0..ow_n {
                            let ih = (oh * g.stride[0] + i * g.dilation[0]) as isize
                                - g.padding[0] as isize;
                            let iw = (ow * g.stride[1] + j * g.dilation[1]) as isize
                                - g.padding[1] as isize;
                            if ih >= 0 && iw >= 0 && (ih as usize) < h && (iw as usize) < w {
                                let row = (c * kh + i) * kw + j;
                                col[row * oh_n * ow_n + oh * ow_n + ow] =
                                    x[(c * h + ih as usize) * w + iw as usize];
                            }
                        }
                    }
                }
            }
        }
        col
    }

    #[test]
    fn im2col_matches_naive_and_bands_agree() {
        for g in geoms() {
            let x = random_vec(g.c_in * g.size.iter().product::<usize>(), 3);
            let expect = naive_im2col(&g, &x);
            let mut col = vec![f32::NAN; expect.len()];
            im2col(&g, &x, &mut col);
            assert_eq!(col, expect, "{g:?}");
            // A band reproduces the matching block of columns.
            let [oh_n, ow_n] = g.out_size();
            let (a, b) = (oh_n / 2, oh_n);
            let mut band = vec![f32::NAN; g.col_rows() * (b - a) * ow_n];
            im2col_rows(&g, &x, a, b, &mut band);
            for r in 0..g.col_rows() {
                assert_eq!(
                    band[r * (b - a) * ow_n..][..(b - a) * ow_n],
                    expect[r * oh_n * ow_n + a * ow_n..][..(b - a) * ow_n]
                );
            }
        }
    }

    #[test]
    fn col2im_is_adjoint_of_im2col() {
        // <im2col(x), y> == <x, col2im(y)> for random x, y.
        for g in geoms() {
            let x = random_vec(g.c_in * g.size.iter().product::<usize>(), 5);
            let y = random_vec(g.col_rows() * g.out_size().iter().product::<usize>(), 6);
            let mut col = vec![0.0; y.len()];
            im2col(&g, &x, &mut col);
            let lhs: f64 = col
                .iter()
                .zip(&y)
                .map(|(a, b)| (*a as f64) * (*b as f64))
                .sum();
            let mut xg = vec![0.0; x.len()];
            col2im(&g, &mut y.clone(), &mut xg);
            let rhs: f64 = x
                .iter()
                .zip(&xg)
                .map(|(a, b)| (*a as f64) * (*b as f64))
                .sum();
            assert!(
                (lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()),
                "{g:?}: {lhs} vs {rhs}"
            );
        }
    }
}
