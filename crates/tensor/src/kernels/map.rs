//! Element-wise maps over `f32` slices into fresh buffers, split over the rayon pool when the
//! buffer is large (activations of a whole batch) and run inline when it is small.
//!
//! Results are independent of the thread count: every element is computed on its own. The loops
//! run under [`vectorized`], so they use the CPU's widest vectors (AVX2 or AVX-512 where present)
//! although the crate is compiled for baseline x86-64.

use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Elements per rayon job; buffers under two jobs' worth run on the calling thread.
const PAR_MIN: usize = 1 << 15;

/// `out[i] = f(x[i])`.
pub fn map(x: &[f32], f: impl Fn(f32) -> f32 + Sync + Send) -> Vec<f32> {
    fill_new(
        x.len(),
        #[inline(always)]
        |start, out| write_mapped(out, [&x[start..]], |[v]| f(v)),
    )
}

/// `out[i] = f(a[i], b[i])`.
///
/// # Panics
/// If the two slices differ in length.
pub fn map2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync + Send) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "map2: lengths differ");
    fill_new(
        a.len(),
        #[inline(always)]
        |start, out| write_mapped(out, [&a[start..], &b[start..]], |[a, b]| f(a, b)),
    )
}

/// `x[i] = f(x[i])` in place.
pub fn map_in_place(x: &mut [f32], f: impl Fn(f32) -> f32 + Sync + Send) {
    let apply = |chunk: &mut [f32]| {
        vectorized(
            #[inline(always)]
            || chunk.iter_mut().for_each(|v| *v = f(*v)),
        )
    };
    if x.len() < 2 * PAR_MIN || rayon::current_num_threads() == 1 {
        apply(x);
    } else {
        x.par_chunks_mut(PAR_MIN).for_each(apply);
    }
}

/// `x[i] = f(x[i], y[i])` in place.
///
/// # Panics
/// If the two slices differ in length.
pub fn zip_in_place(x: &mut [f32], y: &[f32], f: impl Fn(f32, f32) -> f32 + Sync + Send) {
    assert_eq!(x.len(), y.len(), "zip_in_place: lengths differ");
    let apply = |(x, y): (&mut [f32], &[f32])| {
        vectorized(
            #[inline(always)]
            || x.iter_mut().zip(y).for_each(|(a, &b)| *a = f(*a, b)),
        );
    };
    if x.len() < 2 * PAR_MIN || rayon::current_num_threads() == 1 {
        apply((x, y));
    } else {
        x.par_chunks_mut(PAR_MIN)
            .zip(y.par_chunks(PAR_MIN))
            .for_each(apply);
    }
}

/// Sum of all elements, accumulated in f64 over fixed-size chunks (in parallel when large) that are
/// then added in order, so the result does not depend on the thread count.
pub fn sum(x: &[f32]) -> f64 {
    let chunk_sum = |c: &[f32]| c.iter().map(|&v| v as f64).sum::<f64>();
    if x.len() < 2 * PAR_MIN {
        return x.chunks(PAR_MIN).map(chunk_sum).sum();
    }
    let partial: Vec<f64> = x.par_chunks(PAR_MIN).map(chunk_sum).collect();
    partial.iter().sum()
}

/// `out[i] = f(a[i], b[i], c[i])`.
///
/// # Panics
/// If the three slices differ in length.
pub fn map3(
    a: &[f32],
    b: &[f32],
    c: &[f32],
    f: impl Fn(f32, f32, f32) -> f32 + Sync + Send,
) -> Vec<f32> {
    assert!(
        a.len() == b.len() && b.len() == c.len(),
        "map3: lengths differ"
    );
    fill_new(
        a.len(),
        #[inline(always)]
        |start, out| {
            write_mapped(out, [&a[start..], &b[start..], &c[start..]], |[a, b, c]| {
                f(a, b, c)
            })
        },
    )
}

