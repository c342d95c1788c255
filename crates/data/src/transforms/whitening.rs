//! PCA and ZCA whitening as a preprocessing step: fitted once on the training images (flattened),
//! then applied to every image so that the features have zero mean and (near) identity
//! covariance.

use super::eigen::symmetric_eigen;
use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// Which whitening rotation to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteningKind {
    /// `W = Λ^{-1/2} Uᵀ`: decorrelated principal components (not an image any more).
    Pca,
    /// `W = U Λ^{-1/2} Uᵀ`: the whitened data closest to the original, still an image.
    Zca,
}

/// A fitted whitening map `x ↦ W (x − μ)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Whitening {
    kind: WhiteningKind,
    dim: usize,
    mean: Vec<f32>,
    /// Row-major `dim × dim`.
    matrix: Vec<f32>,
}

impl Whitening {
    /// Fits the map to `samples`, `n` rows of `dim` features each, with `epsilon` added to every
    /// eigenvalue (regularises directions of almost no variance).
    ///
    /// # Errors
    /// [`Error::Invalid`] if `dim` is zero, `samples` is not a whole number of at least two rows,
    /// or `epsilon` is negative or not finite.
    pub fn fit(samples: &[f32], dim: usize, kind: WhiteningKind, epsilon: f32) -> Result<Self> {
        if dim == 0 || samples.len() / dim * dim != samples.len() || samples.len() / dim < 2 {
            return Err(Error::Invalid(format!(
                "whitening: need at least 2 rows of {dim} features, got {} values",
                samples.len()
            )));
        }
        if !(epsilon.is_finite() && epsilon >= 0.0) {
            return Err(Error::Invalid(format!(
                "whitening: epsilon must be a non-negative number, got {epsilon}"
            )));
        }
        let n = samples.len() / dim;
        let mut mean = vec![0f64; dim];
        for row in samples.chunks_exact(dim) {
            mean.iter_mut()
                .zip(row)
                .for_each(|(m, &x)| *m += f64::from(x));
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut covariance = vec![0f64; dim * dim];
        let mut centred = vec![0f64; dim];
        for row in samples.chunks_exact(dim) {
            centred
                .iter_mut()
                .zip(row.iter().zip(&mean))
                .for_each(|(c, (&x, m))| *c = f64::from(x) - m);
            for i in 0..dim {
                let ci = centred[i];
                let out = &mut covariance[i * dim..(i + 1) * dim];
                out.iter_mut()
                    .zip(&centred)
                    .for_each(|(o, &cj)| *o += ci * cj);
            }
        }
        covariance.iter_mut().for_each(|c| *c /= n as f64);
        let (values, vectors) = symmetric_eigen(&covariance, dim);
        let inv_sqrt: Vec<f64> = values
            .iter()
            .map(|&l| 1.0 / (l.max(0.0) + f64::from(epsilon)).sqrt())
            .map(|s| if s.is_finite() { s } else { 0.0 })
            .collect();
        // PCA rows are the scaled eigenvectors; ZCA rotates them back.
        let pca = |k: usize, j: usize| inv_sqrt[k] * vectors[j * dim + k];
        let matrix = match kind {
            WhiteningKind::Pca => (0..dim * dim)
                .map(|kj| pca(kj / dim, kj % dim) as f32)
                .collect(),
            WhiteningKind::Zca => (0..dim * dim)
                .map(|ij| {
                    let (i, j) = (ij / dim, ij % dim);
                    (0..dim)
                        .map(|k| vectors[i * dim + k] * pca(k, j))
                        .sum::<f64>() as f32
                })
                .collect(),
        };
        Ok(Self {
            kind,
            dim,
            mean: mean.into_iter().map(|m| m as f32).collect(),
            matrix,
        })
    }

    /// Fits the map to the images of `dataset`, each flattened to `channels × height × width`
    /// features in [0, 1] scale (dimension must stay small: the fit is O(dim³)).
    ///
    /// # Errors
    /// As [`Whitening::fit`].
    pub fn fit_dataset(dataset: &Dataset, kind: WhiteningKind, epsilon: f32) -> Result<Self> {
        let samples: Vec<f32> = dataset
            .images()
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect();
        Self::fit(&samples, dataset.image_len(), kind, epsilon)
    }

    /// The kind fitted.
    pub fn kind(&self) -> WhiteningKind {
        self.kind
    }

    /// Number of features per sample.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Whitens every `dim`-long row of `data` in place.
    ///
    /// # Errors
    /// [`Error::Invalid`] if `data` is not a whole number of rows.
    pub fn apply(&self, data: &mut [f32]) -> Result<()> {
        if data.len() / self.dim * self.dim != data.len() {
            return Err(Error::Invalid(format!(
                "whitening: {} values are not a whole number of {}-feature rows",
                data.len(),
                self.dim
            )));
        }
        let mut centred = vec![0f32; self.dim];
        for row in data.chunks_exact_mut(self.dim) {
            centred
                .iter_mut()
                .zip(row.iter().zip(&self.mean))
                .for_each(|(c, (x, m))| *c = x - m);
            for (out, w) in row.iter_mut().zip(self.matrix.chunks_exact(self.dim)) {
                *out = w.iter().zip(&centred).map(|(a, b)| a * b).sum();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `n` samples of 4 strongly correlated features.
    fn correlated(n: usize) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        (0..n)
            .flat_map(|_| {
                let [a, b, c, d]: [f32; 4] = rng.random();
                [
                    a,
                    a + 0.1 * b,
                    2.0 * a - b + 0.3 * c,
                    0.5 + 0.3 * b + 0.2 * d,
                ]
            })
            .collect()
    }

    fn covariance(data: &[f32], dim: usize) -> Vec<f64> {
        let n = (data.len() / dim) as f64;
        let mean: Vec<f64> = (0..dim)
            .map(|j| data.chunks_exact(dim).map(|r| f64::from(r[j])).sum::<f64>() / n)
            .collect();
        (0..dim * dim)
            .map(|ij| {
                let (i, j) = (ij / dim, ij % dim);
                data.chunks_exact(dim)
                    .map(|r| (f64::from(r[i]) - mean[i]) * (f64::from(r[j]) - mean[j]))
                    .sum::<f64>()
                    / n
            })
            .collect()
    }

    #[test]
    fn whitened_data_has_identity_covariance() {
        let data = correlated(2000);
        for kind in [WhiteningKind::Pca, WhiteningKind::Zca] {
            let w = Whitening::fit(&data, 4, kind, 0.0).unwrap();
            let mut out = data.clone();
            w.apply(&mut out).unwrap();
            let cov = covariance(&out, 4);
            for (ij, c) in cov.iter().enumerate() {
                let expected = if ij / 4 == ij % 4 { 1.0 } else { 0.0 };
                assert!((c - expected).abs() < 1e-3, "{kind:?} cov[{ij}] = {c}");
            }
        }
    }

    #[test]
    fn zca_is_symmetric_and_bad_input_is_rejected() {
        let w = Whitening::fit(&correlated(500), 4, WhiteningKind::Zca, 1e-5).unwrap();
        for i in 0..4 {
            for j in 0..4 {
                assert!((w.matrix[i * 4 + j] - w.matrix[j * 4 + i]).abs() < 1e-4);
            }
        }
        assert!(Whitening::fit(&[1.0; 4], 4, WhiteningKind::Zca, 0.0).is_err());
        assert!(Whitening::fit(&[1.0; 8], 4, WhiteningKind::Zca, -1.0).is_err());
        assert!(w.apply(&mut [0.0; 5]).is_err());
        // Four 1×2×2 images whose features are the rows of `correlated`, as bytes.
        let bytes: Vec<u8> = correlated(300)
            .iter()
            .map(|v| (v * 60.0 + 60.0) as u8)
            .collect();
        let ds = Dataset::new(bytes, vec![0; 300], [1, 2, 2], vec!["x".into()]).unwrap();
        let fitted = Whitening::fit_dataset(&ds, WhiteningKind::Pca, 1e-6).unwrap();
        assert_eq!((fitted.dim(), fitted.kind()), (4, WhiteningKind::Pca));
    }
}
