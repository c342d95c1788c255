//! The weight gradient through the direct tile: `dW[co][ci][tap] = Σ_{image, pixel}
//! grad_out[co][pixel] · x_padded[ci][pixel's base + tap]`.
//!
//! A tile row is an (input channel, tap) pair, its columns are output channels, and the reduction
//! runs over the output rows of a chunk of images (outer loop) and the pixels of a row (inner
//! loop); chunks hold enough images for a long reduction even when images are small. The output
//! gradient is packed once, pixel-major in blocks of output channels, as the panels.
//!
//! A job takes as many row tiles as its accumulators keep in cache, so the input and the panels
//! of a chunk are read from memory once per job; when that leaves too few jobs for the threads,
//! the batch is split between jobs too, and their partial sums are added at the end. A job that
//! alone reads its chunks pads each into its own buffer just before reading it, while it is in
//! cache; when several jobs read each chunk, one pass pads the whole batch for them all.

use super::epilogue::transpose;
use super::padded::{pad_images_into, padded, padded_plane};
use super::tile::{lanes, last_block_width, Tile, ROWS};
use super::SharedOut;
use crate::kernels::conv_geometry::Conv2dGeometry;
use crate::kernels::with_scratch;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Output pixels a tile reduces over per call, at least (whole images are taken).
const REDUCTION: usize = 512;

/// Output pixels of the output gradient's panels that the row tiles of a job go through
/// together, at most (whole output rows; 256 × 16 channels: 16 KiB, read from the L1 cache).
const GROUP_PIXELS: usize = 256;

/// Accumulator floats of one job, at most (24 KiB: they stay in the L1 or L2 cache).
const JOB_ACCUMULATORS: usize = 6 * 1024;

/// `grad_weight` (`[c_out, c_in, kh, kw]`, overwritten) of the dense convolution `g` from its
/// `input` and `grad_out`, summed over the batch, computed with the instruction set of `arch`.
///
/// # Panics
/// If a buffer does not match `g`, or `g` is not one the direct kernel applies to.
pub fn direct_backward_weight(
    g: &Conv2dGeometry,
    input: &[f32],
    grad_out: &[f32],
    grad_weight: &mut [f32],
    arch: pulp::Arch,
) {
    let op = "direct_backward_weight";
    assert!(
        super::applies(g),
        "{op}: not a dense 2-D convolution: {g:?}"
    );
    check_lengths(op, g, input, grad_out, grad_weight);
    let plan = Plan::new(g, arch);
    let shared = plan.pads_once().then(|| padded(g, input));
    let x = match &shared {
        Some(padded) => ChunkSource::Padded(padded),
        None => ChunkSource::Unpadded(input),
    };
    let panels = plan.pack_grad_out(grad_out);
    let mut partials = vec![0.0; (plan.splits - 1) * grad_weight.len()];
    let outs: Vec<_> = std::iter::once(&mut *grad_weight)
        .chain(partials.chunks_exact_mut(g.weight_len()))
        .map(|out| SharedOut(out.as_mut_ptr()))
        .collect();
    (0..plan.jobs()).into_par_iter().for_each(|job| {
        with_scratch(plan.buffer_len(), |acc| {
            plan.accumulate(&x, &panels, job, acc);
            // SAFETY: the jobs of one split write disjoint rows × column blocks of their
            // `[c_out, rows]` buffer, `grad_weight` (length checked above) or a partial sum.
            unsafe { plan.write_out(acc, job, &outs[job / plan.jobs_per_split()]) };
        });
    });
    for partial in partials.chunks_exact(g.weight_len()) {
        add_into(grad_weight, partial);
    }
}

/// Checks the buffers of a weight gradient of `g` (`op` names the caller).
///
/// # Panics
/// If `g` is not valid or a buffer's length does not match it.
pub(super) fn check_lengths(
    op: &str,
    g: &Conv2dGeometry,
    input: &[f32],
    grad_out: &[f32],
    grad_weight: &[f32],
) {
    g.assert_valid(op);
    assert_eq!(input.len(), g.input_len(), "{op}: input length");
    assert_eq!(grad_out.len(), g.output_len(), "{op}: grad_out length");
    assert_eq!(
        grad_weight.len(),
        g.weight_len(),
        "{op}: grad_weight length"
    );
}

/// `sum += part`, element-wise, on all threads (partial sums of split reductions).
pub(super) fn add_into(sum: &mut [f32], part: &[f32]) {
    sum.par_chunks_mut(4096)
        .zip(part.par_chunks(4096))
        .for_each(|(s, p)| s.iter_mut().zip(p).for_each(|(s, p)| *s += p));
}

