//! Random crop with padding, and random resized crop.

use rand::Rng;

use super::{check, is_range, uniform, Image};
use crate::error::Result;

/// Pads the image by `padding` pixels of `fill` (or its mirror image) on every side, then cuts a
/// window of `size` (default: the input size) at a random place, as torchvision's
/// `RandomCrop(size, padding, padding_mode)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomCrop {
    /// `[height, width]` of the crop; `None` keeps the input size.
    pub size: Option<[usize; 2]>,
    /// Pixels of padding on each side.
    pub padding: usize,
    /// Value of the padding.
    pub fill: f32,
    /// Pad with the image reflected about its edge pixels (`padding_mode='reflect'`: row −1 is
    /// row 1) instead of `fill` (airbench's translation).
    pub reflect: bool,
}

/// The CIFAR recipe: same size, 4 pixels of zero padding.
impl Default for RandomCrop {
    fn default() -> Self {
        Self {
            size: None,
            padding: 4,
            fill: 0.0,
            reflect: false,
        }
    }
}

impl RandomCrop {
    pub(crate) fn validate(&self) -> Result<()> {
        check(
            self.size.is_none_or(|s| !s.contains(&0)),
            "random crop",
            || format!("size {:?} has a zero dimension", self.size),
        )
    }

    /// Crops `image`; a crop larger than the padded image is filled with `fill` where it
    /// overhangs.
    pub(crate) fn apply<R: Rng>(&self, image: &mut Image, rng: &mut R) {
        let [ch, cw] = self.size.unwrap_or([image.height, image.width]);
        let p = self.padding as isize;
        let (ph, pw) = (image.height as isize + 2 * p, image.width as isize + 2 * p);
        let top = rng.random_range(0..=(ph - ch as isize).max(0) as i64) as isize - p;
        let left = rng.random_range(0..=(pw - cw as isize).max(0) as i64) as isize - p;
        let mut out = vec![self.fill; image.channels * ch * cw];
        let source = |i: isize, len: usize| {
            let len = len as isize;
            let i = if self.reflect && len > 1 {
                // Reflect about the edge pixels, period 2·(len − 1).
                let period = 2 * (len - 1);
                let m = i.rem_euclid(period);
                if m < len {
                    m
                } else {
                    period - m
                }
            } else {
                i
            };
            (0..len).contains(&i).then_some(i as usize)
        };
        for (src, dst) in image
            .data
            .chunks_exact(image.plane())
            .zip(out.chunks_exact_mut(ch * cw))
        {
            for y in 0..ch {
                let Some(sy) = source(top + y as isize, image.height) else {
                    continue;
                };
                for x in 0..cw {
                    if let Some(sx) = source(left + x as isize, image.width) {
                        dst[y * cw + x] = src[sy * image.width + sx];
                    }
                }
            }
        }
        *image = Image {
            data: out,
            channels: image.channels,
            height: ch,
            width: cw,
        };
    }
}

/// Cuts a window covering a random fraction `scale` of the area with a random aspect ratio in
/// `ratio` (log-uniform), and resizes it bilinearly to `size`, as torchvision's
/// `RandomResizedCrop` (10 tries, then the central crop of the nearest allowed ratio).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomResizedCrop {
    /// `[height, width]` of the output.
    pub size: [usize; 2],
    /// Range of the window's area as a fraction of the image.
    pub scale: [f32; 2],
    /// Range of the window's width / height.
    pub ratio: [f32; 2],
}

/// 32×32 output (CIFAR), torchvision's scale (0.08, 1) and ratio (3/4, 4/3).
impl Default for RandomResizedCrop {
    fn default() -> Self {
        Self {
            size: [32, 32],
            scale: [0.08, 1.0],
            ratio: [3.0 / 4.0, 4.0 / 3.0],
        }
    }
}

impl RandomResizedCrop {
    pub(crate) fn validate(&self) -> Result<()> {
        let what = "random resized crop";
        check(!self.size.contains(&0), what, || {
            format!("size {:?} has a zero dimension", self.size)
        })?;
        check(
            is_range(self.scale) && self.scale[0] > 0.0 && self.scale[1] <= 1.0,
            what,
            || {
                format!(
                    "scale must be an ordered range in (0, 1], got {:?}",
                    self.scale
                )
            },
        )?;
        check(is_range(self.ratio) && self.ratio[0] > 0.0, what, || {
            format!(
                "ratio must be an ordered positive range, got {:?}",
                self.ratio
            )
        })
    }

    pub(crate) fn apply<R: Rng>(&self, image: &mut Image, rng: &mut R) {
        let [top, left, h, w] = self.window(image.height, image.width, rng);
        *image = resize_window(image, [top, left, h, w], self.size);
    }

    /// `[top, left, height, width]` of the window.
    fn window<R: Rng>(&self, height: usize, width: usize, rng: &mut R) -> [usize; 4] {
        let area = (height * width) as f32;
        let log_ratio = [self.ratio[0].ln(), self.ratio[1].ln()];
        for _ in 0..10 {
            let target = area * uniform(rng, self.scale);
            let aspect = uniform(rng, log_ratio).exp();
            let w = (target * aspect).sqrt().round() as usize;
            let h = (target / aspect).sqrt().round() as usize;
            if (1..=width).contains(&w) && (1..=height).contains(&h) {
                let top = rng.random_range(0..=height - h);
                let left = rng.random_range(0..=width - w);
                return [top, left, h, w];
            }
        }
        let in_ratio = width as f32 / height as f32;
        let (h, w) = if in_ratio < self.ratio[0] {
            ((width as f32 / self.ratio[0]).round() as usize, width)
        } else if in_ratio > self.ratio[1] {
            (height, (height as f32 * self.ratio[1]).round() as usize)
        } else {
            (height, width)
        };
        let (h, w) = (h.clamp(1, height), w.clamp(1, width));
        [(height - h) / 2, (width - w) / 2, h, w]
    }
}

