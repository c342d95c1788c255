//! Cutout (DeVries and Taylor, 2017): a square of the image set to a constant.

use rand::Rng;

use super::{check, Image};
use crate::error::Result;

/// Sets a `size × size` square centred on a random pixel (clipped at the borders) to `fill` in
/// every channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cutout {
    /// Side of the square in pixels.
    pub size: usize,
    /// The value written (0.5 is mid-grey before normalisation).
    pub fill: f32,
}

/// The paper's CIFAR-10 setting: 16 pixels.
impl Default for Cutout {
    fn default() -> Self {
        Self {
            size: 16,
            fill: 0.5,
        }
    }
}

impl Cutout {
    pub(crate) fn validate(&self) -> Result<()> {
        check(self.size > 0 && self.fill.is_finite(), "cutout", || {
            format!(
                "size must be at least 1 and fill finite, got {} and {}",
                self.size, self.fill
            )
        })
    }

    pub(crate) fn apply<R: Rng>(&self, image: &mut Image, rng: &mut R) {
        let cy = rng.random_range(0..image.height) as isize;
        let cx = rng.random_range(0..image.width) as isize;
        let half = (self.size / 2) as isize;
        let span = |c: isize, len: usize| {
            let lo = (c - half).max(0) as usize;
            let hi = ((c - half + self.size as isize).max(0) as usize).min(len);
            lo..hi
        };
        let (rows, cols) = (span(cy, image.height), span(cx, image.width));
        let w = image.width;
        for plane in image.data.chunks_exact_mut(image.height * w) {
            for y in rows.clone() {
                plane[y * w + cols.start..y * w + cols.end].fill(self.fill);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn cuts_at_most_a_square_in_every_channel() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for _ in 0..20 {
            let mut image = Image {
                data: vec![1.0; 2 * 10 * 10],
                channels: 2,
                height: 10,
                width: 10,
            };
            Cutout { size: 4, fill: 0.0 }.apply(&mut image, &mut rng);
            let cut = |c: usize| {
                image.data[c * 100..(c + 1) * 100]
                    .iter()
                    .filter(|&&v| v == 0.0)
                    .count()
            };
            assert!(cut(0) > 0 && cut(0) <= 16, "{}", cut(0));
            assert_eq!(cut(0), cut(1));
        }
        assert!(Cutout { size: 0, fill: 0.0 }.validate().is_err());
    }
}
