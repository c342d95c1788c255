//! Single-precision matrix multiply: a thin safe wrapper over the `gemm` crate whose call sites
//! name their operands.
//!
//! `C (m×n) = op(A) (m×k) · op(B) (k×n)`, optionally added to what `C` already holds. Every
//! matrix is a row-major block of a slice ([`MatRef`], [`MatMut`]); `op(X)` is `X` or `Xᵀ`, a
//! transposed operand being described by the shape it is *stored* in (`Aᵀ` stored as `k×m`) and
//! expressed through strides, so nothing is copied here. The `gemm` crate (built with `x86-v4`)
//! picks its AVX-512 kernels at run time and falls back to AVX2/SSE on CPUs without them.
//!
//! ```
//! use convkit_tensor::kernels::gemm::{Gemm, MatMut, MatRef};
//! let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
//! let b = [1.0, 0.0, 0.0, 1.0, 5.0, 6.0]; // stored [3, 2]: used as its transpose [2, 3]
//! let mut c = [0.0; 6];
//! Gemm {
//!     a: MatRef::new(&a, 2, 2),
//!     b: MatRef::new(&b, 3, 2).t(),
//!     c: MatMut::new(&mut c, 2, 3),
//!     accumulate: false,
//!     parallel: false,
//! }
//! .run();
//! assert_eq!(c, [1.0, 2.0, 17.0, 3.0, 4.0, 39.0]);
//! ```

use gemm::Parallelism;
use rayon::prelude::*;
use std::ops::Range;

/// A read-only operand: the `rows × cols` matrix stored row-major in `data` with row `i` starting
/// at `i·row_stride`, used as is or (`transposed`) as its transpose.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    /// Rows of the stored matrix.
    pub rows: usize,
    /// Columns of the stored matrix.
    pub cols: usize,
    /// Elements between the starts of consecutive rows (≥ `cols`).
    pub row_stride: usize,
    /// Take part in the product as the transpose of the stored matrix.
    pub transposed: bool,
}

impl<'a> MatRef<'a> {
    /// The contiguous `rows × cols` matrix at the start of `data`.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        MatRef {
            data,
            rows,
            cols,
            row_stride: cols,
            transposed: false,
        }
    }

    /// The same matrix with rows `row_stride` elements apart (a block of a wider matrix).
    pub fn with_row_stride(self, row_stride: usize) -> Self {
        MatRef { row_stride, ..self }
    }

    /// The transpose of this operand (no copy).
    pub fn t(self) -> Self {
        MatRef {
            transposed: !self.transposed,
            ..self
        }
    }

    /// (rows, columns) as the operand takes part in the product.
    fn op_shape(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// (row stride, column stride) of the operand as it takes part in the product.
    fn op_strides(&self) -> (isize, isize) {
        let ld = self.row_stride as isize;
        if self.transposed {
            (1, ld)
        } else {
            (ld, 1)
        }
    }
}

/// The output: the `rows × cols` matrix stored row-major in `data` with row `i` starting at
/// `i·row_stride`; elements between rows are left untouched.
#[derive(Debug)]
pub struct MatMut<'a> {
    pub data: &'a mut [f32],
    pub rows: usize,
    pub cols: usize,
    /// Elements between the starts of consecutive rows (≥ `cols`).
    pub row_stride: usize,
}

impl<'a> MatMut<'a> {
    /// The contiguous `rows × cols` matrix at the start of `data`.
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        MatMut {
            data,
            rows,
            cols,
            row_stride: cols,
        }
    }

    /// The same matrix with rows `row_stride` elements apart (a block of a wider matrix).
    pub fn with_row_stride(self, row_stride: usize) -> Self {
        MatMut { row_stride, ..self }
    }
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

/// Checks that a stored matrix lies inside its slice with rows that do not overlap (`what` names
/// it); this is what makes the unsafe call in [`Gemm::run`] sound.
fn assert_fits(what: &str, len: usize, rows: usize, cols: usize, ld: usize) {
    assert!(
        rows <= 1 || ld >= cols,
        "gemm: {what} row stride {ld} < {cols}"
    );
    assert!(
        len >= required_len(rows, cols, ld),
        "gemm: {what} slice too short ({len} for {rows}×{cols}, row stride {ld})"
    );
}

