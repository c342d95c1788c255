//! AlexNet's PCA colour augmentation ("fancy PCA", Krizhevsky et al., 2012): adds to every pixel
//! a random combination of the principal components of the RGB colours of the training set,
//! `Σ_k α_k λ_k e_k` with `α_k ~ N(0, alpha_std)` drawn once per image.

use rand::Rng;
use rand_distr::{Distribution, Normal};

use super::eigen::symmetric_eigen;
use super::{check, Image};
use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// PCA colour noise with the given eigen-decomposition of the RGB covariance (pixel values in
/// [0, 1] scale).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PcaLighting {
    /// Standard deviation of each `α_k` (AlexNet: 0.1).
    pub alpha_std: f32,
    /// Eigenvalues `λ_k` of the RGB covariance.
    pub eigenvalues: [f32; 3],
    /// Eigenvectors: `eigenvectors[c][k]` is channel `c` of `e_k`.
    pub eigenvectors: [[f32; 3]; 3],
}

/// The ImageNet eigen-decomposition (pixels in [0, 1] scale) used by the common AlexNet-style
/// re-implementations such as fb.resnet.torch, with AlexNet's `alpha_std` 0.1.
impl Default for PcaLighting {
    fn default() -> Self {
        Self {
            alpha_std: 0.1,
            eigenvalues: [0.2175, 0.0188, 0.0045],
            eigenvectors: [
                [-0.5675, 0.7192, 0.4009],
                [-0.5808, -0.0045, -0.8140],
                [-0.5836, -0.6948, 0.4203],
            ],
        }
    }
}

impl PcaLighting {
    /// Computes the eigen-decomposition of the RGB covariance of `dataset` (all pixels, [0, 1]
    /// scale) once.
    ///
    /// # Errors
    /// [`Error::Invalid`] unless the dataset has 3 channels and at least one image.
    pub fn fit(dataset: &Dataset, alpha_std: f32) -> Result<Self> {
        if dataset.channels() != 3 || dataset.is_empty() {
            return Err(Error::Invalid(format!(
                "PCA colour augmentation needs a non-empty RGB dataset, got {} images of {} channel(s)",
                dataset.len(),
                dataset.channels()
            )));
        }
        let plane = dataset.height() * dataset.width();
        let (mut sum, mut outer) = ([0f64; 3], [0f64; 9]);
        for image in dataset.images().chunks_exact(dataset.image_len()) {
            for i in 0..plane {
                let rgb = [0, 1, 2].map(|c| f64::from(image[c * plane + i]) / 255.0);
                for a in 0..3 {
                    sum[a] += rgb[a];
                    for b in 0..3 {
                        outer[a * 3 + b] += rgb[a] * rgb[b];
                    }
                }
            }
        }
        let count = (dataset.len() * plane) as f64;
        let covariance: Vec<f64> = (0..9)
            .map(|ab| outer[ab] / count - sum[ab / 3] * sum[ab % 3] / (count * count))
            .collect();
        let (values, vectors) = symmetric_eigen(&covariance, 3);
        Ok(Self {
            alpha_std,
            eigenvalues: [0, 1, 2].map(|k| values[k].max(0.0) as f32),
            eigenvectors: [0, 1, 2].map(|c| [0, 1, 2].map(|k| vectors[c * 3 + k] as f32)),
        })
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let finite = self
            .eigenvalues
            .iter()
            .chain(self.eigenvectors.iter().flatten())
            .all(|x| x.is_finite());
        check(
            self.alpha_std.is_finite() && self.alpha_std >= 0.0 && finite,
            "PCA colour",
            || {
                format!("alpha std must be non-negative and the eigen-decomposition finite, got {self:?}")
            },
        )
    }

    /// Adds the colour shift to every pixel (images without 3 channels are left alone).
    pub(crate) fn apply<R: Rng>(&self, image: &mut Image, rng: &mut R) {
        if image.channels != 3 || self.alpha_std == 0.0 {
            return;
        }
        let normal = Normal::new(0.0, self.alpha_std).expect("validated std");
        let alpha: [f32; 3] = [(); 3].map(|()| normal.sample(rng));
        let plane = image.plane();
        for (c, channel) in image.data.chunks_exact_mut(plane).enumerate() {
            let shift: f32 = (0..3)
                .map(|k| self.eigenvectors[c][k] * alpha[k] * self.eigenvalues[k])
                .sum();
            channel.iter_mut().for_each(|v| *v += shift);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn fit_finds_the_direction_of_colour_variation() {
        // Pixels vary only along (1, 1, 0): grey-yellow. The top component must be ±(1, 1, 0)/√2
        // and the others carry no variance.
        let images: Vec<u8> = (0..50u8).flat_map(|i| [i * 5, i * 5, 100]).collect();
        let ds = Dataset::new(images, vec![0; 50], [3, 1, 1], vec!["x".into()]).unwrap();
        let pca = PcaLighting::fit(&ds, 0.1).unwrap();
        let top = [0, 1, 2].map(|c| pca.eigenvectors[c][0]);
        assert!(
            (top[0].abs() - 0.70710677).abs() < 1e-4 && (top[0] - top[1]).abs() < 1e-4,
            "{top:?}"
        );
        assert!(top[2].abs() < 1e-4);
        assert!(
            pca.eigenvalues[1] < 1e-6 && pca.eigenvalues[0] > 0.01,
            "{:?}",
            pca.eigenvalues
        );
        // Every pixel of an image moves by the same shift along the fitted component.
        let mut image = Image {
            data: vec![0.5; 12],
            channels: 3,
            height: 2,
            width: 2,
        };
        pca.apply(&mut image, &mut ChaCha8Rng::seed_from_u64(0));
        let shift: Vec<f32> = image.data.iter().map(|v| v - 0.5).collect();
        assert!(
            shift[0] != 0.0 && (shift[0] - shift[4]).abs() < 1e-6 && shift[8].abs() < 1e-5,
            "{shift:?}"
        );
        let gray = Dataset::new(vec![0; 4], vec![0], [1, 2, 2], vec!["x".into()]).unwrap();
        assert!(PcaLighting::fit(&gray, 0.1).is_err());
    }
}
