//! Element-wise maps over `f32` slices into fresh buffers, split over the rayon pool when the
//! buffer is large (activations of a whole batch) and run inline when it is small.
//!
//! Results are independent of the thread count: every element is computed on its own.

use rayon::prelude::*;

/// Elements below which a map runs on the calling thread; also the least work per rayon job.
const PAR_MIN: usize = 1 << 15;

/// `out[i] = f(x[i])`.
pub fn map(x: &[f32], f: impl Fn(f32) -> f32 + Sync + Send) -> Vec<f32> {
    if x.len() < PAR_MIN || rayon::current_num_threads() == 1 {
        return x.iter().map(|&v| f(v)).collect();
    }
    x.par_iter().with_min_len(PAR_MIN).map(|&v| f(v)).collect()
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
    if a.len() < PAR_MIN || rayon::current_num_threads() == 1 {
        return a
            .iter()
            .zip(b)
            .zip(c)
            .map(|((&a, &b), &c)| f(a, b, c))
            .collect();
    }
    (a, b, c)
        .into_par_iter()
        .with_min_len(PAR_MIN)
        .map(|(&a, &b, &c)| f(a, b, c))
        .collect()
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
            let expect: Vec<f32> = (0..n).map(|i| a[i] * b[i] - c[i]).collect();
            assert_eq!(map3(&a, &b, &c, |x, y, z| x * y - z), expect);
        }
    }
}