/// The `[top, left, h, w]` window of `image` resized bilinearly to `[out_h, out_w]` (pixel-centre
/// alignment, edges clamped).
pub(crate) fn resize_window(
    image: &Image,
    [top, left, h, w]: [usize; 4],
    [oh, ow]: [usize; 2],
) -> Image {
    let (sy, sx) = (h as f32 / oh as f32, w as f32 / ow as f32);
    let mut out = Vec::with_capacity(image.channels * oh * ow);
    for plane in image.data.chunks_exact(image.plane()) {
        for y in 0..oh {
            let fy = ((y as f32 + 0.5) * sy - 0.5).clamp(0.0, (h - 1) as f32);
            let (y0, ty) = (fy.floor() as usize, fy.fract());
            let y1 = (y0 + 1).min(h - 1);
            for x in 0..ow {
                let fx = ((x as f32 + 0.5) * sx - 0.5).clamp(0.0, (w - 1) as f32);
                let (x0, tx) = (fx.floor() as usize, fx.fract());
                let x1 = (x0 + 1).min(w - 1);
                let at = |yy: usize, xx: usize| plane[(top + yy) * image.width + left + xx];
                let upper = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * tx;
                let lower = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * tx;
                out.push(upper + (lower - upper) * ty);
            }
        }
    }
    Image {
        data: out,
        channels: image.channels,
        height: oh,
        width: ow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn ramp(c: usize, h: usize, w: usize) -> Image {
        Image {
            data: (0..c * h * w).map(|i| i as f32).collect(),
            channels: c,
            height: h,
            width: w,
        }
    }

    #[test]
    fn reflect_padding_mirrors_about_the_edge_pixels() {
        // Three equal rows 0 1 2 3 (any vertical shift gives the same rows); padded by 2 with
        // reflection each reads 2 1 | 0 1 2 3 | 2 1, as torch's 'reflect'.
        let image = Image {
            data: [0.0, 1.0, 2.0, 3.0].repeat(3),
            channels: 1,
            height: 3,
            width: 4,
        };
        let padded = [2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0, 1.0];
        let crop = RandomCrop {
            size: Some([1, 4]),
            padding: 2,
            fill: -1.0,
            reflect: true,
        };
        let mut seen = std::collections::HashSet::new();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..100 {
            let mut out = image.clone();
            crop.apply(&mut out, &mut rng);
            let start = padded
                .windows(4)
                .position(|w| w == out.data.as_slice())
                .unwrap_or_else(|| panic!("{:?} is no window of the reflected row", out.data));
            seen.insert(start);
        }
        assert_eq!(seen.len(), 5, "every offset from 0 to 2·padding: {seen:?}");
    }

    #[test]
    fn padded_crop_keeps_the_shape_and_takes_a_shifted_window() {
        let image = ramp(3, 6, 5);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..20 {
            let mut out = image.clone();
            RandomCrop {
                fill: -1.0,
                ..Default::default()
            }
            .apply(&mut out, &mut rng);
            assert_eq!(
                (out.channels, out.height, out.width, out.data.len()),
                (3, 6, 5, 90)
            );
            // Every kept pixel is some input pixel of the same channel; the rest is padding.
            for (c, plane) in out.data.chunks(30).enumerate() {
                assert!(plane.iter().all(|&v| v == -1.0 || (v as usize) / 30 == c));
            }
        }
        let mut smaller = image.clone();
        RandomCrop {
            size: Some([2, 3]),
            padding: 0,
            ..Default::default()
        }
        .apply(&mut smaller, &mut rng);
        assert_eq!(
            (smaller.height, smaller.width, smaller.data.len()),
            (2, 3, 18)
        );
        // Without padding a crop is a contiguous window: consecutive columns differ by 1.
        assert_eq!(smaller.data[1] - smaller.data[0], 1.0);
        assert_eq!(smaller.data[3] - smaller.data[0], 5.0);
    }

    #[test]
    fn resized_crop_has_the_requested_shape() {
        let image = ramp(2, 20, 30);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let t = RandomResizedCrop {
            size: [7, 9],
            ..Default::default()
        };
        for _ in 0..20 {
            let mut out = image.clone();
            t.apply(&mut out, &mut rng);
            assert_eq!(
                (out.channels, out.height, out.width, out.data.len()),
                (2, 7, 9, 126)
            );
            assert!(out.data[..63].iter().all(|&v| (0.0..600.0).contains(&v)));
        }
        let whole = resize_window(&image, [0, 0, 20, 30], [20, 30]);
        assert_eq!(whole, image, "resizing to the same size is the identity");
    }

    #[test]
    fn invalid_crops_are_rejected() {
        assert!(RandomCrop {
            size: Some([0, 3]),
            ..Default::default()
        }
        .validate()
        .is_err());
        let bad = RandomResizedCrop {
            scale: [0.5, 1.5],
            ..Default::default()
        };
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("random resized crop: scale"), "{err}");
    }
}