/// One product `c = op(a)·op(b)` (or `c += op(a)·op(b)` when `accumulate`).
///
/// `parallel` splits the product over the rayon pool, one block of C per thread; pass `false` when
/// the caller already runs one product per thread (e.g. parallel over the batch).
#[derive(Debug)]
pub struct Gemm<'a> {
    pub a: MatRef<'a>,
    pub b: MatRef<'a>,
    pub c: MatMut<'a>,
    pub accumulate: bool,
    pub parallel: bool,
}

impl Gemm<'_> {
    /// Runs the product.
    ///
    /// # Panics
    /// If the shapes do not chain (`op(a)` is `m×k`, `op(b)` `k×n`, `c` `m×n`), a row stride is
    /// smaller than its row, or a slice is shorter than its matrix.
    pub fn run(self) {
        let Gemm {
            a,
            b,
            c,
            accumulate,
            parallel,
        } = self;
        let ((m, k), (kb, n)) = (a.op_shape(), b.op_shape());
        assert!(
            k == kb && (m, n) == (c.rows, c.cols),
            "gemm: shapes do not chain: op(a) {m}×{k} · op(b) {kb}×{n} into c {}×{}",
            c.rows,
            c.cols
        );
        assert_fits("a", a.data.len(), a.rows, a.cols, a.row_stride);
        assert_fits("b", b.data.len(), b.rows, b.cols, b.row_stride);
        assert_fits("c", c.data.len(), m, n, c.row_stride);
        if m == 0 || n == 0 {
            return;
        }
        if k == 0 {
            if !accumulate {
                for row in c.data.chunks_mut(c.row_stride).take(m) {
                    row[..n].fill(0.0);
                }
            }
            return;
        }
        let ((a_rs, a_cs), (b_rs, b_cs)) = (a.op_strides(), b.op_strides());
        let c_rs = c.row_stride;
        let c_ptr = SharedC(c.data.as_mut_ptr());
        // The product of rows × columns of C, on the calling thread.
        let block = |rows: Range<usize>, cols: Range<usize>| {
            // SAFETY: the checks above guarantee every element the product touches lies inside
            // its slice: op(A)(i, p) is at i*a_rs + p*a_cs ≤ (rows-1)*row_stride + cols-1 <
            // data.len() of the stored matrix, likewise for B and C, and a block only offsets
            // into them. `c.data` is a unique borrow, so it cannot alias `a` or `b`; concurrent
            // blocks write disjoint rows or columns of C.
            unsafe {
                gemm::gemm(
                    rows.len(),
                    cols.len(),
                    k,
                    c_ptr.get().add(rows.start * c_rs + cols.start),
                    1,
                    c_rs as isize,
                    accumulate,
                    a.data.as_ptr().offset(rows.start as isize * a_rs),
                    a_cs,
                    a_rs,
                    b.data.as_ptr().offset(cols.start as isize * b_cs),
                    b_cs,
                    b_rs,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
            }
        };
        let threads = if parallel {
            rayon::current_num_threads()
        } else {
            1
        };
        if threads == 1 {
            return block(0..m, 0..n);
        }
        // One block of whole rows or columns (along the longer side) per thread: the crate's own
        // split scaled poorly on the small products of a training step (LeNet's fc1 input
        // gradient: 57–134 GFLOP/s against 85–170 this way, on 2 threads).
        let along_cols = n >= m;
        let len = if along_cols { n } else { m };
        let part = len.div_ceil(threads).next_multiple_of(SPLIT_ALIGN);
        (0..len.div_ceil(part)).into_par_iter().for_each(|p| {
            let range = p * part..((p + 1) * part).min(len);
            if along_cols {
                block(0..m, range)
            } else {
                block(range, 0..n)
            }
        });
    }
}

/// Rows or columns of C per parallel block are a multiple of this, so blocks split few of the
/// kernels' register tiles (16 rows by 6 or 4 columns under AVX2) and stay near equal in size.
const SPLIT_ALIGN: usize = 16;

