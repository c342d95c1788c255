//! Building blocks of the normalisation layers (batch, group, layer and instance norm).
//!
//! Every normalisation reduces some slices to a mean and a variance, then applies a per-slice
//! linear map; backward reduces `Σg` and `Σg·(x − mean)` and applies another linear map. These
//! are those reductions and maps: sums accumulate in f64 over 8 independent lanes (so the compiler
//! vectorises them and long reductions keep their precision), the maps are single fused passes.
//! Each runs under [`vectorized`], with the CPU's widest vectors.

use super::map::vectorized;
use std::mem::MaybeUninit;

const LANES: usize = 8;

/// Σ f(a_i, b_i, c_i) over equally long slices, in f64 lanes (fixed-size chunks, so the loop
/// has no bounds checks and vectorises). Callers pass the same slice twice when they need fewer.
#[inline(always)]
fn lane_sum(a: &[f32], b: &[f32], c: &[f32], f: impl Fn(f32, f32, f32) -> f64) -> f64 {
    debug_assert!(a.len() == b.len() && a.len() == c.len());
    let (ca, cb, cc) = (
        a.chunks_exact(LANES),
        b.chunks_exact(LANES),
        c.chunks_exact(LANES),
    );
    let tail: f64 = (ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .zip(cc.remainder()))
    .map(|((&a, &b), &c)| f(a, b, c))
    .sum();
    let mut acc = [0.0f64; LANES];
    for ((a, b), c) in ca.zip(cb).zip(cc) {
        for l in 0..LANES {
            acc[l] += f(a[l], b[l], c[l]);
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// Σx.
pub fn sum(x: &[f32]) -> f64 {
    vectorized(
        #[inline(always)]
        || lane_sum(x, x, x, |x, _, _| x as f64),
    )
}

/// Σ(x − mean)².
pub fn centered_sq_sum(x: &[f32], mean: f32) -> f64 {
    vectorized(
        #[inline(always)]
        || {
            lane_sum(x, x, x, |x, _, _| {
                let d = (x - mean) as f64;
                d * d
            })
        },
    )
}

/// (Σx, Σx²) in one pass (each sum in the lanes and order of [`lane_sum`]; x² is exact in f64).
pub fn sum_and_squares(x: &[f32]) -> (f64, f64) {
    vectorized(
        #[inline(always)]
        || {
            lane_pair_sum(x, x, x, |x, _, _| {
                let x = x as f64;
                (x, x * x)
            })
        },
    )
}

/// (Σg, Σg·(x − mean)) over equally long `x` and `g`, in one pass (each sum in the lanes and
/// order of [`lane_sum`]).
pub fn grad_sums(x: &[f32], g: &[f32], mean: f32) -> (f64, f64) {
    debug_assert_eq!(x.len(), g.len());
    vectorized(
        #[inline(always)]
        || lane_pair_sum(x, g, g, |x, g, _| (g as f64, (g * (x - mean)) as f64)),
    )
}

/// Two sums Σ f(a_i, b_i, c_i) in one pass, in the lanes and order of [`lane_sum`].
#[inline(always)]
fn lane_pair_sum(
    a: &[f32],
    b: &[f32],
    c: &[f32],
    f: impl Fn(f32, f32, f32) -> (f64, f64),
) -> (f64, f64) {
    debug_assert!(a.len() == b.len() && a.len() == c.len());
    let (ca, cb, cc) = (
        a.chunks_exact(LANES),
        b.chunks_exact(LANES),
        c.chunks_exact(LANES),
    );
    let tail = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .zip(cc.remainder());
    let (tail_0, tail_1) = tail.fold((0.0f64, 0.0f64), |(s0, s1), ((&a, &b), &c)| {
        let (v0, v1) = f(a, b, c);
        (s0 + v0, s1 + v1)
    });
    let (mut s0, mut s1) = ([0.0f64; LANES], [0.0f64; LANES]);
    for ((a, b), c) in ca.zip(cb).zip(cc) {
        for l in 0..LANES {
            let (v0, v1) = f(a[l], b[l], c[l]);
            s0[l] += v0;
            s1[l] += v1;
        }
    }
    (
        s0.iter().sum::<f64>() + tail_0,
        s1.iter().sum::<f64>() + tail_1,
    )
}

/// `y = a·x + b` (the forward map of every normalisation, with the affine folded in), writing
/// every element of `y`.
pub fn scale_shift(x: &[f32], y: &mut [MaybeUninit<f32>], a: f32, b: f32) {
    map_into(
        x,
        y,
        #[inline(always)]
        |x| a * x + b,
    )
}

/// `y = max(a·x + b, 0)`: [`scale_shift`] with a ReLU, writing every element of `y`.
pub fn scale_shift_relu(x: &[f32], y: &mut [MaybeUninit<f32>], a: f32, b: f32) {
    map_into(
        x,
        y,
        #[inline(always)]
        |x| (a * x + b).max(0.0),
    )
}

/// `y = f(x)` elementwise, vectorised, writing every element of `y`.
#[inline(always)]
fn map_into(x: &[f32], y: &mut [MaybeUninit<f32>], f: impl Fn(f32) -> f32) {
    debug_assert_eq!(x.len(), y.len());
    vectorized(
        #[inline(always)]
        || {
            for (y, &x) in y.iter_mut().zip(x) {
                y.write(f(x));
            }
        },
    )
}

/// `y = max(a·x + b + r, 0)`: [`scale_shift`], a residual `r` added, then a ReLU, writing every
/// element of `y`.
pub fn scale_shift_add_relu(x: &[f32], r: &[f32], y: &mut [MaybeUninit<f32>], a: f32, b: f32) {
    debug_assert!(x.len() == y.len() && x.len() == r.len());
    vectorized(
        #[inline(always)]
        || {
            for ((y, &x), &r) in y.iter_mut().zip(x).zip(r) {
                y.write((a * x + b + r).max(0.0));
            }
        },
    )
}

/// `g` masked by the ReLU output `y` (0 where y ≤ 0), writing every element of `out`.
pub fn relu_mask_into(g: &[f32], y: &[f32], out: &mut [MaybeUninit<f32>]) {
    debug_assert!(g.len() == y.len() && g.len() == out.len());
    vectorized(
        #[inline(always)]
        || {
            for ((o, &g), &y) in out.iter_mut().zip(g).zip(y) {
                o.write(g * if y > 0.0 { 1.0 } else { 0.0 });
            }
        },
    )
}

/// `dx = a·g + b·x + c` (the backward map of every normalisation, see the ops for a, b, c),
/// writing every element of `dx`.
pub fn grad_map(g: &[f32], x: &[f32], dx: &mut [MaybeUninit<f32>], (a, b, c): (f32, f32, f32)) {
    debug_assert!(g.len() == x.len() && x.len() == dx.len());
    vectorized(
        #[inline(always)]
        || {
            for ((dx, &g), &x) in dx.iter_mut().zip(g).zip(x) {
                dx.write(a * g + b * x + c);
            }
        },
    )
}

/// Coefficients `(a, b, c)` of [`grad_map`] for a normalised slice with batch statistics:
/// `dx = invstd·(w·g − mean(dŷ) − x̂·mean(dŷ·x̂))` with `dŷ = w·g`, given the whole normalisation
/// set's `Σdŷ` and `Σdŷ·(x − mean)` over `count` values.
pub fn batch_stats_grad_coefs(
    w: f32,
    mean: f32,
    invstd: f32,
    sum_dyhat: f64,
    sum_dyhat_xc: f64,
    count: usize,
) -> (f32, f32, f32) {
    let mean_dyhat = (sum_dyhat / count as f64) as f32;
    // mean(dŷ·x̂)·invstd, where x̂ = (x − mean)·invstd.
    let k = (sum_dyhat_xc / count as f64) as f32 * invstd * invstd;
    let b = -invstd * k;
    (w * invstd, b, -invstd * mean_dyhat - b * mean)
}

/// One normalisation row with an elementwise affine (`w`, `b` as long as the row):
/// `y = (x − mean)·invstd·w + b`.
pub fn affine_row_forward(x: &[f32], y: &mut [f32], w: &[f32], b: &[f32], mean: f32, invstd: f32) {
    debug_assert!(x.len() == y.len() && x.len() == w.len() && x.len() == b.len());
    vectorized(
        #[inline(always)]
        || {
            for (((y, &x), &w), &b) in y.iter_mut().zip(x).zip(w).zip(b) {
                let a = invstd * w;
                *y = x * a + (b - mean * a);
            }
        },
    )
}

/// Backward of [`affine_row_forward`] for the input, the row's own statistics having normalised it:
/// `dx = invstd·(dŷ − mean(dŷ) − x̂·mean(dŷ·x̂))` with `dŷ = g·w`.
pub fn affine_row_backward(
    x: &[f32],
    g: &[f32],
    w: &[f32],
    dx: &mut [f32],
    mean: f32,
    invstd: f32,
) {
    debug_assert!(x.len() == g.len() && x.len() == w.len() && x.len() == dx.len());
    vectorized(
        #[inline(always)]
        || {
            let sum_dyhat = lane_sum(g, w, w, |g, w, _| (g * w) as f64);
            let sum_dyhat_xc = lane_sum(x, g, w, |x, g, w| (g * w * (x - mean)) as f64);
            let (_, b, c) =
                batch_stats_grad_coefs(1.0, mean, invstd, sum_dyhat, sum_dyhat_xc, x.len());
            for (((dx, &x), &g), &w) in dx.iter_mut().zip(x).zip(g).zip(w) {
                *dx = invstd * w * g + b * x + c;
            }
        },
    )
}

/// Accumulates the elementwise-affine gradients of one row: `dw += g·(x − mean)·invstd`, `db += g`.
pub fn affine_row_param_grads(
    x: &[f32],
    g: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
    mean: f32,
    invstd: f32,
) {
    debug_assert!(x.len() == g.len() && x.len() == dw.len() && x.len() == db.len());
    vectorized(
        #[inline(always)]
        || {
            for (((dw, db), &x), &g) in dw.iter_mut().zip(db.iter_mut()).zip(x).zip(g) {
                *dw += g * (x - mean) * invstd;
                *db += g;
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_sums_match_naive_sums_on_edge_lengths() {
        for len in [0, 1, 7, 8, 9, 17, 100] {
            let x: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let g: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let naive: f64 = x.iter().map(|&v| v as f64).sum();
            assert!((sum(&x) - naive).abs() < 1e-9);
            let m = 0.25;
            let naive_sq: f64 = x.iter().map(|&v| ((v - m) as f64).powi(2)).sum();
            assert!((centered_sq_sum(&x, m) - naive_sq).abs() < 1e-9);
            let (s1, s2) = sum_and_squares(&x);
            let naive_x2: f64 = x.iter().map(|&v| (v as f64).powi(2)).sum();
            assert!((s1 - naive).abs() < 1e-9 && (s2 - naive_x2).abs() < 1e-9);
            let (sg, sgx) = grad_sums(&x, &g, m);
            let naive_sgx: f64 = x.iter().zip(&g).map(|(&v, &g)| (g * (v - m)) as f64).sum();
            assert!((sg - g.iter().map(|&v| v as f64).sum::<f64>()).abs() < 1e-9);
            assert!((sgx - naive_sgx).abs() < 1e-6);
        }
    }

    #[test]
    fn grad_coefs_give_the_textbook_formula() {
        let x = [0.3f32, -1.2, 2.0, 0.7, -0.1];
        let g = [0.5f32, -0.4, 1.1, 0.2, -0.9];
        let (w, n) = (1.7f32, x.len());
        let mean = x.iter().sum::<f32>() / n as f32;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n as f32;
        let invstd = 1.0 / (var + 1e-5).sqrt();
        let xhat: Vec<f32> = x.iter().map(|v| (v - mean) * invstd).collect();
        let dyhat: Vec<f32> = g.iter().map(|g| g * w).collect();
        let m1 = dyhat.iter().sum::<f32>() / n as f32;
        let m2 = dyhat.iter().zip(&xhat).map(|(a, b)| a * b).sum::<f32>() / n as f32;
        let (sd, sdx) = grad_sums(&x, &dyhat, mean);
        let coefs = batch_stats_grad_coefs(w, mean, invstd, sd, sdx, n);
        let mut dx = [MaybeUninit::new(0.0); 5];
        grad_map(&g, &x, &mut dx, coefs);
        for i in 0..n {
            let want = invstd * (dyhat[i] - m1 - xhat[i] * m2);
            // SAFETY: initialised above (and written by `grad_map`).
            let got = unsafe { dx[i].assume_init() };
            assert!((got - want).abs() < 1e-5, "{i}: {got} vs {want}");
        }
    }
}
