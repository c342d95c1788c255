//! Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray 2016) for dense 3×3 convolutions at
//! stride 1: each 2×2 block of output pixels (a tile) comes from the 4×4 input patch under it
//! through `Y = Aᵀ [Σ_ci (G g Gᵀ) ⊙ (Bᵀ d B)] A`, so the 36 multiplications per tile and channel
//! pair of a direct convolution become 16, taken as 16 independent products
//! `M[ξ] = V[ξ] · U[ξ]` (tiles × input channels times input channels × output channels), one per
//! position ξ of the 4×4 transformed patch. Those products run on the direct kernel's register
//! tile; the output transform hands its rows to the same epilogue (bias, activation, transpose).
//!
//! Jobs are blocks of tiles (across rows and images) × groups of output channels; a job
//! transforms its patches one input-channel slice at a time, so V, M and the filter panels stay
//! in cache.

mod grid;
mod weight_gradient;

pub(super) use weight_gradient::weight_gradient_applies;
pub use weight_gradient::winograd_backward_weight;

use super::epilogue::store_channel_major;
use super::filter::PackedFilter;
use super::tile::{Tile, ROWS};
use super::SharedOut;
use crate::kernels::conv_geometry::Conv2dGeometry;
use crate::kernels::with_scratch;
use crate::ops::activation::Activation;
use grid::TileGrid;
use pulp::{Simd, WithSimd};
use rayon::prelude::*;

/// Positions of a transformed 4×4 patch.
pub(super) const XI: usize = 16;
/// Tiles per job, a multiple of the register tile's rows.
pub(super) const TILES_PER_BLOCK: usize = 4 * ROWS;
/// Input channels transformed at a time.
const MAX_CHANNEL_SLICE: usize = 128;
/// Output channels of a job, at most.
const MAX_GROUP_CHANNELS: usize = 128;
/// Channels below which the transforms cost more than the multiplications saved: at ResNet-20's
/// 16, 32 and 64 channels (batch 128) F(2×2, 3×3) took 1.24–1.54×, 0.90–0.91× and 0.70× the
/// direct tile's time.
pub(super) const MIN_CHANNELS: usize = 32;
/// Bytes of the largest transformed filter (16 floats per channel pair). Every block of tiles
/// reads all of it, so once it outgrows the shared last-level cache its traffic costs more than
/// the multiplications saved: 512 → 512 channels (16 MiB) ran 1.03–1.66× the direct tile's time
/// on a 32 MiB-L3 EPYC, 256 → 256 (4 MiB) 0.72–0.88×.
const MAX_TRANSFORMED_FILTER_BYTES: usize = 8 << 20;

/// Whether F(2×2, 3×3) runs `g`: a dense 3×3 convolution, stride 1, no dilation, with enough
/// channels on both sides and a transformed filter that stays in cache.
pub(super) fn applies(g: &Conv2dGeometry) -> bool {
    g.kernel == [3, 3]
        && g.stride == [1, 1]
        && g.dilation == [1, 1]
        && g.groups == 1
        && g.c_in >= MIN_CHANNELS
        && g.c_out >= MIN_CHANNELS
        && XI * std::mem::size_of::<f32>() * g.c_in * g.c_out <= MAX_TRANSFORMED_FILTER_BYTES
}

/// `U = G g Gᵀ` of every (output, input) channel pair of a 3×3 `filter`, laid out
/// `[ξ][block][c_in][width]` so that a position's panel for a block and a channel slice is
/// contiguous, as the tile reads it.
pub(super) fn transform_filter(filter: &PackedFilter) -> Vec<f32> {
    let [_, c_in, taps] = filter.dims();
    assert_eq!(taps, 9, "winograd: the filter is not 3×3");
    let (width, blocks) = (filter.width(), filter.blocks());
    let mut u = vec![0.0; XI * blocks * c_in * width];
    for b in 0..blocks {
        // A narrow last block's missing lanes stay zero: U is always `width` wide.
        let (packed, packed_width) = (filter.panel(b, 0, c_in), filter.block_width(b));
        for ci in 0..c_in {
            for j in 0..packed_width {
                let g = |r: usize, c: usize| packed[(ci * 9 + 3 * r + c) * packed_width + j];
                // G g: the rows of g combined, then the same for the columns.
                let rows: [[f32; 3]; 4] = std::array::from_fn(|p| {
                    std::array::from_fn(|c| match p {
                        0 => g(0, c),
                        1 => 0.5 * (g(0, c) + g(1, c) + g(2, c)),
                        2 => 0.5 * (g(0, c) - g(1, c) + g(2, c)),
                        _ => g(2, c),
                    })
                });
                for (p, row) in rows.iter().enumerate() {
                    let cols = [
                        row[0],
                        0.5 * (row[0] + row[1] + row[2]),
                        0.5 * (row[0] - row[1] + row[2]),
                        row[2],
                    ];
                    for (q, v) in cols.into_iter().enumerate() {
                        u[(((4 * p + q) * blocks + b) * c_in + ci) * width + j] = v;
                    }
                }
            }
        }
    }
    u
}

