//! Adaptive 2-D pooling over NCHW slices: output cell `(i, j)` pools the input rows
//! `⌊i·H/OH⌋ .. ⌈(i+1)·H/OH⌉` and columns likewise (PyTorch's bins; neighbouring bins may overlap).
//!
//! Buffers: input `[planes, h, w]`, output and indices `[planes, oh, ow]`; planes run in
//! parallel. Forward kernels overwrite their outputs; backward kernels overwrite the input gradient
//! (overlapping bins add up).
use rayon::prelude::*;
use std::ops::Range;

/// Input range pooled into output index `i` of `out` along an axis of length `len`.
pub fn bin(i: usize, len: usize, out: usize) -> Range<usize> {
    (i * len / out)..((i + 1) * len).div_ceil(out)
}

/// Bins of every output index along one axis, computed once per call.
fn bins(len: usize, out: usize) -> Vec<Range<usize>> {
    (0..out).map(|i| bin(i, len, out)).collect()
}

/// Planes smaller than this are grouped into one parallel task.
const MIN_TASK_LEN: usize = 4096;

/// Average of each bin.
pub fn adaptive_avg_pool2d_forward(
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    input: &[f32],
    out: &mut [f32],
) {
    let (rows, cols) = (bins(h, oh), bins(w, ow));
    out.par_chunks_mut((oh * ow).max(1))
        .zip(input.par_chunks((h * w).max(1)))
        .with_min_len(MIN_TASK_LEN / (h * w).max(1) + 1)
        .for_each(|(out, x)| {
            for (i, r) in rows.iter().enumerate() {
                for (j, cspan) in cols.iter().enumerate() {
                    let sum: f32 = r
                        .clone()
                        .map(|y| {
                            x[y * w + cspan.start..y * w + cspan.end]
                                .iter()
                                .sum::<f32>()
                        })
                        .sum();
                    out[i * ow + j] = sum / (r.len() * cspan.len()) as f32;
                }
            }
        });
}

/// Spreads each output gradient evenly over its bin.
pub fn adaptive_avg_pool2d_backward(
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    grad_out: &[f32],
    grad_in: &mut [f32],
) {
    let (rows, cols) = (bins(h, oh), bins(w, ow));
    grad_in
        .par_chunks_mut((h * w).max(1))
        .zip(grad_out.par_chunks((oh * ow).max(1)))
        .with_min_len(MIN_TASK_LEN / (h * w).max(1) + 1)
        .for_each(|(gi, go)| {
            gi.fill(0.0);
            for (i, r) in rows.iter().enumerate() {
                for (j, cspan) in cols.iter().enumerate() {
                    let share = go[i * ow + j] / (r.len() * cspan.len()) as f32;
                    for y in r.clone() {
                        gi[y * w + cspan.start..y * w + cspan.end]
                            .iter_mut()
                            .for_each(|g| *g += share);
                    }
                }
            }
        });
}

/// Maximum of each bin and its flat index `y·w + x` in the plane (NaN wins, as in PyTorch).
pub fn adaptive_max_pool2d_forward(
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    input: &[f32],
    out: &mut [f32],
    indices: &mut [u32],
) {
    let (rows, cols) = (bins(h, oh), bins(w, ow));
    out.par_chunks_mut((oh * ow).max(1))
        .zip(indices.par_chunks_mut((oh * ow).max(1)))
        .zip(input.par_chunks((h * w).max(1)))
        .with_min_len(MIN_TASK_LEN / (h * w).max(1) + 1)
        .for_each(|((out, idx), x)| {
            for (i, r) in rows.iter().enumerate() {
                for (j, cspan) in cols.iter().enumerate() {
                    let (mut best, mut at) = (f32::NEG_INFINITY, r.start * w + cspan.start);
                    for y in r.clone() {
                        let start = y * w + cspan.start;
                        for (k, &v) in x[start..y * w + cspan.end].iter().enumerate() {
                            if v > best || v.is_nan() {
                                (best, at) = (v, start + k);
                                if v.is_nan() {
                                    break;
                                }
                            }
                        }
                    }
                    out[i * ow + j] = best;
                    idx[i * ow + j] = at as u32;
                }
            }
        });
}

/// Routes each output gradient to the input cell its index names.
pub fn max_pool_indices_backward(
    in_plane: usize,
    out_plane: usize,
    grad_out: &[f32],
    indices: &[u32],
    grad_in: &mut [f32],
) {
    grad_in
        .par_chunks_mut(in_plane.max(1))
        .zip(
            grad_out
                .par_chunks(out_plane.max(1))
                .zip(indices.par_chunks(out_plane.max(1))),
        )
        .with_min_len(MIN_TASK_LEN / in_plane.max(1) + 1)
        .for_each(|(gi, (go, idx))| {
            gi.fill(0.0);
            for (&g, &k) in go.iter().zip(idx) {
                gi[k as usize] += g;
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_the_axis_and_match_pytorch() {
        assert_eq!(bins(7, 3), vec![0..3, 2..5, 4..7]);
        assert_eq!(bins(10, 4), vec![0..3, 2..5, 5..8, 7..10]);
        for len in 1..12 {
            for out in 1..12 {
                let b = bins(len, out);
                assert_eq!(b[0].start, 0);
                assert_eq!(b[out - 1].end, len);
                assert!(b.iter().all(|r| !r.is_empty()));
                assert!(b.windows(2).all(|p| p[1].start <= p[0].end));
            }
        }
    }

    #[test]
    fn divisible_sizes_give_plain_average_pooling() {
        let x: Vec<f32> = (0..2 * 4 * 6).map(|i| (i as f32 * 0.7).sin()).collect();
        let mut out = vec![0.0; 2 * 2 * 3];
        adaptive_avg_pool2d_forward((4, 6), (2, 3), &x, &mut out);
        for p in 0..2 {
            for i in 0..2 {
                for j in 0..3 {
                    let at = |y: usize, x_: usize| x[p * 24 + (2 * i + y) * 6 + 2 * j + x_];
                    let want = (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4.0;
                    assert!((out[p * 6 + i * 3 + j] - want).abs() < 1e-6);
                }
            }
        }
    }
}
