//! Colour jitter: brightness, contrast and saturation, each a blend with a reference image
//! (black, the mean grey, the greyscale image) as in torchvision, clamped to [0, 1].

use rand::seq::SliceRandom;
use rand::Rng;

use super::{check, uniform, Image};
use crate::error::Result;

/// Multiplies brightness, contrast and saturation by factors drawn from `[1 − x, 1 + x]` (floored
/// at 0) for each setting `x`, in a random order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColorJitter {
    /// Brightness jitter.
    pub brightness: f32,
    /// Contrast jitter.
    pub contrast: f32,
    /// Saturation jitter (ignored for single-channel images).
    pub saturation: f32,
}

/// 0.4 for each, a common CIFAR/ImageNet setting.
impl Default for ColorJitter {
    fn default() -> Self {
        Self {
            brightness: 0.4,
            contrast: 0.4,
            saturation: 0.4,
        }
    }
}

impl ColorJitter {
    pub(crate) fn validate(&self) -> Result<()> {
        let all = [self.brightness, self.contrast, self.saturation];
        check(
            all.iter().all(|x| x.is_finite() && *x >= 0.0),
            "colour jitter",
            || format!("brightness, contrast and saturation must be non-negative, got {all:?}"),
        )
    }

    pub(crate) fn apply<R: Rng>(&self, image: &mut Image, rng: &mut R) {
        let mut order = [0, 1, 2];
        order.shuffle(rng);
        for k in order {
            let (x, adjust): (f32, fn(&mut Image, f32)) = match k {
                0 => (self.brightness, adjust_brightness),
                1 => (self.contrast, adjust_contrast),
                _ => (self.saturation, adjust_saturation),
            };
            if x > 0.0 {
                adjust(image, uniform(rng, [(1.0 - x).max(0.0), 1.0 + x]));
            }
        }
    }
}

/// `a·f + b·(1 − f)` clamped to [0, 1].
fn blend(a: f32, b: f32, f: f32) -> f32 {
    (a * f + b * (1.0 - f)).clamp(0.0, 1.0)
}

/// Scales every pixel by `f`.
pub(crate) fn adjust_brightness(image: &mut Image, f: f32) {
    image.data.iter_mut().for_each(|v| *v = blend(*v, 0.0, f));
}

/// The luma of each pixel (ITU-R 601 weights), or the single channel itself.
fn grayscale(image: &Image) -> Vec<f32> {
    let plane = image.plane();
    if image.channels < 3 {
        return image.data[..plane].to_vec();
    }
    let (r, rest) = image.data.split_at(plane);
    let (g, b) = rest.split_at(plane);
    (0..plane)
        .map(|i| 0.299 * r[i] + 0.587 * g[i] + 0.114 * b[i])
        .collect()
}

/// Blends with the mean grey level: `f = 0` gives a flat grey image, `f = 1` the input.
pub(crate) fn adjust_contrast(image: &mut Image, f: f32) {
    let gray = grayscale(image);
    let mean = gray.iter().sum::<f32>() / gray.len() as f32;
    image.data.iter_mut().for_each(|v| *v = blend(*v, mean, f));
}

/// Blends each pixel with its grey level: `f = 0` gives the greyscale image.
pub(crate) fn adjust_saturation(image: &mut Image, f: f32) {
    if image.channels < 3 {
        return;
    }
    let gray = grayscale(image);
    for plane in image.data.chunks_exact_mut(gray.len()).take(3) {
        for (v, &g) in plane.iter_mut().zip(&gray) {
            *v = blend(*v, g, f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn rgb() -> Image {
        Image {
            data: vec![0.2, 0.8, 0.4, 0.4, 0.6, 0.2],
            channels: 3,
            height: 1,
            width: 2,
        }
    }

    #[test]
    fn unit_factors_are_the_identity_and_zero_factors_reach_the_reference() {
        let mut image = rgb();
        adjust_brightness(&mut image, 1.0);
        adjust_contrast(&mut image, 1.0);
        adjust_saturation(&mut image, 1.0);
        assert_eq!(image, rgb());
        let mut gray = rgb();
        adjust_saturation(&mut gray, 0.0);
        assert_eq!(gray.data[..2], gray.data[2..4]);
        assert_eq!(gray.data[..2], gray.data[4..]);
        let mut flat = rgb();
        adjust_contrast(&mut flat, 0.0);
        assert!(flat.data.windows(2).all(|w| (w[0] - w[1]).abs() < 1e-6));
        let mut dark = rgb();
        adjust_brightness(&mut dark, 0.0);
        assert!(dark.data.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn jitter_stays_in_range_is_seeded_and_validated() {
        let t = ColorJitter {
            brightness: 0.9,
            contrast: 0.9,
            saturation: 0.9,
        };
        let run = |seed| {
            let mut image = rgb();
            t.apply(&mut image, &mut ChaCha8Rng::seed_from_u64(seed));
            image
        };
        assert_eq!(run(4), run(4));
        assert_ne!(run(4), run(5));
        assert!(run(6).data.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(ColorJitter {
            contrast: -0.1,
            ..t
        }
        .validate()
        .is_err());
    }
}
