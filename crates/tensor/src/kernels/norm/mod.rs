//! Building blocks of the normalisation layers (batch, group, layer and instance norm).
//!
//! Every normalisation reduces some slices to a mean and a variance, then applies a per-slice
//! linear map; backward reduces `Σg` and `Σg·(x − mean)` and applies another linear map. These
//! are those reductions and maps: sums accumulate in f64 over 8 independent lanes (so long
//! reductions keep their precision), widened by AVX2 where the CPU has it; the maps are single
//! fused passes under [`vectorized`], with the CPU's widest vectors. Every closure that the maps
//! run owns its scalars (`move`): a loop that writes through one slice while reading a captured
//! scalar by reference stays scalar, as LLVM must reload the scalar after every store.

#[cfg(target_arch = "x86_64")]
mod avx2;

use super::map::vectorized;
use std::mem::MaybeUninit;

const LANES: usize = 8;

/// `N` sums in one pass over the triples of equally long slices that `planes` yields: sum `k`
/// adds `term(k, a_i, b_i, c_i)` widened to f64, squared after widening where `square[k]` (exact:
/// the product of two f32 fits an f64). Lane `l` adds elements `l, l + 8, …` of each triple in
/// turn, the 0–7 left over at each triple's end go to a separate tail sum, and the lanes are
/// added in order before the tail, so the AVX2 path and the portable one give the same bits.
#[inline(always)]
fn sums<'a, const N: usize>(
    planes: impl Iterator<Item = [&'a [f32]; 3]>,
    square: [bool; N],
    term: impl Fn(usize, f32, f32, f32) -> f32 + Copy,
) -> [f64; N] {
    #[cfg(target_arch = "x86_64")]
    if super::has_avx2(pulp::Arch::new()) {
        // SAFETY: AVX2 is available.
        return unsafe { avx2::lane_sums(planes, square, term) };
    }
    vectorized(
        #[inline(always)]
        move || lane_sums(planes, square, term, add_widened),
    )
}

/// [`sums`] with `add(lanes, terms, square)` adding one chunk's eight terms to the lanes. The
/// widening is the caller's: LLVM, left to widen on its own, packs the sums of one element
/// into a vector instead of eight elements' (scalar code, 3–4× slower).
#[inline(always)]
fn lane_sums<'a, const N: usize>(
    planes: impl Iterator<Item = [&'a [f32]; 3]>,
    square: [bool; N],
    term: impl Fn(usize, f32, f32, f32) -> f32,
    add: impl Fn(&mut [f64; LANES], [f32; LANES], bool),
) -> [f64; N] {
    let mut acc = [[0.0f64; LANES]; N];
    let mut tail = [0.0f64; N];
    for [a, b, c] in planes {
        debug_assert!(a.len() == b.len() && a.len() == c.len());
        let (ca, cb, cc) = (
            a.chunks_exact(LANES),
            b.chunks_exact(LANES),
            c.chunks_exact(LANES),
        );
        let (ta, tb, tc) = (ca.remainder(), cb.remainder(), cc.remainder());
        for ((a, b), c) in ca.zip(cb).zip(cc) {
            for (k, acc) in acc.iter_mut().enumerate() {
                add(
                    acc,
                    std::array::from_fn(|l| term(k, a[l], b[l], c[l])),
                    square[k],
                );
            }
        }
        for (k, tail) in tail.iter_mut().enumerate() {
            for i in 0..ta.len() {
                *tail += widened(term(k, ta[i], tb[i], tc[i]), square[k]);
            }
        }
    }
    std::array::from_fn(|k| acc[k].iter().sum::<f64>() + tail[k])
}

/// `t` in f64, squared if `square`.
#[inline(always)]
fn widened(t: f32, square: bool) -> f64 {
    let t = t as f64;
    if square {
        t * t
    } else {
        t
    }
}

/// The portable `add` of [`lane_sums`].
#[inline(always)]
fn add_widened(lanes: &mut [f64; LANES], terms: [f32; LANES], square: bool) {
    for (s, &t) in lanes.iter_mut().zip(&terms) {
        *s += widened(t, square);
    }
}

/// Σx over all the slices `planes` yields.
pub fn sum<'a>(planes: impl Iterator<Item = &'a [f32]>) -> f64 {
    let [s] = sums(planes.map(|x| [x; 3]), [false], |_, x, _, _| x);
    s
}

/// Σ(x − mean)².
pub fn centered_sq_sum(x: &[f32], mean: f32) -> f64 {
    let [s] = sums(std::iter::once([x; 3]), [true], move |_, x, _, _| x - mean);
    s
}

/// (Σx, Σx²) over all the slices `planes` yields, in one pass.
pub fn sum_and_squares<'a>(planes: impl Iterator<Item = &'a [f32]>) -> (f64, f64) {
    let [s, sq] = sums(planes.map(|x| [x; 3]), [false, true], |_, x, _, _| x);
    (s, sq)
}

