//! Single-precision matrix multiply: a thin safe wrapper over the `gemm` crate.
//!
//! All matrices are row-major slices. `C (m×n) = op(A) (m×k) · op(B) (k×n)`, optionally added to
//! what `C` already holds. `op(X)` is `X` or `Xᵀ`; a transposed operand is described by the shape
//! it is *stored* in (`Aᵀ` stored as `k×m`), and transposition is expressed through strides, so
//! nothing is copied here. The `gemm` crate (built with `x86-v4`) picks its AVX-512 kernels at
//! run time and falls back to AVX2/SSE on CPUs without them.

use gemm::Parallelism;

/// `C = op(A)·op(B)` (or `C += op(A)·op(B)` when `accumulate`), contiguous row-major operands.
///
/// Buffers:
/// - `a`: `[m, k]` row-major, or `[k, m]` when `a_trans` (then `op(A) = Aᵀ`)
/// - `b`: `[k, n]` row-major, or `[n, k]` when `b_trans`
/// - `c`: `[m, n]` row-major; overwritten, or accumulated into when `accumulate`
///
/// `parallel` lets the `gemm` crate split the product over the rayon pool; pass `false` when the
/// caller already runs one product per thread (e.g. parallel over the batch).
///
/// # Panics
/// If a slice is shorter than its shape requires.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_trans: bool,
    b: &[f32],
    b_trans: bool,
    c: &mut [f32],
    accumulate: bool,
    parallel: bool,
) {
    let lda = if a_trans { m } else { k };
    let ldb = if b_trans { k } else { n };
    sgemm_strided(
        m, n, k, a, lda, a_trans, b, ldb, b_trans, c, n, accumulate, parallel,
    );
}

/// Minimum slice length for a row-major matrix of `rows × cols` with row stride `ld`.
#[inline]
fn required_len(rows: usize, cols: usize, ld: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * ld + cols
    }
}

