//! The forward kernel's epilogue: accumulators are pixel-major, the NCHW output is channel-major,
//! so values are transposed on the way out, with the bias and the activation applied. On x86 with
//! AVX2 whole 8 × 8 blocks are transposed in registers; the rest goes value by value.

use crate::ops::activation::Activation;

/// `dst[c·dst_stride + p] = activation(src[p·src_stride + c] + bias[c])` for `c < channels`,
/// `p < pixels`.
///
/// # Safety
/// `dst` must be valid for those writes, and no other thread may access them.
///
/// # Panics
/// If `src` or `bias` are too short.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn store_channel_major(
    arch: pulp::Arch,
    src: &[f32],
    src_stride: usize,
    channels: usize,
    pixels: usize,
    dst: *mut f32,
    dst_stride: usize,
    bias: Option<&[f32]>,
    activation: Option<Activation>,
) {
    assert!(pixels == 0 || src.len() >= (pixels - 1) * src_stride + channels);
    if let Some(b) = bias {
        assert!(b.len() >= channels, "epilogue: bias too short");
    }
    // Channels × pixels done as whole 8 × 8 blocks in registers.
    let (block_channels, block_pixels) = if avx2::usable(arch, activation) {
        (channels / 8 * 8, pixels / 8 * 8)
    } else {
        (0, 0)
    };
    for c in (0..block_channels).step_by(8) {
        let bias8: [f32; 8] = std::array::from_fn(|i| bias.map_or(0.0, |b| b[c + i]));
        for p in (0..block_pixels).step_by(8) {
            // SAFETY: AVX2 is there (`usable`); the 8 × 8 source values were checked to lie in
            // `src`, and the caller vouches for `dst`.
            avx2::transpose_store(
                src.as_ptr().add(p * src_stride + c),
                src_stride,
                dst.add(c * dst_stride + p),
                dst_stride,
                &bias8,
                activation == Some(Activation::Relu),
            );
        }
    }
    for c in 0..channels {
        let first = if c < block_channels { block_pixels } else { 0 };
        let b = bias.map_or(0.0, |b| b[c]);
        let dst = dst.add(c * dst_stride);
        let values = (first..pixels).map(|p| (p, src[p * src_stride + c] + b));
        // One loop per activation, so the common cases are straight-line code.
        match activation {
            None => values.for_each(|(p, v)| *dst.add(p) = v),
            Some(Activation::Relu) => values.for_each(|(p, v)| *dst.add(p) = v.max(0.0)),
            Some(a) => values.for_each(|(p, v)| *dst.add(p) = a.apply(v)),
        }
    }
}

/// `dst[c·dst_stride + r] = src[r·src_stride + c]` for `r < rows`, `c < columns`: the epilogue's
/// transpose with nothing applied, for packing channel-major data pixel-major.
///
/// # Safety
/// As [`store_channel_major`].
pub(super) unsafe fn transpose(
    arch: pulp::Arch,
    src: &[f32],
    src_stride: usize,
    rows: usize,
    columns: usize,
    dst: *mut f32,
    dst_stride: usize,
) {
    store_channel_major(
        arch, src, src_stride, columns, rows, dst, dst_stride, None, None,
    );
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use crate::ops::activation::Activation;
    use std::arch::x86_64::*;

    /// Whether the register transpose can run: AVX2 under `arch`, and no activation or ReLU.
    pub fn usable(arch: pulp::Arch, activation: Option<Activation>) -> bool {
        crate::kernels::has_avx2(arch) && matches!(activation, None | Some(Activation::Relu))
    }

    /// Transposes 8 rows of 8 (`src`, `src_stride` apart) into 8 rows of 8 at `dst`,
    /// `dst_stride` apart, adding `bias[row of dst]` and clamping at 0 if `relu`.
    ///
    /// # Safety
    /// AVX2 must be available, and both 8 × 8 blocks valid.
    #[target_feature(enable = "avx2")]
    pub unsafe fn transpose_store(
        src: *const f32,
        src_stride: usize,
        dst: *mut f32,
        dst_stride: usize,
        bias: &[f32; 8],
        relu: bool,
    ) {
        let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(src.add(i * src_stride)));
        // Pairs of rows interleaved, then quadruples, then the 128-bit halves swapped.
        let t: [__m256; 8] = std::array::from_fn(|i| {
            let (a, b) = (r[i / 2 * 2], r[i / 2 * 2 + 1]);
            if i % 2 == 0 {
                _mm256_unpacklo_ps(a, b)
            } else {
                _mm256_unpackhi_ps(a, b)
            }
        });
        let s: [__m256; 8] = std::array::from_fn(|i| {
            let (quad, k) = (i / 4, i % 4);
            let (a, b) = (t[quad * 4 + k / 2], t[quad * 4 + k / 2 + 2]);
            if k % 2 == 0 {
                _mm256_shuffle_ps::<0x44>(a, b)
            } else {
                _mm256_shuffle_ps::<0xEE>(a, b)
            }
        });
        let zero = _mm256_setzero_ps();
        for (c, &b) in bias.iter().enumerate() {
            let (lo, hi) = (s[c % 4], s[c % 4 + 4]);
            let column = if c < 4 {
                _mm256_permute2f128_ps::<0x20>(lo, hi)
            } else {
                _mm256_permute2f128_ps::<0x31>(lo, hi)
            };
            let mut v = _mm256_add_ps(column, _mm256_set1_ps(b));
            if relu {
                v = _mm256_max_ps(v, zero);
            }
            _mm256_storeu_ps(dst.add(c * dst_stride), v);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod avx2 {
    use crate::ops::activation::Activation;

    pub fn usable(_: pulp::Arch, _: Option<Activation>) -> bool {
        false
    }

    pub unsafe fn transpose_store(
        _: *const f32,
        _: usize,
        _: *mut f32,
        _: usize,
        _: &[f32; 8],
        _: bool,
    ) {
        unreachable!("no AVX2 off x86")
    }
}
