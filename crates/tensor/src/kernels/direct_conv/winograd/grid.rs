//! The 2×2 output tiles of an F(2×2, 3×3) convolution over its padded input, and the input
//! transform `V = Bᵀ d B` of the 4×4 patches under them: what the forward pass and the weight
//! gradient share.

use super::TILES_PER_BLOCK;
use crate::kernels::conv_geometry::Conv2dGeometry;
use crate::kernels::direct_conv::padded::padded_extended;
use pulp::{Simd, WithSimd};
use std::borrow::Cow;
use std::ops::Range;

/// A run of consecutive tiles within one tile row: (image, tile row, first tile column, first
/// tile relative to the range it came from, tiles).
pub(super) type Run = (usize, usize, usize, usize, usize);

/// The tiles of one convolution, numbered across rows and images.
pub(super) struct TileGrid {
    pub c_in: usize,
    /// Padded input plane, one more zero row and column for odd output sizes: rows and row length.
    pub plane: (usize, usize),
    pub out_size: [usize; 2],
    /// Tiles per output row and column, and in the batch.
    pub tiles_y: usize,
    pub tiles_x: usize,
    pub tiles: usize,
}

impl TileGrid {
    pub fn new(g: &Conv2dGeometry) -> TileGrid {
        let out_size = g.out_size();
        let (tiles_y, tiles_x) = (out_size[0].div_ceil(2), out_size[1].div_ceil(2));
        let [extra_y, extra_x] = Self::extra(g);
        TileGrid {
            c_in: g.c_in,
            plane: (
                g.size[0] + 2 * g.padding[0] + extra_y,
                g.size[1] + 2 * g.padding[1] + extra_x,
            ),
            out_size,
            tiles_y,
            tiles_x,
            tiles: g.n * tiles_y * tiles_x,
        }
    }

    /// Zero rows and columns past the padding: odd output sizes leave the last tile half outside.
    fn extra(g: &Conv2dGeometry) -> [usize; 2] {
        g.out_size().map(|s| s % 2)
    }

