//! The weight gradient of a convolution that F(2×2, 3×3) runs, by the same algorithm backwards.
//! The forward pass computes `M[ξ] = V[ξ] · U[ξ]` per position ξ of the transformed patch
//! (tiles × input channels times input channels × output channels), `Y = Aᵀ M A` and
//! `U = G g Gᵀ`; so `dM = A dY Aᵀ` carries each 2×2 tile of the output gradient back to a 4×4
//! one, `dU[ξ] = Σ_tiles V[ξ]ᵀ · dM[ξ]`, and `dg = Gᵀ dU G`. Sixteen products per tile and
//! channel pair instead of the direct kernel's 36, each a long reduction over the batch's tiles.
//!
//! The products run on the direct kernel's register tile: a row is an input channel (of V), the
//! columns are output channels (of dM, packed pixel-major in blocks as the panels), the reduction
//! runs over a pass's tiles. Each thread sums its share of the batch's tiles into its own dU; the
//! shares are added and transformed back at the end.

use super::grid::TileGrid;
use super::{TILES_PER_BLOCK, XI};
use crate::kernels::conv_geometry::Conv2dGeometry;
use crate::kernels::direct_conv::epilogue::transpose;
use crate::kernels::direct_conv::tile::{lanes, Tile, ROWS};
use crate::kernels::direct_conv::weight_gradient::{add_into, check_lengths};
use crate::kernels::with_scratch;
use pulp::{Simd, WithSimd};
use rayon::prelude::*;
use std::ops::Range;

/// Tiles reduced over per pass of the register tiles: whole input-transform blocks.
const TILES_PER_PASS: usize = 8 * TILES_PER_BLOCK;

/// Whether the weight gradient of `g` runs by F(2×2, 3×3) rather than the direct tile: where it
/// measured faster (`kernels::bench::winograd_against_the_direct_tile`), i.e. where F(2×2, 3×3)
/// applies with 64 channels or more (32 on 16×16 at batch 128 took 1.13–1.40× the direct tile's
/// time), every thread gets a pass of tiles or more (128 channels on one 28×28 image: 1.05×), and
/// either the output rows hold four tiles or more (the input transform's register path) or there
/// are enough channels that the transforms weigh little (64 channels: 0.88–0.92× on 8×8 at batch
/// 128, 0.78× on 32×32 at batch 64).
pub fn weight_gradient_applies(g: &Conv2dGeometry) -> bool {
    let grid = TileGrid::new(g);
    let channels = g.c_in.min(g.c_out);
    super::applies(g)
        && channels >= 64
        && grid.tiles >= rayon::current_num_threads() * TILES_PER_PASS
        && (grid.tiles_x >= 4 || channels >= 128)
}

/// `grad_weight` (`[c_out, c_in, 3, 3]`, overwritten) of the convolution `g`, which
/// F(2×2, 3×3) applies to ([`super::applies`]), from its `input` and `grad_out`, summed over
/// the batch, computed with the instruction set of `arch`.
///
/// # Panics
/// If a buffer does not match `g`, or F(2×2, 3×3) does not apply to `g`.
pub fn winograd_backward_weight(
    g: &Conv2dGeometry,
    input: &[f32],
    grad_out: &[f32],
    grad_weight: &mut [f32],
    arch: pulp::Arch,
) {
    let op = "winograd_backward_weight";
    assert!(super::applies(g), "{op}: not a Winograd convolution: {g:?}");
    check_lengths(op, g, input, grad_out, grad_weight);
    let plan = Plan::new(g, arch);
    let x = TileGrid::padded_input(g, input);
    let tiles = plan.grid.tiles;
    let shares = rayon::current_num_threads().clamp(1, tiles.div_ceil(TILES_PER_BLOCK).max(1));
    let mut sums: Vec<Vec<f32>> = (0..shares)
        .into_par_iter()
        .map(|share| {
            let mut du = vec![0.0; plan.du_len()];
            let end = (share + 1) * tiles / shares;
            with_scratch(plan.scratch_len(), |scratch| {
                for first in (share * tiles / shares..end).step_by(TILES_PER_PASS) {
                    let pass = first..(first + TILES_PER_PASS).min(end);
                    plan.accumulate(&x, grad_out, pass, &mut du, scratch);
                }
            });
            du
        })
        .collect();
    let (du, others) = sums.split_first_mut().expect("at least one share");
    for other in others {
        add_into(du, other);
    }
    plan.transform_back(du, grad_weight);
}

