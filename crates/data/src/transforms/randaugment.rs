//! A RandAugment-style policy (Cubuk et al., 2020): each image gets `n` operations drawn uniformly
//! from a fixed list, all at one shared magnitude `m` (0–30, as torchvision's 31 bins), each
//! geometric or signed one with a random sign.
//!
//! The list is torchvision's minus Equalize and Sharpness: identity, shear x/y (up to 0.3),
//! translate x/y (up to 150/331 of the size), rotate (30°), brightness, colour
//! and contrast (factor 1 ± 0.9), posterize (8 → 4 bits), solarize (threshold 1 → 0) and
//! autocontrast.

use rand::Rng;

use super::affine::{affine_matrix, warp};
use super::color::{adjust_brightness, adjust_contrast, adjust_saturation};
use super::{check, Image};
use crate::error::Result;

/// `n` random operations at magnitude `m` out of 30.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandAugment {
    /// Operations per image.
    pub n: usize,
    /// Shared magnitude, 0 (no change) to 30 (strongest).
    pub m: f32,
}

/// The paper's ImageNet setting: N = 2, M = 9.
impl Default for RandAugment {
    fn default() -> Self {
        Self { n: 2, m: 9.0 }
    }
}

/// Number of operations in the list.
const OPS: usize = 12;

impl RandAugment {
    pub(crate) fn validate(&self) -> Result<()> {
        check(
            (0.0..=30.0).contains(&self.m) && self.n <= 16,
            "randaugment",
            || {
                format!(
                    "n must be at most 16 and m in [0, 30], got n={} m={}",
                    self.n, self.m
                )
            },
        )
    }

    pub(crate) fn apply<R: Rng>(&self, image: &mut Image, rng: &mut R) {
        let level = self.m / 30.0;
        for _ in 0..self.n {
            let op = rng.random_range(0..OPS);
            let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
            apply_op(op, level, sign, image);
        }
    }
}

/// Applies operation `op` at `level` in [0, 1] with direction `sign`.
fn apply_op(op: usize, level: f32, sign: f32, image: &mut Image) {
    let geometric = |image: &mut Image, matrix, shift| *image = warp(image, matrix, shift, 0.0);
    let shear = (0.3 * level).atan().to_degrees() * sign;
    let translate = 150.0 / 331.0 * level * sign;
    match op {
        0 => {}
        1 => geometric(image, affine_matrix(0.0, 1.0, shear, 0.0), [0.0, 0.0]),
        2 => geometric(image, affine_matrix(0.0, 1.0, 0.0, shear), [0.0, 0.0]),
        3 => geometric(
            image,
            affine_matrix(0.0, 1.0, 0.0, 0.0),
            [translate * image.width as f32, 0.0],
        ),
        4 => geometric(
            image,
            affine_matrix(0.0, 1.0, 0.0, 0.0),
            [0.0, translate * image.height as f32],
        ),
        5 => geometric(
            image,
            affine_matrix(30.0 * level * sign, 1.0, 0.0, 0.0),
            [0.0, 0.0],
        ),
        6 => adjust_brightness(image, 1.0 + 0.9 * level * sign),
        7 => adjust_saturation(image, 1.0 + 0.9 * level * sign),
        8 => adjust_contrast(image, 1.0 + 0.9 * level * sign),
        9 => posterize(image, 8 - (4.0 * level).round() as u32),
        10 => solarize(image, 1.0 - level),
        _ => autocontrast(image),
    }
}

/// Keeps the top `bits` bits of each 8-bit pixel value.
fn posterize(image: &mut Image, bits: u32) {
    let mask = !((1u32 << (8 - bits)) - 1) as u8;
    image
        .data
        .iter_mut()
        .for_each(|v| *v = f32::from((v.clamp(0.0, 1.0) * 255.0).round() as u8 & mask) / 255.0);
}

/// Inverts the pixels at or above `threshold`.
fn solarize(image: &mut Image, threshold: f32) {
    image
        .data
        .iter_mut()
        .filter(|v| **v >= threshold)
        .for_each(|v| *v = 1.0 - *v);
}

/// Stretches each channel to span [0, 1].
fn autocontrast(image: &mut Image) {
    let plane = image.plane();
    for channel in image.data.chunks_exact_mut(plane) {
        let (lo, hi) = channel
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        if hi > lo {
            channel.iter_mut().for_each(|v| *v = (*v - lo) / (hi - lo));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn image() -> Image {
        Image {
            data: (0..3 * 8 * 8).map(|i| (i % 17) as f32 / 16.0).collect(),
            channels: 3,
            height: 8,
            width: 8,
        }
    }

    #[test]
    fn magnitude_zero_leaves_value_ops_alone_and_every_op_keeps_the_shape() {
        for op in 0..OPS {
            let mut out = image();
            apply_op(op, 0.7, -1.0, &mut out);
            assert_eq!(
                (out.channels, out.height, out.width, out.data.len()),
                (3, 8, 8, 192)
            );
            assert!(out.data.iter().all(|v| v.is_finite()));
            if op != 9 && op != 10 && op != 11 {
                let mut still = image();
                apply_op(op, 0.0, 1.0, &mut still);
                assert_eq!(still, image(), "op {op} at magnitude 0");
            }
        }
    }

    #[test]
    fn policy_is_seeded_and_validated() {
        let t = RandAugment { n: 3, m: 20.0 };
        let run = |seed| {
            let mut out = image();
            t.apply(&mut out, &mut ChaCha8Rng::seed_from_u64(seed));
            out
        };
        assert_eq!(run(1), run(1));
        assert!((0..5).any(|s| run(s) != image()));
        assert!(RandAugment { n: 2, m: 31.0 }.validate().is_err());
    }

    #[test]
    fn pixel_ops_do_what_they_say() {
        let mut img = Image {
            data: vec![0.2, 0.6, 0.9],
            channels: 1,
            height: 1,
            width: 3,
        };
        solarize(&mut img, 0.5);
        assert_eq!(img.data, [0.2, 1.0 - 0.6, 1.0 - 0.9]);
        autocontrast(&mut img);
        assert_eq!(img.data[1], 1.0);
        let mut p = Image {
            data: vec![200.0 / 255.0],
            channels: 1,
            height: 1,
            width: 1,
        };
        posterize(&mut p, 4);
        assert_eq!(p.data[0], 192.0 / 255.0);
    }
}