/// Where a job reads its chunks of the input from.
enum ChunkSource<'a> {
    /// The whole batch, padded.
    Padded(&'a [f32]),
    /// The input itself, padded a chunk at a time by the job when the convolution pads.
    Unpadded(&'a [f32]),
}

/// Offsets and work split of one weight gradient.
struct Plan {
    geometry: Conv2dGeometry,
    n: usize,
    /// Images per reduction chunk.
    chunk: usize,
    c_out: usize,
    /// (input channel, tap) rows, `c_in·kh·kw`.
    rows: usize,
    /// Offset of each row's first value in an image's padded input.
    row_offsets: Vec<usize>,
    out_h: usize,
    out_pixels: usize,
    /// Offset of each (image, output row) of a chunk in the chunk's padded input, and of each
    /// pixel within a row.
    row_offsets_in_chunk: Vec<usize>,
    pixel_offsets: Vec<usize>,
    width: usize,
    blocks: usize,
    /// Columns of the last block's panels (`width`, or one vector when that holds its channels).
    last_width: usize,
    /// Row tiles per job.
    tiles_per_job: usize,
    /// Parts of the batch summed by separate jobs, and the chunks of images in each.
    splits: usize,
    chunks_per_split: usize,
    arch: pulp::Arch,
}

impl Plan {
    fn new(g: &Conv2dGeometry, arch: pulp::Arch) -> Plan {
        let (ph, pw) = padded_plane(g);
        let [oh, ow] = g.out_size();
        let [kh, kw] = g.kernel;
        let rows = g.c_in * kh * kw;
        let row_offsets = (0..rows)
            .map(|r| {
                let (ci, t) = (r / (kh * kw), r % (kh * kw));
                ci * ph * pw + (t / kw) * g.dilation[0] * pw + (t % kw) * g.dilation[1]
            })
            .collect();
        let width = 2 * lanes(arch);
        let blocks = g.c_out.div_ceil(width);
        let tiles = rows.div_ceil(ROWS);
        let wanted = 4 * rayon::current_num_threads();
        let image_len = g.c_in * ph * pw;
        let chunk = REDUCTION.div_ceil(oh * ow).min(g.n);
        let chunks = g.n.div_ceil(chunk);
        let most_tiles = (JOB_ACCUMULATORS / (ROWS * width)).max(1);
        // Split the batch only as far as whole-width jobs leave threads idle; then split the rows.
        let chunks_per_split =
            chunks.div_ceil(wanted.div_ceil(tiles.div_ceil(most_tiles) * blocks));
        let splits = chunks.div_ceil(chunks_per_split);
        let row_groups = wanted.div_ceil(splits * blocks);
        Plan {
            geometry: *g,
            n: g.n,
            chunk,
            c_out: g.c_out,
            rows,
            row_offsets,
            out_h: oh,
            out_pixels: oh * ow,
            row_offsets_in_chunk: (0..chunk * oh)
                .map(|i| (i / oh) * image_len + (i % oh) * g.stride[0] * pw)
                .collect(),
            pixel_offsets: (0..ow).map(|x| x * g.stride[1]).collect(),
            width,
            blocks,
            last_width: last_block_width(g.c_out, width),
            tiles_per_job: tiles.div_ceil(row_groups).min(most_tiles),
            splits,
            chunks_per_split,
            arch,
        }
    }

    fn tiles(&self) -> usize {
        self.rows.div_ceil(ROWS)
    }

    /// Jobs: splits of the batch × groups of row tiles × output-channel blocks.
    fn jobs(&self) -> usize {
        self.splits * self.jobs_per_split()
    }

    fn jobs_per_split(&self) -> usize {
        self.tiles().div_ceil(self.tiles_per_job) * self.blocks
    }

    /// Whether one pass pads the whole batch: when several jobs read each chunk and would each
    /// pad it again.
    fn pads_once(&self) -> bool {
        self.geometry.padding != [0, 0] && self.jobs_per_split() > 1
    }

    fn buffer_len(&self) -> usize {
        self.tiles_per_job * ROWS * self.width
    }

    /// Columns of block `b`'s panels.
    fn block_width(&self, b: usize) -> usize {
        if b + 1 == self.blocks {
            self.last_width
        } else {
            self.width
        }
    }

    /// `grad_out` as `[block][image][pixel][block width]`, output channels past the last one zero;
    /// each (block, image) is one transpose of a channels × pixels slab.
    fn pack_grad_out(&self, grad_out: &[f32]) -> Vec<f32> {
        let (w, pixels) = (self.width, self.out_pixels);
        let full = self.blocks.saturating_sub(1) * self.n;
        let len = full * pixels * w + self.n * pixels * self.last_width;
        let mut packed = Vec::with_capacity(len);
        let pack = |i: usize, dst: &mut [MaybeUninit<f32>]| {
            let (block, img) = (i / self.n, i % self.n);
            let first = (img * self.c_out + block * w) * pixels;
            let (channels, line) = (w.min(self.c_out - block * w), self.block_width(block));
            // SAFETY: the slab's `pixels` lines of `line` lie in `dst`, and the transpose writes
            // `channels ≤ line` values of each.
            unsafe {
                transpose(
                    self.arch,
                    &grad_out[first..first + channels * pixels],
                    pixels,
                    channels,
                    pixels,
                    dst.as_mut_ptr().cast(),
                    line,
                );
            }
            for line in dst.chunks_exact_mut(line) {
                line[channels..].fill(MaybeUninit::new(0.0));
            }
        };
        if self.blocks > 0 {
            let (full_blocks, last) =
                packed.spare_capacity_mut()[..len].split_at_mut(full * pixels * w);
            full_blocks
                .par_chunks_mut(pixels * w)
                .enumerate()
                .for_each(|(i, dst)| pack(i, dst));
            last.par_chunks_mut(pixels * self.last_width)
                .enumerate()
                .for_each(|(i, dst)| pack(full + i, dst));
        }
        // SAFETY: every (block, image) slab was written in full just above.
        unsafe { packed.set_len(len) };
        packed
    }

    /// (first row tile, tile count, output-channel block) of `job`.
    fn job_tiles(&self, job: usize) -> (usize, usize, usize) {
        let job = job % self.jobs_per_split();
        let (group, block) = (job / self.blocks, job % self.blocks);
        let first = group * self.tiles_per_job;
        (first, self.tiles_per_job.min(self.tiles() - first), block)
    }

    /// Accumulates the job's rows × its block of output channels over its split of the batch
    /// into `acc` (`[row][width]`). Each chunk of images is summed in the registers and then added
    /// to `acc`, so no float sum runs over more than a chunk's pixels: one long chain over the
    /// batch loses digits (enough to move a 2-rank run away from one process).
    fn accumulate(&self, source: &ChunkSource<'_>, panels: &[f32], job: usize, acc: &mut [f32]) {
        let (first, tiles, block) = self.job_tiles(job);
        let image_panel = self.out_pixels * self.block_width(block);
        let block_start = block * self.n * self.out_pixels * self.width;
        let block_panels = &panels[block_start..][..self.n * image_panel];
        let acc = &mut acc[..tiles * ROWS * self.width];
        let mut chunk_sum = vec![0.0; acc.len()];
        let split_images = self.chunks_per_split * self.chunk;
        let start = job / self.jobs_per_split() * split_images;
        let mut padded = Vec::new();
        for img in (start..self.n.min(start + split_images)).step_by(self.chunk) {
            let images = self.chunk.min(self.n - img);
            let panel = &block_panels[img * image_panel..][..images * image_panel];
            let x = match *source {
                ChunkSource::Padded(x) => {
                    let image_len = x.len() / self.n;
                    &x[img * image_len..][..images * image_len]
                }
                ChunkSource::Unpadded(x) => {
                    let image_len = x.len() / self.n;
                    let chunk = &x[img * image_len..][..images * image_len];
                    if self.geometry.padding == [0, 0] {
                        chunk
                    } else {
                        pad_images_into(&self.geometry, chunk, &mut padded);
                        &padded
                    }
                }
            };
            let into = if img == start {
                &mut *acc
            } else {
                &mut chunk_sum
            };
            // The chunk's (image, output row)s in groups whose panels stay in the L1 cache
            // while every row tile reads them.
            let out_w = self.pixel_offsets.len();
            let group = (GROUP_PIXELS / out_w).max(1);
            for (g, g0) in (0..images * self.out_h).step_by(group).enumerate() {
                let g1 = (g0 + group).min(images * self.out_h);
                let outer = &self.row_offsets_in_chunk[g0..g1];
                let line = self.block_width(block);
                let panel = &panel[g0 * out_w * line..g1 * out_w * line];
                for t in 0..tiles {
                    // Rows past the last one repeat it (their results are never written out).
                    let rows = std::array::from_fn(|r| {
                        self.row_offsets[((first + t) * ROWS + r).min(self.rows - 1)]
                    });
                    let tile = Tile {
                        x,
                        rows,
                        outer,
                        inner: &self.pixel_offsets,
                        panel,
                        acc: &mut into[t * ROWS * self.width..],
                        acc_stride: self.width,
                        accumulate: g > 0,
                    };
                    // SAFETY: the (image, row) offsets and the pixel offsets are built in
                    // ascending order.
                    unsafe { tile.run_block(line, self.arch) };
                }
            }
            if img > start {
                acc.iter_mut().zip(&chunk_sum).for_each(|(a, c)| *a += c);
            }
        }
    }

    /// Writes the job's `acc` into `grad_weight` (`[c_out][rows]`).
    ///
    /// # Safety
    /// `out` must point to the `[c_out, rows]` weight gradient, and no other thread may access
    /// this job's elements.
    unsafe fn write_out(&self, acc: &[f32], job: usize, out: &SharedOut) {
        let (first, tiles, block) = self.job_tiles(job);
        let rows = first * ROWS..((first + tiles) * ROWS).min(self.rows);
        let channels = block * self.width..((block + 1) * self.width).min(self.c_out);
        for (local, co) in channels.enumerate() {
            let dst = out.0.add(co * self.rows);
            for (i, row) in rows.clone().enumerate() {
                *dst.add(row) = acc[i * self.width + local];
            }
        }
    }
}