/// `out = activation(conv(input, filter) + bias)` by F(2×2, 3×3), overwriting `out`
/// (`[n, c_out, oh, ow]`). The caller has checked the buffers against `g` and that F(2×2, 3×3)
/// [`applies`].
pub(super) fn forward(
    g: &Conv2dGeometry,
    input: &[f32],
    filter: &PackedFilter,
    bias: Option<&[f32]>,
    activation: Option<Activation>,
    out: *mut f32,
) {
    let plan = Plan::new(g, filter);
    let x = TileGrid::padded_input(g, input);
    let u = filter.winograd();
    let out = SharedOut(out);
    (0..plan.jobs()).into_par_iter().for_each(|job| {
        let (block, group) = (job / plan.groups, job % plan.groups);
        with_scratch(plan.scratch_len(), |scratch| {
            plan.run(&x, u, block, group, scratch);
            // SAFETY: jobs write disjoint (tile block × channel group) parts of `out`, which
            // the caller checked holds `g.output_len()` values.
            unsafe { plan.write_out(scratch, block, group, bias, activation, &out) };
        });
    });
}

/// The work split and offsets of one convolution.
struct Plan {
    grid: TileGrid,
    c_out: usize,
    channel_slice: usize,
    /// Offset of each input channel of a slice in V (`i · TILES_PER_BLOCK`).
    channel_offsets: Vec<usize>,
    width: usize,
    blocks: usize,
    blocks_per_group: usize,
    groups: usize,
    arch: pulp::Arch,
}

impl Plan {
    fn new(g: &Conv2dGeometry, filter: &PackedFilter) -> Plan {
        let grid = TileGrid::new(g);
        let slices = g.c_in.div_ceil(MAX_CHANNEL_SLICE);
        let channel_slice = g.c_in.div_ceil(slices);
        let (width, blocks) = (filter.width(), filter.blocks());
        let tile_blocks = grid.tiles.div_ceil(TILES_PER_BLOCK);
        let wanted = 4 * rayon::current_num_threads();
        let by_size = (MAX_GROUP_CHANNELS / width).max(1);
        let by_jobs = blocks.div_ceil(wanted.div_ceil(tile_blocks));
        let blocks_per_group = by_size.min(by_jobs).clamp(1, blocks);
        Plan {
            grid,
            c_out: g.c_out,
            channel_slice,
            channel_offsets: (0..channel_slice).map(|i| i * TILES_PER_BLOCK).collect(),
            width,
            blocks,
            blocks_per_group,
            groups: blocks.div_ceil(blocks_per_group),
            arch: filter.arch(),
        }
    }

    fn jobs(&self) -> usize {
        self.grid.tiles.div_ceil(TILES_PER_BLOCK) * self.groups
    }

    /// Output channels of a group's accumulator rows.
    fn row_len(&self) -> usize {
        self.blocks_per_group * self.width
    }

    fn v_len(&self) -> usize {
        XI * self.channel_slice * TILES_PER_BLOCK
    }

    fn m_len(&self) -> usize {
        XI * TILES_PER_BLOCK * self.row_len()
    }

    /// Scratch of a job: V, then M, then the two output rows of each tile.
    fn scratch_len(&self) -> usize {
        self.v_len() + self.m_len() + 2 * 2 * TILES_PER_BLOCK * self.row_len()
    }

    /// The tiles of `block` (over the batch).
    fn block_tiles(&self, block: usize) -> std::ops::Range<usize> {
        let first = block * TILES_PER_BLOCK;
        first..(first + TILES_PER_BLOCK).min(self.grid.tiles)
    }

    /// Accumulates M (`[ξ][tile][channel of the group]`) of the tiles of `block` over every
    /// input channel.
    fn run(&self, x: &[f32], u: &[f32], block: usize, group: usize, scratch: &mut [f32]) {
        let (v, rest) = scratch.split_at_mut(self.v_len());
        let m = &mut rest[..self.m_len()];
        let tiles = self.block_tiles(block);
        let count = tiles.len();
        let row_len = self.row_len();
        let first_block = group * self.blocks_per_group;
        let blocks = first_block..(first_block + self.blocks_per_group).min(self.blocks);
        let v_stride = self.channel_slice * TILES_PER_BLOCK;
        let c_in = self.grid.c_in;
        for c0 in (0..c_in).step_by(self.channel_slice) {
            let channels = self.channel_slice.min(c_in - c0);
            let strides = (v_stride, TILES_PER_BLOCK);
            let grid = &self.grid;
            grid.transform_input(self.arch, x, tiles.clone(), c0, channels, v, strides);
            for xi in 0..XI {
                let v_xi = &v[xi * v_stride..][..channels * TILES_PER_BLOCK];
                for (local, b) in blocks.clone().enumerate() {
                    let panel = &u[((xi * self.blocks + b) * c_in + c0) * self.width..]
                        [..channels * self.width];
                    for t in (0..count).step_by(ROWS) {
                        // Rows past the last tile repeat it (their results are never written out).
                        let tile: Tile = Tile {
                            x: v_xi,
                            rows: std::array::from_fn(|r| (t + r).min(count - 1)),
                            outer: &self.channel_offsets[..channels],
                            inner: &[0],
                            panel,
                            acc: &mut m
                                [(xi * TILES_PER_BLOCK + t) * row_len + local * self.width..],
                            acc_stride: row_len,
                            accumulate: c0 > 0,
                        };
                        // SAFETY: the channel offsets are ascending, and the single inner one too.
                        unsafe { tile.run(self.arch) };
                    }
                }
            }
        }
    }