/// (Σg, Σg·(x − mean)) over the pairs of equally long slices `x` and `g` that `planes` yields,
/// in one pass.
pub fn grad_sums<'a>(
    planes: impl Iterator<Item = (&'a [f32], &'a [f32])>,
    mean: f32,
) -> (f64, f64) {
    let [sg, sgx] = sums(
        planes.map(|(x, g)| [x, g, g]),
        [false, false],
        move |k, x, g, _| {
            if k == 0 {
                g
            } else {
                g * (x - mean)
            }
        },
    );
    (sg, sgx)
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
        move |x| (a * x + b).max(0.0),
    )
}

/// `y = f(x)` elementwise, vectorised, writing every element of `y`.
#[inline(always)]
fn map_into(x: &[f32], y: &mut [MaybeUninit<f32>], f: impl Fn(f32) -> f32) {
    debug_assert_eq!(x.len(), y.len());
    vectorized(
        #[inline(always)]
        move || {
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
        move || {
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
        move || {
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
        move || {
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
        move || {
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
    let planes = std::iter::once([x, g, w]);
    let [sum_dyhat, sum_dyhat_xc] = sums(planes, [false, false], move |k, x, g, w| {
        if k == 0 {
            g * w
        } else {
            g * w * (x - mean)
        }
    });
    let (_, b, c) = batch_stats_grad_coefs(1.0, mean, invstd, sum_dyhat, sum_dyhat_xc, x.len());
    vectorized(
        #[inline(always)]
        move || {
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
        move || {
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
            assert!((sum(std::iter::once(&x[..])) - naive).abs() < 1e-9);
            let m = 0.25;
            let naive_sq: f64 = x.iter().map(|&v| ((v - m) as f64).powi(2)).sum();
            assert!((centered_sq_sum(&x, m) - naive_sq).abs() < 1e-9);
            let (s1, s2) = sum_and_squares([&x[..]].into_iter());
            let naive_x2: f64 = x.iter().map(|&v| (v as f64).powi(2)).sum();
            assert!((s1 - naive).abs() < 1e-9 && (s2 - naive_x2).abs() < 1e-9);
            let (sg, sgx) = grad_sums([(&x[..], &g[..])].into_iter(), m);
            let naive_sgx: f64 = x.iter().zip(&g).map(|(&v, &g)| (g * (v - m)) as f64).sum();
            assert!((sg - g.iter().map(|&v| v as f64).sum::<f64>()).abs() < 1e-9);
            assert!((sgx - naive_sgx).abs() < 1e-6);
        }
    }

    #[test]
    fn sums_over_several_planes_add_every_plane_and_its_tail() {
        let x: Vec<f32> = (0..61).map(|i| (i as f32 * 0.29).sin() + 0.5).collect();
        let g: Vec<f32> = (0..61).map(|i| (i as f32 * 0.13).cos()).collect();
        // Planes of 13, 8, 0 and 40 values: tails of 5, 0, 0 and 0.
        let cuts = [0, 13, 21, 21, 61];
        let planes = || cuts.windows(2).map(|w| &x[w[0]..w[1]]);
        let (s, sq) = sum_and_squares(planes());
        assert!((s - x.iter().map(|&v| v as f64).sum::<f64>()).abs() < 1e-9);
        assert!((sq - x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>()).abs() < 1e-9);
        let pairs = cuts.windows(2).map(|w| (&x[w[0]..w[1]], &g[w[0]..w[1]]));
        let (sg, sgx) = grad_sums(pairs, 0.5);
        assert!((sg - g.iter().map(|&v| v as f64).sum::<f64>()).abs() < 1e-9);
        let naive_sgx: f64 = x
            .iter()
            .zip(&g)
            .map(|(&v, &g)| (g * (v - 0.5)) as f64)
            .sum();
        assert!((sgx - naive_sgx).abs() < 1e-6);
    }

    /// The AVX2 widening must give the portable path's bits: same lanes, same order.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_sums_equal_the_portable_sums_bit_for_bit() {
        if !crate::kernels::has_avx2(pulp::Arch::new()) {
            return;
        }
        let x: Vec<f32> = (0..1000)
            .map(|i| (i as f32 * 0.71).sin() * 3.0 + 1.0)
            .collect();
        let g: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.05).cos()).collect();
        for cuts in [
            vec![0, 0],
            vec![0, 7],
            vec![0, 999],
            vec![0, 100, 108, 517, 1000],
        ] {
            let planes = || {
                cuts.windows(2)
                    .map(|w| [&x[w[0]..w[1]], &g[w[0]..w[1]], &g[w[0]..w[1]]])
            };
            let term = |k: usize, x: f32, g: f32, _: f32| if k == 0 { x } else { g * (x - 0.3) };
            for square in [[false, false], [true, false], [false, true]] {
                let portable = lane_sums(planes(), square, term, add_widened);
                // SAFETY: AVX2 is available (checked above).
                let fast = unsafe { avx2::lane_sums(planes(), square, term) };
                assert_eq!(
                    portable.map(f64::to_bits),
                    fast.map(f64::to_bits),
                    "cuts {cuts:?}, square {square:?}"
                );
            }
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
        let (sd, sdx) = grad_sums([(&x[..], &dyhat[..])].into_iter(), mean);
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
