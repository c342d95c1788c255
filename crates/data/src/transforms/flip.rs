//! Horizontal flip.

use rand::Rng;

use super::{check, Draw, Image};
use crate::error::Result;

/// Mirrors the image left–right with probability `p`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HorizontalFlip {
    /// Probability of flipping.
    pub p: f32,
}

/// Flips half the images.
impl Default for HorizontalFlip {
    fn default() -> Self {
        Self { p: 0.5 }
    }
}

impl HorizontalFlip {
    pub(crate) fn validate(&self) -> Result<()> {
        check((0.0..=1.0).contains(&self.p), "horizontal flip", || {
            format!("probability must be in [0, 1], got {}", self.p)
        })
    }

    pub(crate) fn apply<R: Rng>(&self, image: &mut Image, rng: &mut R) {
        if rng.random::<f32>() < self.p {
            flip_horizontal(&mut image.data, image.width);
        }
    }
}

/// airbench's alternating flip: each image is mirrored in every other epoch (a fixed random half
/// of the images in even epochs, the other half in odd ones), so that any two consecutive epochs
/// show every image both ways instead of leaving it to chance.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AlternatingFlip;

impl AlternatingFlip {
    pub(crate) fn apply(&self, image: &mut Image, draw: Draw) {
        if draw.alternate_flipped() {
            flip_horizontal(&mut image.data, image.width);
        }
    }
}

/// Mirrors every row of length `width` in `data` (any number of images and channels).
pub fn flip_horizontal(data: &mut [f32], width: usize) {
    for row in data.chunks_exact_mut(width) {
        row.reverse();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn flipping_twice_is_the_identity_and_once_mirrors_rows() {
        let original: Vec<f32> = (0..2 * 3 * 5).map(|i| i as f32).collect();
        let mut data = original.clone();
        flip_horizontal(&mut data, 5);
        assert_eq!(data[..5], [4.0, 3.0, 2.0, 1.0, 0.0]);
        flip_horizontal(&mut data, 5);
        assert_eq!(data, original);
    }

    #[test]
    fn probability_decides_and_is_validated() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let image = Image {
            data: vec![0.0, 1.0],
            channels: 1,
            height: 1,
            width: 2,
        };
        let mut always = image.clone();
        HorizontalFlip { p: 1.0 }.apply(&mut always, &mut rng);
        assert_eq!(always.data, [1.0, 0.0]);
        let mut never = image.clone();
        HorizontalFlip { p: 0.0 }.apply(&mut never, &mut rng);
        assert_eq!(never, image);
        assert!(HorizontalFlip { p: 1.5 }.validate().is_err());
    }

    #[test]
    fn the_alternating_flip_mirrors_each_image_every_other_epoch() {
        let pipeline = crate::transforms::Pipeline::parse("alt-flip").unwrap();
        let flipped = |seed: u64, epoch: u64, index: u64| {
            let mut image = Image {
                data: vec![0.0, 1.0],
                channels: 1,
                height: 1,
                width: 2,
            };
            pipeline.apply(&mut image, Draw { seed, epoch, index });
            image.data == [1.0, 0.0]
        };
        let images = 400;
        for index in 0..images {
            for epoch in 0..5 {
                assert_ne!(flipped(7, epoch, index), flipped(7, epoch + 1, index));
                assert_eq!(flipped(7, epoch, index), flipped(7, epoch, index));
            }
        }
        // Which half starts flipped is random (and depends on the seed).
        let first: Vec<bool> = (0..images).map(|i| flipped(7, 0, i)).collect();
        let count = first.iter().filter(|&&f| f).count();
        assert!((150..=250).contains(&count), "{count} of {images}");
        let other_seed: Vec<bool> = (0..images).map(|i| flipped(8, 0, i)).collect();
        assert_ne!(first, other_seed);
    }
}