    /// `input` padded as the tiles read it.
    pub fn padded_input<'a>(g: &Conv2dGeometry, input: &'a [f32]) -> Cow<'a, [f32]> {
        padded_extended(g, input, Self::extra(g))
    }

    /// The runs of consecutive tiles of `tiles` within one tile row.
    pub fn runs(&self, tiles: Range<usize>) -> impl Iterator<Item = Run> + '_ {
        let per_image = self.tiles_y * self.tiles_x;
        let mut q = tiles.start;
        std::iter::from_fn(move || {
            (q < tiles.end).then(|| {
                let (img, r) = (q / per_image, q % per_image);
                let (ty, tx) = (r / self.tiles_x, r % self.tiles_x);
                let run = (self.tiles_x - tx).min(tiles.end - q);
                let local = q - tiles.start;
                q += run;
                (img, ty, tx, local, run)
            })
        })
    }

    /// `V[ξ·xi_stride + i·channel_stride + l] = (Bᵀ d B)[ξ]` of the 4×4 patch `d` of input
    /// channel `c0 + i` under tile `l` of `tiles` (at most [`TILES_PER_BLOCK`] of them), from the
    /// padded input `x`, with the instruction set of `arch`.
    #[allow(clippy::too_many_arguments)]
    pub fn transform_input(
        &self,
        arch: pulp::Arch,
        x: &[f32],
        tiles: Range<usize>,
        c0: usize,
        channels: usize,
        v: &mut [f32],
        (xi_stride, channel_stride): (usize, usize),
    ) {
        assert!(tiles.len() <= TILES_PER_BLOCK, "winograd: too many tiles");
        arch.dispatch(InputTransform {
            avx2: avx2::usable(arch),
            grid: self,
            x,
            tiles,
            c0,
            channels,
            v,
            strides: (xi_stride, channel_stride),
        });
    }

    /// [`TileGrid::transform_input`]: with AVX2, runs of four tiles or more eight or four at a
    /// time in registers, shorter ones by [`TileGrid::transform_tiles`].
    #[inline(always)]
    fn transform_input_inline(&self, t: InputTransform<'_>) {
        let (ph, pw) = self.plane;
        let (xi_stride, channel_stride) = t.strides;
        for (img, ty, tx, local, run) in self.runs(t.tiles.clone()) {
            let done = if t.avx2 { avx2::covered(run) } else { 0 };
            for i in 0..t.channels {
                let base = ((img * self.c_in + t.c0 + i) * ph + 2 * ty) * pw + 2 * tx;
                let dst = i * channel_stride + local;
                if done > 0 {
                    let (last_x, last_v) =
                        (base + 3 * pw + 2 * done + 2, dst + 15 * xi_stride + done);
                    assert!(
                        last_x <= t.x.len() && last_v <= t.v.len(),
                        "winograd: patch out of range"
                    );
                    // SAFETY: `avx2` is only set where AVX2 runs; the patch rows and outputs of
                    // the tiles it takes lie before the last ones checked above.
                    unsafe {
                        avx2::transform_run(
                            t.x.as_ptr().add(base),
                            pw,
                            done,
                            t.v.as_mut_ptr().add(dst),
                            xi_stride,
                        )
                    };
                }
                let v = &mut t.v[dst + done..];
                self.transform_tiles(&t.x[base + 2 * done..], run - done, v, xi_stride);
            }
        }
    }

    /// The transform of `run` consecutive tiles of one channel, whose patches start at `x`
    /// (rows `pw` apart), into `v[ξ·xi_stride + l]`, written as loops over the run so that they
    /// vectorise: each patch row is split into its even and odd columns first, then `d B` and
    /// `Bᵀ (d B)` are element-wise over the run.
    #[inline(always)]
    fn transform_tiles(&self, x: &[f32], run: usize, v: &mut [f32], xi_stride: usize) {
        if run == 0 {
            return;
        }
        let pw = self.plane.1;
        // `d B` of the patch rows, `[row][column of the transform][tile]`.
        let mut db = [[[0.0f32; TILES_PER_BLOCK]; 4]; 4];
        let mut even = [0.0f32; TILES_PER_BLOCK + 1];
        let mut odd = [0.0f32; TILES_PER_BLOCK + 1];
        for (k, row_db) in db.iter_mut().enumerate() {
            let row = &x[k * pw..][..2 * run + 2];
            for ((pair, e), o) in row.chunks_exact(2).zip(&mut even).zip(&mut odd) {
                (*e, *o) = (pair[0], pair[1]);
            }
            let [b0, b1, b2, b3] = row_db;
            for l in 0..run {
                b0[l] = even[l] - even[l + 1];
                b1[l] = odd[l] + even[l + 1];
                b2[l] = even[l + 1] - odd[l];
                b3[l] = odd[l] - odd[l + 1];
            }
        }
        for q in 0..4 {
            let [r0, r1, r2, r3] = [&db[0][q], &db[1][q], &db[2][q], &db[3][q]];
            let rows: [(&[f32; TILES_PER_BLOCK], &[f32; TILES_PER_BLOCK], f32); 4] = [
                (r0, r2, -1.0),
                (r1, r2, 1.0),
                (r2, r1, -1.0),
                (r1, r3, -1.0),
            ];
            for (k, (a, b, sign)) in rows.into_iter().enumerate() {
                let dst = &mut v[(4 * k + q) * xi_stride..];
                for ((d, &a), &b) in dst[..run].iter_mut().zip(a).zip(b) {
                    *d = a + sign * b;
                }
            }
        }
    }
}

/// [`TileGrid::transform_input`]'s arguments, under `pulp`'s dispatch so that its loops
/// vectorise with the instruction set of the run.
struct InputTransform<'a> {
    /// Whether AVX2 runs, so that whole chunks of tiles take the register transform.
    avx2: bool,
    grid: &'a TileGrid,
    x: &'a [f32],
    tiles: Range<usize>,
    c0: usize,
    channels: usize,
    v: &'a mut [f32],
    strides: (usize, usize),
}

