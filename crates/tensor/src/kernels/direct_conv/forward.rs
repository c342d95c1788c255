//! The forward pass of the direct kernel: pixel blocks × output-channel groups as parallel jobs.

use super::epilogue::store_channel_major;
use super::filter::PackedFilter;
use super::tile::{Tile, ROWS};
use super::SharedOut;
use crate::kernels::conv_geometry::Conv2dGeometry;
use crate::ops::activation::Activation;

/// Tiles per pixel block (a job's share of the pixels).
const TILES_PER_BLOCK: usize = 16;
/// Output pixels per block.
pub(super) const BLOCK_PIXELS: usize = ROWS * TILES_PER_BLOCK;
/// Floats of packed weights a panel aims at: an input-channel slice of one block fits in L1.
const PANEL_FLOATS: usize = 8 * 1024;

/// The work split and offsets of one convolution.
pub(super) struct Plan {
    c_in: usize,
    c_out: usize,
    /// Padded input plane: rows and row length.
    plane: (usize, usize),
    stride: [usize; 2],
    out_w: usize,
    /// Output pixels per image, and in the batch.
    out_pixels: usize,
    pixels: usize,
    /// Offset of each tap from a pixel's base in the padded plane, and of each input channel.
    taps: Vec<usize>,
    channel_offsets: Vec<usize>,
    /// Input channels per slice.
    channel_slice: usize,
    width: usize,
    /// Output-channel blocks per group, and groups.
    blocks_per_group: usize,
    pub(super) groups: usize,
    arch: pulp::Arch,
}

impl Plan {
    /// The plan of `g` with at least `min_jobs` jobs where the output channels allow: pixel
    /// blocks, times channel groups when there are fewer blocks than that.
    pub(super) fn new(g: &Conv2dGeometry, filter: &PackedFilter, min_jobs: usize) -> Plan {
        let [ph, pw] = std::array::from_fn(|a| g.size[a] + 2 * g.padding[a]);
        let [oh, ow] = g.out_size();
        let taps = (0..g.kernel[0] * g.kernel[1])
            .map(|t| (t / g.kernel[1]) * g.dilation[0] * pw + (t % g.kernel[1]) * g.dilation[1])
            .collect::<Vec<_>>();
        let width = filter.width();
        let slices = (g.c_in * taps.len() * width).div_ceil(PANEL_FLOATS).max(1);
        let pixels = g.n * oh * ow;
        let pixel_blocks = pixels.div_ceil(BLOCK_PIXELS);
        let blocks = filter.blocks();
        let groups = min_jobs.div_ceil(pixel_blocks).clamp(1, blocks);
        let blocks_per_group = blocks.div_ceil(groups);
        Plan {
            c_in: g.c_in,
            c_out: g.c_out,
            plane: (ph, pw),
            stride: g.stride,
            out_w: ow,
            out_pixels: oh * ow,
            pixels,
            taps,
            channel_offsets: (0..g.c_in).map(|c| c * ph * pw).collect(),
            channel_slice: g.c_in.div_ceil(slices),
            width,
            blocks_per_group,
            groups: blocks.div_ceil(blocks_per_group),
            arch: filter.arch(),
        }
    }

    pub(super) fn jobs(&self) -> usize {
        self.pixels.div_ceil(BLOCK_PIXELS) * self.groups
    }

    /// Accumulator floats of a job: its pixels × its output channels.
    pub(super) fn buffer_len(&self) -> usize {
        BLOCK_PIXELS * self.blocks_per_group * self.width
    }

    /// Offset in the padded input of output pixel `q` (over the batch).
    fn input_offset(&self, q: usize) -> usize {
        let (img, r) = (q / self.out_pixels, q % self.out_pixels);
        let (oy, ox) = (r / self.out_w, r % self.out_w);
        let (_, pw) = self.plane;
        img * self.c_in * self.plane.0 * pw + oy * self.stride[0] * pw + ox * self.stride[1]
    }

    /// The pixels of `block` (over the batch).
    fn block_pixels(&self, block: usize) -> std::ops::Range<usize> {
        let first = block * BLOCK_PIXELS;
        first..(first + BLOCK_PIXELS).min(self.pixels)
    }

    /// Accumulates the pixels of `block` × the output channels of `group` into `acc`
    /// (`[pixel][channel of the group]`).
    pub(super) fn accumulate(
        &self,
        x: &[f32],
        filter: &PackedFilter,
        block: usize,
        group: usize,
        acc: &mut [f32],
    ) {
        let pixels = self.block_pixels(block);
        let row_len = self.blocks_per_group * self.width;
        let first_block = group * self.blocks_per_group;
        let blocks = first_block..(first_block + self.blocks_per_group).min(filter.blocks());
        let mut offsets = [0; BLOCK_PIXELS];
        for (o, q) in offsets.iter_mut().zip(pixels.clone()) {
            *o = self.input_offset(q);
        }
        // Pixels past the block's end repeat its last one (their rows are never written out).
        let count = pixels.len();
        let last = offsets[count - 1];
        offsets[count..].fill(last);
        for c0 in (0..self.c_in).step_by(self.channel_slice) {
            let channels = self.channel_slice.min(self.c_in - c0);
            for (local, b) in blocks.clone().enumerate() {
                let panel = filter.panel(b, c0, channels);
                for t in 0..count.div_ceil(ROWS) {
                    let tile = Tile {
                        x,
                        rows: std::array::from_fn(|r| offsets[t * ROWS + r]),
                        outer: &self.channel_offsets[c0..c0 + channels],
                        inner: &self.taps,
                        panel,
                        acc: &mut acc[t * ROWS * row_len + local * self.width..],
                        acc_stride: row_len,
                        accumulate: c0 > 0,
                    };
                    // SAFETY: the channel offsets and the taps are built in ascending order.
                    unsafe { tile.run_block(filter.block_width(b), self.arch) };
                }
            }
        }
    }

    /// Writes `acc` (from [`Plan::accumulate`]) to the output, channel-major, with the bias and
    /// the activation applied.
    ///
    /// # Safety
    /// `out` must point to the `[n, c_out, out_pixels]` output, and no other thread may access
    /// the elements of this (block, group).
    pub(super) unsafe fn write_out(
        &self,
        acc: &[f32],
        block: usize,
        group: usize,
        bias: Option<&[f32]>,
        activation: Option<Activation>,
        out: &SharedOut,
    ) {
        let row_len = self.blocks_per_group * self.width;
        let first = group * self.blocks_per_group * self.width;
        let channels = first..(first + row_len).min(self.c_out);
        let pixels = self.block_pixels(block);
        // The block's pixels run by image: (first pixel in the block, image, first pixel in the image).
        let mut q = pixels.start;
        while q < pixels.end {
            let (img, r0) = (q / self.out_pixels, q % self.out_pixels);
            let run = (self.out_pixels - r0).min(pixels.end - q);
            store_channel_major(
                self.arch,
                &acc[(q - pixels.start) * row_len..],
                row_len,
                channels.len(),
                run,
                out.0
                    .add((img * self.c_out + channels.start) * self.out_pixels + r0),
                self.out_pixels,
                bias.map(|b| &b[channels.start..]),
                activation,
            );
            q += run;
        }
    }
}