/// `out[i] = f([x[i] for x in inputs])` for every element of `out` (each input at least as long).
/// The values of a block go to an array on the stack before `out`: stored straight to `out`, a
/// value that reads a scalar the caller's closure captured by reference (`|v| v * s`) is reloaded
/// after every store, as the store might have changed it, and the loop stays scalar.
#[inline(always)]
fn write_mapped<const K: usize>(
    out: &mut [MaybeUninit<f32>],
    inputs: [&[f32]; K],
    f: impl Fn([f32; K]) -> f32,
) {
    const BLOCK: usize = 64;
    let n = out.len();
    let full = n / BLOCK * BLOCK;
    for (b, out) in out[..full].chunks_exact_mut(BLOCK).enumerate() {
        let block: [&[f32; BLOCK]; K] = std::array::from_fn(|k| {
            inputs[k][b * BLOCK..][..BLOCK]
                .try_into()
                .expect("a block is BLOCK long")
        });
        let values: [f32; BLOCK] = std::array::from_fn(|i| f(std::array::from_fn(|k| block[k][i])));
        for (o, v) in out.iter_mut().zip(values) {
            o.write(v);
        }
    }
    for (i, o) in out.iter_mut().enumerate().skip(full) {
        o.write(f(std::array::from_fn(|k| inputs[k][i])));
    }
}

/// A new buffer of `len` elements whose chunks `fill(start, chunk)` must write completely; chunks
/// run in parallel when the buffer is large. Writing into the spare capacity skips the zero-fill
/// a `vec![0.0; len]` would cost, and plain slice loops (unlike a rayon `collect`) vectorise.
fn fill_new(len: usize, fill: impl Fn(usize, &mut [MaybeUninit<f32>]) + Sync + Send) -> Vec<f32> {
    let mut out = Vec::with_capacity(len);
    let spare = &mut out.spare_capacity_mut()[..len];
    let job = |(i, chunk): (usize, &mut [MaybeUninit<f32>])| {
        vectorized(
            #[inline(always)]
            || fill(i * PAR_MIN, chunk),
        );
    };
    if len < 2 * PAR_MIN || rayon::current_num_threads() == 1 {
        spare.chunks_mut(PAR_MIN).enumerate().for_each(job);
    } else {
        spare.par_chunks_mut(PAR_MIN).enumerate().for_each(job);
    }
    // SAFETY: the chunks cover `0..len` and `fill` writes every element of its chunk (both
    // callers above write each `out[i]` exactly once).
    unsafe { out.set_len(len) };
    out
}

/// Runs `body` compiled for the best instruction set of this CPU (picked at run time by `pulp`):
/// element loops inlined into it vectorise with AVX2 + FMA or AVX-512 instead of SSE2. Mark the
/// closure `#[inline(always)]` (and any closure it calls with a loop): code that is not inlined
/// keeps the baseline instruction set. Results are unchanged: Rust never fuses a multiply and an
/// add on its own.
#[inline(always)]
pub(crate) fn vectorized<R>(body: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_util::random_vec;

    #[test]
    fn maps_agree_with_sequential_loops_small_and_large() {
        for n in [0, 1, 7, PAR_MIN - 1, 3 * PAR_MIN + 5] {
            let (a, b, c) = (random_vec(n, 1), random_vec(n, 2), random_vec(n, 3));
            let expect: Vec<f32> = a.iter().map(|v| v.max(0.0) * 2.0).collect();
            assert_eq!(map(&a, |v| v.max(0.0) * 2.0), expect);
            let mut in_place = a.clone();
            map_in_place(&mut in_place, |v| v.max(0.0) * 2.0);
            assert_eq!(in_place, expect);
            let expect: Vec<f32> = (0..n).map(|i| a[i] * b[i] - c[i]).collect();
            assert_eq!(map3(&a, &b, &c, |x, y, z| x * y - z), expect);
            let expect: Vec<f32> = (0..n).map(|i| a[i] - b[i]).collect();
            assert_eq!(map2(&a, &b, |x, y| x - y), expect);
        }
    }

    #[test]
    fn sum_matches_a_sequential_sum_and_ignores_the_thread_count() {
        for n in [0, 1, 7, PAR_MIN - 1, 5 * PAR_MIN + 3] {
            let x = random_vec(n, 4);
            let sequential: f64 = x.iter().map(|&v| v as f64).sum();
            let total = sum(&x);
            assert!(
                (total - sequential).abs() <= 1e-9 * (1.0 + sequential.abs()),
                "n = {n}"
            );
            let one_thread = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            assert_eq!(
                one_thread.install(|| sum(&x)).to_bits(),
                total.to_bits(),
                "n = {n}"
            );
        }
    }
}