/// Sizes and layouts of one weight gradient.
struct Plan {
    grid: TileGrid,
    c_out: usize,
    /// Output channels per block (two vectors), blocks, and dU's row length (`blocks·width`).
    width: usize,
    blocks: usize,
    row_len: usize,
    /// dU's rows per position: the input channels, rounded up to whole register tiles.
    du_rows: usize,
    /// `0, 1, …`: the offsets of a pass's tiles in a row of V.
    tile_offsets: Vec<usize>,
    arch: pulp::Arch,
}

impl Plan {
    fn new(g: &Conv2dGeometry, arch: pulp::Arch) -> Plan {
        let width = 2 * lanes(arch);
        let blocks = g.c_out.div_ceil(width);
        Plan {
            grid: TileGrid::new(g),
            c_out: g.c_out,
            width,
            blocks,
            row_len: blocks * width,
            du_rows: g.c_in.next_multiple_of(ROWS),
            tile_offsets: (0..TILES_PER_PASS).collect(),
            arch,
        }
    }

    /// dU: `[ξ][input channel][output channel]`, rows of `row_len`.
    fn du_len(&self) -> usize {
        XI * self.du_rows * self.row_len
    }

    /// V of a pass: `[ξ][input channel][tile]`.
    fn v_len(&self) -> usize {
        XI * self.grid.c_in * TILES_PER_PASS
    }

    /// dM of a pass: `[ξ][block][tile][width]`.
    fn dm_len(&self) -> usize {
        XI * self.blocks * TILES_PER_PASS * self.width
    }

    /// Scratch of a share: V, dM, and two output-gradient rows of a run, pixel-major.
    fn scratch_len(&self) -> usize {
        self.v_len() + self.dm_len() + 2 * 2 * TILES_PER_PASS * self.width
    }

    /// Adds `Σ_{tiles} V[ξ]ᵀ · dM[ξ]` to `du`.
    fn accumulate(
        &self,
        x: &[f32],
        grad_out: &[f32],
        tiles: Range<usize>,
        du: &mut [f32],
        scratch: &mut [f32],
    ) {
        let (v, rest) = scratch.split_at_mut(self.v_len());
        let (dm, rows) = rest.split_at_mut(self.dm_len());
        let (c_in, count) = (self.grid.c_in, tiles.len());
        for part in tiles.clone().step_by(TILES_PER_BLOCK) {
            let part = part..(part + TILES_PER_BLOCK).min(tiles.end);
            let at = part.start - tiles.start;
            let strides = (c_in * TILES_PER_PASS, TILES_PER_PASS);
            let grid = &self.grid;
            grid.transform_input(self.arch, x, part, 0, c_in, &mut v[at..], strides);
        }
        self.transform_grad_out(grad_out, tiles, dm, rows);
        let panel_len = TILES_PER_PASS * self.width;
        for xi in 0..XI {
            let v_xi = &v[xi * c_in * TILES_PER_PASS..][..c_in * TILES_PER_PASS];
            for b in 0..self.blocks {
                let panel = &dm[(xi * self.blocks + b) * panel_len..][..count * self.width];
                for c0 in (0..c_in).step_by(ROWS) {
                    let tile: Tile = Tile {
                        x: v_xi,
                        // Rows past the last channel repeat it into dU's spare rows.
                        rows: std::array::from_fn(|r| (c0 + r).min(c_in - 1) * TILES_PER_PASS),
                        outer: &[0],
                        inner: &self.tile_offsets[..count],
                        panel,
                        acc: &mut du[(xi * self.du_rows + c0) * self.row_len + b * self.width..],
                        acc_stride: self.row_len,
                        accumulate: true,
                    };
                    // SAFETY: the tile offsets are ascending, and the single outer one too.
                    unsafe { tile.run(self.arch) };
                }
            }
        }
    }

    /// `dM = A dY Aᵀ` of every tile of `tiles` into `dm` (`[ξ][block][tile][width]`), through
    /// `rows`, which takes a run's two output-gradient rows pixel-major (zeros past the output
    /// and the channels).
    fn transform_grad_out(
        &self,
        grad_out: &[f32],
        tiles: Range<usize>,
        dm: &mut [f32],
        rows: &mut [f32],
    ) {
        let [oh, ow] = self.grid.out_size;
        let row_floats = 2 * TILES_PER_PASS * self.width;
        for b in 0..self.blocks {
            let first = b * self.width;
            let channels = self.width.min(self.c_out - first);
            for (img, ty, tx, local, run) in self.grid.runs(tiles.clone()) {
                let pixels = (2 * run).min(ow - 2 * tx);
                let partial = channels < self.width || pixels < 2 * run;
                for a in 0..2 {
                    let oy = 2 * ty + a;
                    let dst = &mut rows[a * row_floats..][..2 * run * self.width];
                    // Only the run's own lines are read back, so only they need zeros.
                    if partial || oy >= oh {
                        dst.fill(0.0);
                    }
                    if oy < oh {
                        let src = &grad_out[((img * self.c_out + first) * oh + oy) * ow + 2 * tx..];
                        // SAFETY: `dst` holds `2·run ≥ pixels` lines of `width ≥ channels`.
                        unsafe {
                            transpose(
                                self.arch,
                                src,
                                oh * ow,
                                channels,
                                pixels,
                                dst.as_mut_ptr(),
                                self.width,
                            )
                        };
                    }
                }
                self.arch.dispatch(GradOutTransform {
                    plan: self,
                    rows,
                    dm,
                    block: b,
                    tiles: local..local + run,
                });
            }
        }
    }

