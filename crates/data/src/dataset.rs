//! An in-memory image-classification dataset: u8 pixels in NCHW order, one class index per image.

use std::fmt;

use crate::error::{Error, Result};

/// Images (u8, `len × channels × height × width`, each image channel-major then row-major) and
/// their labels.
///
/// The fields are private so that the sizes always agree; build one with [`Dataset::new`] or a
/// loader such as [`Mnist::load`](crate::Mnist::load).
#[derive(Clone, PartialEq, Eq)]
pub struct Dataset {
    images: Vec<u8>,
    labels: Vec<usize>,
    channels: usize,
    height: usize,
    width: usize,
    class_names: Vec<String>,
}

/// Shows the sizes, not the pixels.
impl fmt::Debug for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("len", &self.len())
            .field("shape", &[self.channels, self.height, self.width])
            .field("class_names", &self.class_names)
            .finish_non_exhaustive()
    }
}

/// One image of a [`Dataset`] and its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample<'a> {
    /// `channels × height × width` pixels.
    pub image: &'a [u8],
    /// Class index, `< class_names.len()`.
    pub label: usize,
}

impl Dataset {
    /// Builds a dataset from `images` (`labels.len()` images of shape `[channels, height, width]`),
    /// their labels and the names of the classes (label `i` names class `class_names[i]`).
    ///
    /// # Errors
    /// [`Error::Invalid`] if a dimension is zero, if `images` doesn't hold exactly one image per
    /// label, or if a label is not below `class_names.len()`.
    pub fn new(
        images: Vec<u8>,
        labels: Vec<usize>,
        [channels, height, width]: [usize; 3],
        class_names: Vec<String>,
    ) -> Result<Self> {
        if channels == 0 || height == 0 || width == 0 {
            return Err(Error::Invalid(format!(
                "dataset: image shape [{channels}, {height}, {width}] has a zero dimension"
            )));
        }
        let image_len = channels * height * width;
        if labels.len().checked_mul(image_len) != Some(images.len()) {
            return Err(Error::Invalid(format!(
                "dataset: {} labels need {} pixel bytes of [{channels}, {height}, {width}] images, but {} were given",
                labels.len(),
                labels.len().saturating_mul(image_len),
                images.len()
            )));
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| l >= class_names.len())
        {
            return Err(Error::Invalid(format!(
                "dataset: label {label} at index {index} is out of range for {} classes",
                class_names.len()
            )));
        }
        Ok(Self {
            images,
            labels,
            channels,
            height,
            width,
            class_names,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the dataset holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The `i`-th image and its label, or `None` if `i >= len()`.
    pub fn get(&self, i: usize) -> Option<Sample<'_>> {
        let label = *self.labels.get(i)?;
        let n = self.image_len();
        Some(Sample {
            image: &self.images[i * n..(i + 1) * n],
            label,
        })
    }

    /// All pixels, `len × channels × height × width`.
    pub fn images(&self) -> &[u8] {
        &self.images
    }

    /// All labels.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Channels per image.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Rows per image.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Columns per image.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Bytes per image: `channels × height × width`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The class names; label `i` is class `class_names()[i]`.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Per-channel mean and (population) standard deviation of the pixels in [0, 1] scale (value /
    /// 255), over the whole set: the figures to give [`Normalize`](crate::Normalize). NaN for an
    /// empty dataset.
    pub fn mean_std(&self) -> (Vec<f32>, Vec<f32>) {
        let plane = self.height * self.width;
        let mut histograms = vec![[0u64; 256]; self.channels];
        for image in self.images.chunks_exact(self.image_len()) {
            for (pixels, histogram) in image.chunks_exact(plane).zip(&mut histograms) {
                for &p in pixels {
                    histogram[usize::from(p)] += 1;
                }
            }
        }
        histograms
            .iter()
            .map(|histogram| {
                let count = (self.len() * plane) as f64;
                let value = |v: usize| v as f64 / 255.0;
                let mean = histogram
                    .iter()
                    .enumerate()
                    .map(|(v, &k)| value(v) * k as f64)
                    .sum::<f64>()
                    / count;
                let var = histogram
                    .iter()
                    .enumerate()
                    .map(|(v, &k)| (value(v) - mean).powi(2) * k as f64)
                    .sum::<f64>()
                    / count;
                (mean as f32, var.sqrt() as f32)
            })
            .unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| i.to_string()).collect()
    }

    #[test]
    fn get_returns_each_image_and_label() {
        let ds = Dataset::new((0..12).collect(), vec![1, 0, 1], [2, 1, 2], names(2)).unwrap();
        assert_eq!(ds.len(), 3);
        assert_eq!(ds.image_len(), 4);
        assert_eq!(
            ds.get(1),
            Some(Sample {
                image: &[4, 5, 6, 7],
                label: 0
            })
        );
        assert_eq!(ds.get(3), None);
    }

    #[test]
    fn debug_shows_sizes_not_pixels() {
        let ds = Dataset::new(vec![7; 8], vec![0, 1], [1, 2, 2], names(2)).unwrap();
        let shown = format!("{ds:?}");
        assert_eq!(
            shown,
            r#"Dataset { len: 2, shape: [1, 2, 2], class_names: ["0", "1"], .. }"#
        );
    }

    #[test]
    fn new_rejects_inconsistent_parts() {
        let err = Dataset::new(vec![0; 5], vec![0, 0], [1, 1, 2], names(1))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("2 labels need 4 pixel bytes") && err.contains("5 were given"),
            "{err}"
        );
        let err = Dataset::new(vec![0; 2], vec![0, 3], [1, 1, 1], names(3))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("label 3 at index 1 is out of range for 3 classes"),
            "{err}"
        );
        let err = Dataset::new(vec![], vec![], [1, 0, 1], names(1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("zero dimension"), "{err}");
    }

    #[test]
    fn mean_std_is_per_channel_in_unit_scale() {
        // Channel 0 holds 0 and 255 (mean 0.5, std 0.5); channel 1 is constant 51 (mean 0.2, std
        // 0).
        let ds = Dataset::new(vec![0, 51, 255, 51], vec![0, 0], [2, 1, 1], names(1)).unwrap();
        let (mean, std) = ds.mean_std();
        assert_eq!(mean, vec![0.5, 0.2]);
        assert_eq!(std, vec![0.5, 0.0]);
    }
}
