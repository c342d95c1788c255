//! The normalisations' f64 sums with AVX2: each chunk's eight f32 terms are widened to two
//! vectors of four f64 and added to the lanes (squared first where asked), so the sums run at
//! the speed of the loads.

use super::LANES;
use std::arch::x86_64::*;

/// [`super::lane_sums`] with the widening in AVX2 registers: the same lanes, in the same order.
///
/// # Safety
/// AVX2 must be available.
#[target_feature(enable = "avx2")]
pub unsafe fn lane_sums<'a, const N: usize>(
    planes: impl Iterator<Item = [&'a [f32]; 3]>,
    square: [bool; N],
    term: impl Fn(usize, f32, f32, f32) -> f32,
) -> [f64; N] {
    super::lane_sums(
        planes,
        square,
        term,
        #[inline(always)]
        |lanes: &mut [f64; LANES], terms: [f32; LANES], square: bool| {
            // SAFETY: AVX2 is available (this function's contract); `lanes` and `terms` hold 8
            // values each, read and written unaligned.
            unsafe {
                let t = _mm256_loadu_ps(terms.as_ptr());
                let halves = [
                    _mm256_cvtps_pd(_mm256_castps256_ps128(t)),
                    _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(t)),
                ];
                for (h, v) in halves.into_iter().enumerate() {
                    let v = if square { _mm256_mul_pd(v, v) } else { v };
                    let p = lanes.as_mut_ptr().add(4 * h);
                    _mm256_storeu_pd(p, _mm256_add_pd(_mm256_loadu_pd(p), v));
                }
            }
        },
    )
}