    /// `Y = Aᵀ M A` of every tile of `block` and channel of `group`, written to the output with
    /// the bias and the activation.
    ///
    /// # Safety
    /// `out` must point to the `[n, c_out, oh, ow]` output, and no other thread may access the
    /// elements of this (block, group).
    unsafe fn write_out(
        &self,
        scratch: &mut [f32],
        block: usize,
        group: usize,
        bias: Option<&[f32]>,
        activation: Option<Activation>,
        out: &SharedOut,
    ) {
        let (m_buf, y) = scratch[self.v_len()..].split_at_mut(self.m_len());
        let m_buf = &*m_buf;
        let row_len = self.row_len();
        let first = group * row_len;
        let channels = row_len.min(self.c_out - first);
        let tiles = self.block_tiles(block);
        // Y as `[output row of the tile][2·tile + column][channel]`, so that each output row of
        // a run of tiles is a run of pixels, as the epilogue takes them.
        let y_row = 2 * TILES_PER_BLOCK * row_len;
        self.arch.dispatch(OutputTransform {
            plan: self,
            m: m_buf,
            y,
            tiles: tiles.len(),
            channels,
        });
        let [oh, ow] = self.grid.out_size;
        for (img, ty, tx, local, run) in self.grid.runs(tiles) {
            for a in 0..2 {
                let oy = 2 * ty + a;
                if oy >= oh {
                    continue;
                }
                store_channel_major(
                    self.arch,
                    &y[a * y_row + 2 * local * row_len..],
                    row_len,
                    channels,
                    (2 * run).min(ow - 2 * tx),
                    out.0
                        .add(((img * self.c_out + first) * oh + oy) * ow + 2 * tx),
                    oh * ow,
                    bias.map(|b| &b[first..]),
                    activation,
                );
            }
        }
    }

    /// `Y = Aᵀ M A` of `tiles` tiles × `channels` channels of `m` into `y` (as
    /// [`Plan::write_out`] lays it out). Inlined into [`OutputTransform`], compiled for the
    /// vector instruction set.
    #[inline(always)]
    fn transform_output(&self, m_buf: &[f32], y: &mut [f32], tiles: usize, channels: usize) {
        let row_len = self.row_len();
        let y_row = 2 * TILES_PER_BLOCK * row_len;
        let m_xi = TILES_PER_BLOCK * row_len;
        let (y0, y1) = y.split_at_mut(y_row);
        for l in 0..tiles {
            let at = l * row_len;
            let m: [&[f32]; XI] = std::array::from_fn(|xi| &m_buf[xi * m_xi + at..][..channels]);
            let (y00, y01) = y0[2 * at..].split_at_mut(row_len);
            let (y10, y11) = y1[2 * at..].split_at_mut(row_len);
            let (y00, y01) = (&mut y00[..channels], &mut y01[..channels]);
            let (y10, y11) = (&mut y10[..channels], &mut y11[..channels]);
            for c in 0..channels {
                // Aᵀ M: the rows of the 4×4 M combined, then the columns.
                let t0: [f32; 4] = std::array::from_fn(|j| m[j][c] + m[4 + j][c] + m[8 + j][c]);
                let t1: [f32; 4] =
                    std::array::from_fn(|j| m[4 + j][c] - m[8 + j][c] - m[12 + j][c]);
                y00[c] = t0[0] + t0[1] + t0[2];
                y01[c] = t0[1] - t0[2] - t0[3];
                y10[c] = t1[0] + t1[1] + t1[2];
                y11[c] = t1[1] - t1[2] - t1[3];
            }
        }
    }
}

/// [`Plan::transform_output`] under `pulp`'s dispatch.
struct OutputTransform<'a> {
    plan: &'a Plan,
    m: &'a [f32],
    y: &'a mut [f32],
    tiles: usize,
    channels: usize,
}

impl WithSimd for OutputTransform<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        self.plan
            .transform_output(self.m, self.y, self.tiles, self.channels);
    }
}