    /// The [`Plan::transform_grad_out`] of one run: `dm[ξ][block][l]` from its 2×2 pixels in
    /// `rows`, a vector of channels at a time.
    #[inline(always)]
    fn transform_run<S: Simd>(
        &self,
        simd: S,
        rows: &[f32],
        dm: &mut [f32],
        block: usize,
        tiles: Range<usize>,
    ) {
        let (w, lanes) = (self.width, S::F32_LANES);
        let row_floats = 2 * TILES_PER_PASS * w;
        let panel_len = TILES_PER_PASS * w;
        let zero = simd.splat_f32s(0.0);
        // Row `k` of A (4×2): (1, 0), (1, 1), (1, −1), (0, −1).
        let line = |a: S::f32s, b: S::f32s| {
            [
                a,
                simd.add_f32s(a, b),
                simd.sub_f32s(a, b),
                simd.sub_f32s(zero, b),
            ]
        };
        assert!(
            rows.len() >= row_floats + 2 * tiles.len() * w,
            "winograd: rows too short"
        );
        let last = ((XI - 1) * self.blocks + block) * panel_len + tiles.end * w;
        assert!(dm.len() >= last, "winograd: dM too short");
        for (i, l) in tiles.enumerate() {
            for j in (0..w).step_by(lanes) {
                // SAFETY: the asserts above keep every pixel of the run and every (ξ, tile) of
                // the block inside `rows` and `dm`.
                unsafe {
                    let load = |a: usize, b: usize| {
                        let at = a * row_floats + (2 * i + b) * w + j;
                        rows.as_ptr().add(at).cast::<S::f32s>().read_unaligned()
                    };
                    let top = line(load(0, 0), load(0, 1));
                    let bottom = line(load(1, 0), load(1, 1));
                    for q in 0..4 {
                        for (p, &v) in line(top[q], bottom[q]).iter().enumerate() {
                            let at = ((4 * p + q) * self.blocks + block) * panel_len + l * w + j;
                            dm.as_mut_ptr().add(at).cast::<S::f32s>().write_unaligned(v);
                        }
                    }
                }
            }
        }
    }

    /// `grad_weight[co][ci] = Gᵀ dU[·][ci][co] G`.
    fn transform_back(&self, du: &[f32], grad_weight: &mut [f32]) {
        let c_in = self.grid.c_in;
        // Gᵀ X for the four values of a line: rows (x0 + (x1 + x2)/2, (x1 − x2)/2, (x1 + x2)/2 + x3).
        let g_t = |x: [f32; 4]| {
            let (s, d) = (0.5 * (x[1] + x[2]), 0.5 * (x[1] - x[2]));
            [x[0] + s, d, s + x[3]]
        };
        grad_weight
            .par_chunks_mut(c_in * 9)
            .enumerate()
            .for_each(|(co, dw)| {
                for (ci, dw) in dw.chunks_exact_mut(9).enumerate() {
                    let at = |xi: usize| du[(xi * self.du_rows + ci) * self.row_len + co];
                    let columns: [[f32; 3]; 4] =
                        std::array::from_fn(|q| g_t(std::array::from_fn(|p| at(4 * p + q))));
                    for r in 0..3 {
                        let row = g_t(std::array::from_fn(|q| columns[q][r]));
                        dw[3 * r..3 * r + 3].copy_from_slice(&row);
                    }
                }
            });
    }
}

/// [`Plan::transform_run`] under `pulp`'s dispatch.
struct GradOutTransform<'a> {
    plan: &'a Plan,
    rows: &'a [f32],
    dm: &'a mut [f32],
    block: usize,
    tiles: Range<usize>,
}

impl WithSimd for GradOutTransform<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        self.plan
            .transform_run(simd, self.rows, self.dm, self.block, self.tiles);
    }
}
