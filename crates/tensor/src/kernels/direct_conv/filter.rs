//! Convolution weights packed for the direct kernel: output channels in blocks of two vectors,
//! each block stored `[input channel][tap][2·lanes]`, so the tile reads its two weight vectors
//! per step from consecutive memory. Channels past the last real one are zero.

use super::tile::lanes;
use std::sync::OnceLock;

/// Packed weights of one 2-D convolution (or of the convolution that computes its input gradient).
#[derive(Clone, Debug)]
pub struct PackedFilter {
    data: Vec<f32>,
    /// Output channels per block: two vectors of the instruction set it was packed for.
    width: usize,
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
        let mut data = vec![0.0; blocks * c_in * taps * width];
        for (b, block) in data
            .chunks_exact_mut((c_in * taps * width).max(1))
            .enumerate()
        {
            for (step, out) in block.chunks_exact_mut(width).enumerate() {
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

    /// The filter transformed for F(2×2, 3×3) (see `winograd.rs`), made once.
    ///
    /// # Panics
    /// If the filter is not 3×3.
    pub(super) fn winograd(&self) -> &[f32] {
        self.winograd
            .get_or_init(|| super::winograd::transform_filter(self))
    }

    /// Block `b`'s weights for input channels `c0..c0 + channels`.
    pub(super) fn panel(&self, b: usize, c0: usize, channels: usize) -> &[f32] {
        let step = self.taps * self.width;
        &self.data[(b * self.c_in + c0) * step..][..channels * step]
    }
}
