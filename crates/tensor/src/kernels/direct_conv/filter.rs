//! Convolution weights packed for the direct kernel: output channels in blocks of two vectors,
//! each block stored `[input channel][tap][2·lanes]`, so the tile reads its two weight vectors
//! per step from consecutive memory. A last block that one vector holds (50 channels: 3 × 16 + 2
//! with AVX2) is one vector wide, so its tile does half the work. Channels past the last real one
//! are zero.

use super::tile::{lanes, last_block_width};
use std::sync::OnceLock;

/// Packed weights of one 2-D convolution (or of the convolution that computes its input gradient).
#[derive(Clone, Debug)]
pub struct PackedFilter {
    data: Vec<f32>,
    /// Output channels per block: two vectors of the instruction set it was packed for.
    width: usize,
    /// Output channels of the last block's panel: `width`, or one vector when that holds them.
    last_width: usize,
    c_out: usize,
    c_in: usize,
    taps: usize,
    /// The instruction set the packing is laid out for.
    arch: pulp::Arch,
    /// Whether 3×3 stride-1 convolutions with this filter may run by Winograd's F(2×2, 3×3).
    allow_winograd: bool,
    /// The Winograd transform of a 3×3 filter, made on first use.
    winograd: OnceLock<Vec<f32>>,
}

impl PackedFilter {
    /// The weights `w` (`[c_out, c_in, kh, kw]`, `dims = [c_out, c_in, kh·kw]`) of a dense
    /// convolution.
    ///
    /// # Panics
    /// If `w` does not hold `c_out·c_in·kh·kw` values.
    pub fn forward(w: &[f32], dims: [usize; 3], arch: pulp::Arch) -> PackedFilter {
        let [_, c_in, taps] = dims;
        let len: usize = dims.iter().product();
        assert_eq!(w.len(), len, "PackedFilter::forward: weight length");
        Self::pack(arch, dims, |o, i, t| w[(o * c_in + i) * taps + t])
    }

    /// The weights of the stride-1 convolution of `grad_out` that gives the input gradient of
    /// the convolution with weights `w` (`dims` as [`PackedFilter::forward`]): input and output
    /// channels swapped, taps reversed.
    ///
    /// # Panics
    /// As [`PackedFilter::forward`].
    pub fn input_gradient(w: &[f32], dims: [usize; 3], arch: pulp::Arch) -> PackedFilter {
        let [c_out, c_in, taps] = dims;
        let len: usize = dims.iter().product();
        assert_eq!(w.len(), len, "PackedFilter::input_gradient: weight length");
        Self::pack(arch, [c_in, c_out, taps], |o, i, t| {
            w[(i * c_in + o) * taps + taps - 1 - t]
        })
    }

    /// Packs `value(output channel, input channel, tap)` for `[c_out, c_in, taps]`.
    fn pack(
        arch: pulp::Arch,
        [c_out, c_in, taps]: [usize; 3],
        value: impl Fn(usize, usize, usize) -> f32,
    ) -> PackedFilter {
        let width = 2 * lanes(arch);
        let blocks = c_out.div_ceil(width);
        let last_width = last_block_width(c_out, width);
        let block_len = |w: usize| c_in * taps * w;
        let len = blocks.saturating_sub(1) * block_len(width) + block_len(last_width);
        let mut data = vec![0.0; if blocks == 0 { 0 } else { len }];
        for b in 0..blocks {
            let w = if b + 1 == blocks { last_width } else { width };
            let block = &mut data[b * block_len(width)..][..block_len(w)];
            for (step, out) in block.chunks_exact_mut(w).enumerate() {
                let (i, t) = (step / taps, step % taps);
                for (j, v) in out.iter_mut().enumerate() {
                    let o = b * width + j;
                    if o < c_out {
                        *v = value(o, i, t);
                    }
                }
            }
        }
        PackedFilter {
            data,
            width,
            last_width,
            c_out,
            c_in,
            taps,
            arch,
            allow_winograd: false,
            winograd: OnceLock::new(),
        }
    }

    /// This filter, allowed to run 3×3 stride-1 convolutions by Winograd's F(2×2, 3×3) (without
    /// it, the direct tile runs them: the tests compare the two).
    pub fn with_winograd(mut self) -> PackedFilter {
        self.allow_winograd = true;
        self
    }

    pub(super) fn allows_winograd(&self) -> bool {
        self.allow_winograd
    }

    pub(super) fn width(&self) -> usize {
        self.width
    }

    pub(super) fn arch(&self) -> pulp::Arch {
        self.arch
    }

    /// Output channels, input channels and taps of the convolution it packs.
    pub fn dims(&self) -> [usize; 3] {
        [self.c_out, self.c_in, self.taps]
    }

    /// Output-channel blocks.
    pub(super) fn blocks(&self) -> usize {
        self.c_out.div_ceil(self.width)
    }

    /// Output channels in block `b`'s panel: `width`, or one vector for a last block it holds.
    pub(super) fn block_width(&self, b: usize) -> usize {
        if b + 1 == self.blocks() {
            self.last_width
        } else {
            self.width
        }
    }

    /// The filter transformed for F(2×2, 3×3) (see `winograd/`), made once.
    ///
    /// # Panics
    /// If the filter is not 3×3.
    pub(super) fn winograd(&self) -> &[f32] {
        self.winograd
            .get_or_init(|| super::winograd::transform_filter(self))
    }

    /// Block `b`'s weights for input channels `c0..c0 + channels`, `[channel][tap][block_width(b)]`.
    pub(super) fn panel(&self, b: usize, c0: usize, channels: usize) -> &[f32] {
        let step = self.taps * self.block_width(b);
        &self.data[b * self.c_in * self.taps * self.width + c0 * step..][..channels * step]
    }
}
