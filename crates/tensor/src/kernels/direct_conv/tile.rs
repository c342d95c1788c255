//! The register tile of the direct convolution: `ROWS` rows × two vectors of columns (or one, for
//! a last block of output channels that one vector holds), accumulated over a two-level loop of
//! offsets straight from the (padded) input — each step broadcasts one input value per row and
//! multiplies it with the vectors of a packed panel, so no column matrix is ever built.
//!
//! In the forward pass a row is an output pixel, the columns are output channels, the outer loop
//! runs over input channels and the inner one over kernel taps. In the weight gradient a row is an
//! (input channel, tap) pair, the columns are output channels of the output gradient, the outer
//! loop runs over output rows and the inner one over the pixels of a row.
//!
//! Written once over `pulp`'s generic `Simd`: the same code compiles to AVX-512 (16 lanes), AVX2 +
//! FMA (8 lanes) or scalar code, picked at run time by the caller's `pulp::Arch`.

use pulp::{Simd, WithSimd};

/// Output pixels per tile: with two vectors of channels, 12 accumulators (AVX2 has 16 registers).
pub(super) const ROWS: usize = 6;

/// One tile's work: `acc[r][c] (+)= Σ_{i, t} x[rows[r] + outer[i] + inner[t]] · panel[i][t][c]`
/// for `c` in the tile's `V·lanes` columns.
pub(super) struct Tile<'a, const V: usize = 2> {
    /// The input; every offset below is relative to its start.
    pub x: &'a [f32],
    /// Offset of each row's first value.
    pub rows: [usize; ROWS],
    /// Offsets of the outer loop's steps.
    pub outer: &'a [usize],
    /// Offsets of the inner loop's steps.
    pub inner: &'a [usize],
    /// `[outer][inner.len()][V·lanes]`.
    pub panel: &'a [f32],
    /// Accumulators `[ROWS]` rows of `V·lanes`, `acc_stride` apart.
    pub acc: &'a mut [f32],
    pub acc_stride: usize,
    /// Add to what `acc` holds (else overwrite it).
    pub accumulate: bool,
}

/// Floats per vector of the instruction set `arch` dispatches to.
pub(super) fn lanes(arch: pulp::Arch) -> usize {
    struct Lanes;
    impl WithSimd for Lanes {
        type Output = usize;
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> usize {
            S::F32_LANES
        }
    }
    arch.dispatch(Lanes)
}

impl<const V: usize> Tile<'_, V> {
    /// Runs the tile with the instruction set of `arch`.
    ///
    /// # Safety
    /// `outer` and `inner` must be ascending (the bounds check looks at their last offsets only,
    /// to stay O(1) per tile).
    ///
    /// # Panics
    /// If the furthest offset reaches past `x`, or `panel`/`acc` are too short for the tile.
    pub unsafe fn run(self, arch: pulp::Arch) {
        let width = V * lanes(arch);
        debug_assert!(
            self.outer.is_sorted() && self.inner.is_sorted(),
            "direct conv tile: offsets not ascending"
        );
        if let (Some(&o), Some(&i)) = (self.outer.last(), self.inner.last()) {
            assert!(
                self.rows.iter().all(|&p| p + o + i < self.x.len()),
                "direct conv tile: input offset out of range"
            );
        }
        let steps = self.outer.len() * self.inner.len();
        assert!(
            self.panel.len() >= steps * width,
            "direct conv tile: panel too short"
        );
        assert!(
            self.acc.len() >= (ROWS - 1) * self.acc_stride + width,
            "direct conv tile: accumulators too short"
        );
        arch.dispatch(self);
    }
}

/// Columns of the last of the blocks of `width` that hold `channels`: one vector when that holds
/// what is left (so its tile does half the work), else `width`.
pub(super) fn last_block_width(channels: usize, width: usize) -> usize {
    let in_last = channels - channels.div_ceil(width).saturating_sub(1) * width;
    if in_last <= width / 2 {
        width / 2
    } else {
        width
    }
}

impl<'a> Tile<'a> {
    /// Runs the tile over a block of output channels `block_width` wide: two vectors, or one for
    /// a narrow last block ([`last_block_width`]).
    ///
    /// # Safety
    /// As [`Tile::run`].
    pub unsafe fn run_block(self, block_width: usize, arch: pulp::Arch) {
        if block_width < 2 * lanes(arch) {
            self.narrow().run(arch)
        } else {
            self.run(arch)
        }
    }

    /// The same tile over one vector of columns.
    fn narrow(self) -> Tile<'a, 1> {
        Tile {
            x: self.x,
            rows: self.rows,
            outer: self.outer,
            inner: self.inner,
            panel: self.panel,
            acc: self.acc,
            acc_stride: self.acc_stride,
            accumulate: self.accumulate,
        }
    }
}

impl<const V: usize> WithSimd for Tile<'_, V> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let lanes = S::F32_LANES;
        let acc_at = |r: usize, v: usize| r * self.acc_stride + v * lanes;
        let mut acc = [[simd.splat_f32s(0.0); V]; ROWS];
        let acc_ptr = self.acc.as_mut_ptr();
        if self.accumulate {
            for (r, row) in acc.iter_mut().enumerate() {
                for (v, a) in row.iter_mut().enumerate() {
                    // SAFETY: `run` checked that `acc` holds `ROWS` rows of `V` vectors.
                    *a = unsafe { acc_ptr.add(acc_at(r, v)).cast::<S::f32s>().read_unaligned() };
                }
            }
        }
        let x = self.x.as_ptr();
        let mut w = self.panel.as_ptr();
        for &base in self.outer {
            for &step in self.inner {
                // SAFETY: `run` checked that every row's furthest offset (its callers guarantee
                // ascending offsets) lies inside `x`, and that the panel holds
                // `outer.len()·inner.len()` steps of `V` vectors.
                unsafe {
                    let weights: [S::f32s; V] = std::array::from_fn(|v| {
                        w.add(v * lanes).cast::<S::f32s>().read_unaligned()
                    });
                    w = w.add(V * lanes);
                    for (row, &p) in acc.iter_mut().zip(&self.rows) {
                        let b = simd.splat_f32s(*x.add(p + base + step));
                        for (a, &wv) in row.iter_mut().zip(&weights) {
                            *a = simd.mul_add_f32s(b, wv, *a);
                        }
                    }
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (v, &a) in row.iter().enumerate() {
                // SAFETY: as for the loads above.
                unsafe {
                    acc_ptr
                        .add(acc_at(r, v))
                        .cast::<S::f32s>()
                        .write_unaligned(a)
                };
            }
        }
    }
}
