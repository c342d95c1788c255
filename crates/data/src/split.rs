//! Train/validation split of a training set, by fraction and seed.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::dataset::Dataset;
use crate::error::{Error, Result};

impl Dataset {
    /// The images at `indices`, in that order, with the same class names.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let n = self.image_len();
        let mut images = Vec::with_capacity(indices.len() * n);
        for &i in indices {
            images.extend_from_slice(&self.images()[i * n..(i + 1) * n]);
        }
        let labels = indices.iter().map(|&i| self.labels()[i]).collect();
        Dataset::new(
            images,
            labels,
            [self.channels(), self.height(), self.width()],
            self.class_names().to_vec(),
        )
        .expect("a subset of a valid dataset is valid")
    }

    /// Splits the set into `(train, validation)`: `round(len × val_fraction)` images drawn at
    /// random (from `seed`) go to validation, the rest stay in training; both keep the original
    /// order. The same seed gives the same split.
    ///
    /// # Errors
    /// [`Error::Invalid`] if `val_fraction` is not in `[0, 1)`.
    pub fn split(&self, val_fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        if !(0.0..1.0).contains(&val_fraction) {
            return Err(Error::Invalid(format!(
                "validation split: fraction {val_fraction} must be at least 0 and below 1"
            )));
        }
        let val_len = (self.len() as f64 * val_fraction).round() as usize;
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let (val, train) = order.split_at_mut(val_len);
        val.sort_unstable();
        train.sort_unstable();
        Ok((self.subset(train), self.subset(val)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(n: usize) -> Dataset {
        let images = (0..n).map(|i| i as u8).collect();
        let labels = (0..n).map(|i| i % 2).collect();
        Dataset::new(images, labels, [1, 1, 1], vec!["a".into(), "b".into()]).unwrap()
    }

    #[test]
    fn split_partitions_the_set_reproducibly() {
        let ds = dataset(100);
        let (train, val) = ds.split(0.2, 7).unwrap();
        assert_eq!((train.len(), val.len()), (80, 20));
        let mut all: Vec<u8> = train.images().iter().chain(val.images()).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<u8>>());
        for part in [&train, &val] {
            for (k, &pixel) in part.images().iter().enumerate() {
                assert_eq!(part.labels()[k], usize::from(pixel) % 2);
            }
        }
        assert_eq!(ds.split(0.2, 7).unwrap().1, val);
        assert_ne!(ds.split(0.2, 8).unwrap().1, val);
        assert_eq!(ds.split(0.0, 1).unwrap().0, ds);
    }

    #[test]
    fn bad_fraction_is_rejected() {
        for bad in [1.0, -0.1, f64::NAN] {
            let err = dataset(3).split(bad, 0).unwrap_err().to_string();
            assert!(err.contains("must be at least 0 and below 1"), "{err}");
        }
    }
}