/// [`sgemm`] with explicit row strides ("leading dimensions"), for sub-matrices of larger
/// buffers (e.g. a block of columns of a convolution's output).
///
/// Buffers (row-major, row `i` of a stored matrix starts at `i * ld`):
/// - `a`: stored `[m, k]` with row stride `lda ≥ k`, or `[k, m]` with `lda ≥ m` when `a_trans`
/// - `b`: stored `[k, n]` with row stride `ldb ≥ n`, or `[n, k]` with `ldb ≥ k` when `b_trans`
/// - `c`: `[m, n]` with row stride `ldc ≥ n`; elements between rows are left untouched
///
/// # Panics
/// If a stride is smaller than its row length or a slice is shorter than its shape requires.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_strided(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    a_trans: bool,
    b: &[f32],
    ldb: usize,
    b_trans: bool,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
    parallel: bool,
) {
    let (a_rows, a_cols) = if a_trans { (k, m) } else { (m, k) };
    let (b_rows, b_cols) = if b_trans { (n, k) } else { (k, n) };
    // These checks make the unsafe call below sound; they are O(1).
    assert!(a_rows <= 1 || lda >= a_cols, "sgemm: lda {lda} < {a_cols}");
    assert!(b_rows <= 1 || ldb >= b_cols, "sgemm: ldb {ldb} < {b_cols}");
    assert!(m <= 1 || ldc >= n, "sgemm: ldc {ldc} < {n}");
    assert!(
        a.len() >= required_len(a_rows, a_cols, lda),
        "sgemm: a too short"
    );
    assert!(
        b.len() >= required_len(b_rows, b_cols, ldb),
        "sgemm: b too short"
    );
    assert!(c.len() >= required_len(m, n, ldc), "sgemm: c too short");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for row in c.chunks_mut(ldc).take(m) {
                row[..n].fill(0.0);
            }
        }
        return;
    }
    // (row stride, column stride) of op(A) and op(B) as the gemm crate wants them.
    let (a_rs, a_cs) = if a_trans { (1, lda) } else { (lda, 1) };
    let (b_rs, b_cs) = if b_trans { (1, ldb) } else { (ldb, 1) };
    let parallelism = if parallel && rayon::current_num_threads() > 1 {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    };
    // SAFETY: the asserts above guarantee every element the product touches lies inside its
    // slice: op(A)(i, p) is at i*a_rs + p*a_cs ≤ (a_rows-1)*lda + a_cols-1 < a.len(), likewise for
    // B and C. `c` is a unique borrow, so it cannot alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            ldc as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Naive triple loop, `f64` accumulation: the reference [`sgemm`] is tested against.
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sgemm_reference(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_trans: bool,
    b: &[f32],
    b_trans: bool,
    c: &mut [f32],
    accumulate: bool,
) {
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f64;
            for p in 0..k {
                let av = if a_trans { a[p * m + i] } else { a[i * k + p] };
                let bv = if b_trans { b[j * k + p] } else { b[p * n + j] };
                s += av as f64 * bv as f64;
            }
            let prev = if accumulate { c[i * n + j] as f64 } else { 0.0 };
            c[i * n + j] = (prev + s) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_util::{assert_close, random_vec};

    #[test]
    fn sgemm_matches_reference_on_odd_sizes() {
        let sizes = [1usize, 2, 7, 16, 33, 65];
        let mut seed = 1;
        for &m in &sizes {
            for &n in &sizes {
                for &k in &[1usize, 7, 33, 130] {
                    for flags in 0..16u32 {
                        let (at, bt) = (flags & 1 != 0, flags & 2 != 0);
                        let (acc, par) = (flags & 4 != 0, flags & 8 != 0);
                        seed += 1;
                        let a = random_vec(m * k, seed);
                        let b = random_vec(k * n, seed + 1000);
                        let c0 = random_vec(m * n, seed + 2000);
                        let (mut c, mut r) = (c0.clone(), c0);
                        sgemm(m, n, k, &a, at, &b, bt, &mut c, acc, par);
                        sgemm_reference(m, n, k, &a, at, &b, bt, &mut r, acc);
                        assert_close(&c, &r, 1e-4, 1e-4, &format!("{m}x{n}x{k} {flags}"));
                    }
                }
            }
        }
    }

    #[test]
    fn sgemm_k_zero_and_empty() {
        let mut c = vec![5.0f32; 6];
        sgemm(2, 3, 0, &[], false, &[], false, &mut c, true, false);
        assert_eq!(c, vec![5.0; 6]);
        sgemm(2, 3, 0, &[], false, &[], false, &mut c, false, false);
        assert_eq!(c, vec![0.0; 6]);
        sgemm(0, 3, 4, &[], false, &[0.0; 12], false, &mut [], false, true);
    }

    #[test]
    fn sgemm_strided_touches_only_its_block() {
        // C is a 3×4 block inside a 5×9 buffer; A and B are blocks inside wider buffers.
        let (m, n, k) = (3, 4, 5);
        let a_buf = random_vec(m * 8, 7); // lda 8
        let b_buf = random_vec(k * 6, 8); // ldb 6
        let mut c_buf = [9.0f32; 5 * 9];
        sgemm_strided(
            m,
            n,
            k,
            &a_buf,
            8,
            false,
            &b_buf,
            6,
            false,
            &mut c_buf[2..],
            9,
            false,
            false,
        );
        for i in 0..m {
            for j in 0..n {
                let s: f32 = (0..k).map(|p| a_buf[i * 8 + p] * b_buf[p * 6 + j]).sum();
                assert!((c_buf[2 + i * 9 + j] - s).abs() < 1e-5);
            }
            for j in n..9 {
                assert_eq!(c_buf[2 + i * 9 + j], 9.0);
            }
        }
        assert_eq!(c_buf[0], 9.0);
        assert_eq!(c_buf[1], 9.0);
    }
}