/// C's base pointer, shared by blocks that write disjoint elements.
#[derive(Clone, Copy)]
struct SharedC(*mut f32);
// SAFETY: only used for writes to disjoint blocks of C (see `Gemm::run`).
unsafe impl Sync for SharedC {}
impl SharedC {
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Naive triple loop, `f64` accumulation: the reference [`Gemm`] is tested against.
#[cfg(test)]
fn gemm_reference(a: MatRef, b: MatRef, c: &mut MatMut, accumulate: bool) {
    let at = |m: &MatRef, i: usize, j: usize| {
        let (r, c) = if m.transposed { (j, i) } else { (i, j) };
        m.data[r * m.row_stride + c] as f64
    };
    let ((rows, k), (_, cols)) = (a.op_shape(), b.op_shape());
    for i in 0..rows {
        for j in 0..cols {
            let s: f64 = (0..k).map(|p| at(&a, i, p) * at(&b, p, j)).sum();
            let v = &mut c.data[i * c.row_stride + j];
            let prev = if accumulate { *v as f64 } else { 0.0 };
            *v = (prev + s) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_util::{assert_close, random_vec};

    /// The stored operand of `op(X)` of shape `rows × cols`.
    fn operand(data: &[f32], rows: usize, cols: usize, transposed: bool) -> MatRef<'_> {
        if transposed {
            MatRef::new(data, cols, rows).t()
        } else {
            MatRef::new(data, rows, cols)
        }
    }

    #[test]
    fn gemm_matches_reference_on_odd_sizes() {
        matches_reference(&[1, 2, 7, 16, 33, 65], &[1, 7, 33, 130]);
    }

    /// Three threads cut C into three blocks of rows or columns, the last one short.
    #[test]
    fn parallel_blocks_match_reference() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        pool.install(|| matches_reference(&[5, 40, 100], &[3, 70]));
    }

    /// Every product of `m × k` and `k × n` for `m`, `n` in `sizes` and `k` in `depths`, both
    /// operands as stored or transposed, overwriting or accumulating, serial or parallel.
    fn matches_reference(sizes: &[usize], depths: &[usize]) {
        let mut seed = 1;
        for &m in sizes {
            for &n in sizes {
                for &k in depths {
                    for flags in 0..16u32 {
                        let (at, bt) = (flags & 1 != 0, flags & 2 != 0);
                        let (accumulate, parallel) = (flags & 4 != 0, flags & 8 != 0);
                        seed += 1;
                        let a = random_vec(m * k, seed);
                        let b = random_vec(k * n, seed + 1000);
                        let c0 = random_vec(m * n, seed + 2000);
                        let (mut c, mut r) = (c0.clone(), c0);
                        let (a, b) = (operand(&a, m, k, at), operand(&b, k, n, bt));
                        Gemm {
                            a,
                            b,
                            c: MatMut::new(&mut c, m, n),
                            accumulate,
                            parallel,
                        }
                        .run();
                        gemm_reference(a, b, &mut MatMut::new(&mut r, m, n), accumulate);
                        assert_close(&c, &r, 1e-4, 1e-4, &format!("{m}x{n}x{k} {flags}"));
                    }
                }
            }
        }
    }

    #[test]
    fn gemm_k_zero_and_empty() {
        let mut c = vec![5.0f32; 6];
        let product = |c: &mut [f32], accumulate| {
            Gemm {
                a: MatRef::new(&[], 2, 0),
                b: MatRef::new(&[], 0, 3),
                c: MatMut::new(c, 2, 3),
                accumulate,
                parallel: false,
            }
            .run()
        };
        product(&mut c, true);
        assert_eq!(c, vec![5.0; 6]);
        product(&mut c, false);
        assert_eq!(c, vec![0.0; 6]);
        Gemm {
            a: MatRef::new(&[], 0, 4),
            b: MatRef::new(&[0.0; 12], 4, 3),
            c: MatMut::new(&mut [], 0, 3),
            accumulate: false,
            parallel: true,
        }
        .run();
    }

    #[test]
    fn strided_gemm_touches_only_its_block() {
        // C is a 3×4 block inside a 5×9 buffer; A and B are blocks inside wider buffers.
        let (m, n, k) = (3, 4, 5);
        let a_buf = random_vec(m * 8, 7); // row stride 8
        let b_buf = random_vec(k * 6, 8); // row stride 6
        let mut c_buf = [9.0f32; 5 * 9];
        Gemm {
            a: MatRef::new(&a_buf, m, k).with_row_stride(8),
            b: MatRef::new(&b_buf, k, n).with_row_stride(6),
            c: MatMut::new(&mut c_buf[2..], m, n).with_row_stride(9),
            accumulate: false,
            parallel: false,
        }
        .run();
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

    #[test]
    #[should_panic(expected = "shapes do not chain")]
    fn mismatched_shapes_are_refused() {
        let (a, b, mut c) = ([0.0; 6], [0.0; 6], [0.0; 4]);
        Gemm {
            a: MatRef::new(&a, 2, 3),
            b: MatRef::new(&b, 2, 3),
            c: MatMut::new(&mut c, 2, 2),
            accumulate: false,
            parallel: false,
        }
        .run();
    }
}