impl WithSimd for InputTransform<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        self.grid.transform_input_inline(self);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    pub fn usable(arch: pulp::Arch) -> bool {
        crate::kernels::has_avx2(arch)
    }

    /// Tiles of a run of `run` that [`transform_run`] takes: all of them from four on.
    pub fn covered(run: usize) -> usize {
        if run >= 4 {
            run
        } else {
            0
        }
    }

    /// `v[ξ·xi_stride + l] = (Bᵀ d B)[ξ]` of the first `tiles` (a [`covered`] count, so at least
    /// four) consecutive tiles whose 4×4 patches start at `x`, rows `pw` apart.
    ///
    /// # Safety
    /// AVX2 must be available, the four rows of `2·tiles + 2` values readable and the 16 outputs
    /// of `tiles` writable.
    #[target_feature(enable = "avx2")]
    pub unsafe fn transform_run(
        x: *const f32,
        pw: usize,
        tiles: usize,
        v: *mut f32,
        stride: usize,
    ) {
        let mut l = 0;
        while l + 8 <= tiles {
            eight(x.add(2 * l), pw, v.add(l), stride);
            l += 8;
        }
        if l + 4 <= tiles {
            four(x.add(2 * l), pw, v.add(l), stride);
            l += 4;
        }
        // The last one to three tiles by a vector of four ending with them (the tiles it shares
        // with the one before get the same values again).
        if l < tiles {
            let l = tiles - 4;
            four(x.add(2 * l), pw, v.add(l), stride);
        }
    }

    /// Eight tiles, one 256-bit vector.
    #[target_feature(enable = "avx2")]
    unsafe fn eight(x: *const f32, pw: usize, v: *mut f32, stride: usize) {
        // (even, odd) columns of 16 consecutive values, in order.
        let split = |at: *const f32| {
            let (a, b) = (_mm256_loadu_ps(at), _mm256_loadu_ps(at.add(8)));
            let order =
                |v: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(v)));
            (
                order(_mm256_shuffle_ps::<0x88>(a, b)),
                order(_mm256_shuffle_ps::<0xDD>(a, b)),
            )
        };
        let rows = std::array::from_fn(|k| {
            let row = x.add(k * pw);
            let ((even, odd), (even1, odd1)) = (split(row), split(row.add(2)));
            [even, odd, even1, odd1]
        });
        let (add, sub) = (|a, b| _mm256_add_ps(a, b), |a, b| _mm256_sub_ps(a, b));
        combine(rows, add, sub, |xi, o| {
            _mm256_storeu_ps(v.add(xi * stride), o)
        });
    }

    /// Four tiles, one 128-bit vector.
    #[target_feature(enable = "avx2")]
    unsafe fn four(x: *const f32, pw: usize, v: *mut f32, stride: usize) {
        let split = |at: *const f32| {
            let (a, b) = (_mm_loadu_ps(at), _mm_loadu_ps(at.add(4)));
            (_mm_shuffle_ps::<0x88>(a, b), _mm_shuffle_ps::<0xDD>(a, b))
        };
        let rows = std::array::from_fn(|k| {
            let row = x.add(k * pw);
            let ((even, odd), (even1, odd1)) = (split(row), split(row.add(2)));
            [even, odd, even1, odd1]
        });
        let (add, sub) = (|a, b| _mm_add_ps(a, b), |a, b| _mm_sub_ps(a, b));
        combine(rows, add, sub, |xi, o| _mm_storeu_ps(v.add(xi * stride), o));
    }

    /// `store(ξ, (Bᵀ d B)[ξ])` from each patch row's (even columns, odd columns, even columns
    /// one tile on, odd columns one tile on), as vectors over tiles. Compiled for AVX2 like its
    /// callers, so that their closures inline into it.
    ///
    /// # Safety
    /// AVX2 must be available.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn combine<V: Copy>(
        rows: [[V; 4]; 4],
        add: impl Fn(V, V) -> V,
        sub: impl Fn(V, V) -> V,
        mut store: impl FnMut(usize, V),
    ) {
        // `d B` of each patch row: [row][column of the transform].
        let [d0, d1, d2, d3] = rows.map(|[even, odd, even1, odd1]| {
            [
                sub(even, even1),
                add(odd, even1),
                sub(even1, odd),
                sub(odd, odd1),
            ]
        });
        let columns = d0.into_iter().zip(d1).zip(d2).zip(d3);
        for (q, (((r0, r1), r2), r3)) in columns.enumerate() {
            let out = [sub(r0, r2), add(r1, r2), sub(r2, r1), sub(r1, r3)];
            for (k, o) in out.into_iter().enumerate() {
                store(4 * k + q, o);
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod avx2 {
    pub fn usable(_: pulp::Arch) -> bool {
        false
    }

    pub fn covered(_: usize) -> usize {
        0
    }

    pub unsafe fn transform_run(_: *const f32, _: usize, _: usize, _: *mut f32, _: usize) {
        unreachable!("no AVX2 off x86")
    }
}
