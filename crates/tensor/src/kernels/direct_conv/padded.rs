//! The input of a direct convolution with its zero borders materialised, so that every tap of
//! every output pixel is a plain offset into it.

use crate::kernels::conv_geometry::Conv2dGeometry;
use rayon::prelude::*;
use std::borrow::Cow;
use std::mem::MaybeUninit;

/// Rows and row length of one padded plane of `g`'s input.
pub(super) fn padded_plane(g: &Conv2dGeometry) -> (usize, usize) {
    (g.size[0] + 2 * g.padding[0], g.size[1] + 2 * g.padding[1])
}

/// `input` (`[n, c_in, h, w]`) as `[n, c_in, h + 2·pad, w + 2·pad]` with zero borders, written in
/// one pass; the input itself when there is no padding.
pub(super) fn padded<'a>(g: &Conv2dGeometry, input: &'a [f32]) -> Cow<'a, [f32]> {
    padded_extended(g, input, [0, 0])
}

/// [`padded`] with `extra` more zero rows and columns at the bottom and the right.
pub(super) fn padded_extended<'a>(
    g: &Conv2dGeometry,
    input: &'a [f32],
    extra: [usize; 2],
) -> Cow<'a, [f32]> {
    if g.padding == [0, 0] && extra == [0, 0] {
        return Cow::Borrowed(input);
    }
    let (ph, pw) = padded_plane(g);
    let (ph, pw) = (ph + extra[0], pw + extra[1]);
    let [h, w] = g.size;
    let len = g.n * g.c_in * ph * pw;
    let mut out = Vec::with_capacity(len);
    out.spare_capacity_mut()[..len]
        .par_chunks_mut(ph * pw)
        .zip(input.par_chunks(h * w))
        .for_each(|(dst, src)| pad_plane(g, pw, src, dst));
    // SAFETY: `pad_plane` wrote every plane in full, and there are `n·c_in` planes of `ph·pw`.
    unsafe { out.set_len(len) };
    Cow::Owned(out)
}

/// Whole images of `g`'s input (`[k, c_in, h, w]`, any k) padded as [`padded`] does, into `buf`
/// (reused across calls, so a thread that pads image after image allocates once).
pub(super) fn pad_images_into(g: &Conv2dGeometry, images: &[f32], buf: &mut Vec<f32>) {
    let (ph, pw) = padded_plane(g);
    let [h, w] = g.size;
    let len = images.len() / (h * w) * ph * pw;
    buf.clear();
    buf.reserve(len);
    for (dst, src) in buf.spare_capacity_mut()[..len]
        .chunks_mut(ph * pw)
        .zip(images.chunks(h * w))
    {
        pad_plane(g, pw, src, dst);
    }
    // SAFETY: `pad_plane` wrote every plane of `ph·pw` in full, one per input plane.
    unsafe { buf.set_len(len) };
}

/// Writes the whole padded plane `dst` (rows of `pw`): zero borders around `src` (`h × w`).
fn pad_plane(g: &Conv2dGeometry, pw: usize, src: &[f32], dst: &mut [MaybeUninit<f32>]) {
    let ([h, w], [top, left]) = (g.size, g.padding);
    let zero = MaybeUninit::new(0.0);
    let (above, rest) = dst.split_at_mut(top * pw);
    above.fill(zero);
    let (middle, below) = rest.split_at_mut(h * pw);
    below.fill(zero);
    #[cfg(target_arch = "x86_64")]
    if w >= 8 && crate::kernels::has_avx2(pulp::Arch::new()) {
        // SAFETY: AVX2 is available; `middle` holds `h` rows of `pw = left + w + right` and
        // `src` `h` rows of `w`.
        return unsafe { avx2::pad_rows(middle, src, pw, w, left) };
    }
    for (row, src_row) in middle.chunks_exact_mut(pw).zip(src.chunks_exact(w)) {
        row[..left].fill(zero);
        for (d, &s) in row[left..left + w].iter_mut().zip(src_row) {
            *d = MaybeUninit::new(s);
        }
        row[left + w..].fill(zero);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;
    use std::mem::MaybeUninit;

    /// The rows of a padded plane between its top and bottom borders, by vectors of eight: the
    /// zero borders first, then each source row (its last vector ending with it, overlapping the
    /// one before), with no `memset`/`memcpy` call per row of a few dozen values.
    ///
    /// # Safety
    /// AVX2 must be available, `w ≥ 8`, `rows` must hold whole rows of `pw ≥ left + w` and `src`
    /// as many rows of `w`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn pad_rows(
        rows: &mut [MaybeUninit<f32>],
        src: &[f32],
        pw: usize,
        w: usize,
        left: usize,
    ) {
        for (row, src_row) in rows.chunks_exact_mut(pw).zip(src.chunks_exact(w)) {
            let d = row.as_mut_ptr().cast::<f32>();
            for j in (0..left).chain(left + w..pw) {
                *d.add(j) = 0.0;
            }
            let d = d.add(left);
            let mut j = 0;
            while j + 8 <= w {
                _mm256_storeu_ps(d.add(j), _mm256_loadu_ps(src_row.as_ptr().add(j)));
                j += 8;
            }
            if j < w {
                let last = w - 8;
                _mm256_storeu_ps(d.add(last), _mm256_loadu_ps(src_row.as_ptr().add(last)));
            }
        }
    }
}
