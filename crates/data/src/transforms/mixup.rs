//! Mixup (Zhang et al., 2018): each image of a batch is blended with another image of the same
//! batch, `x = λ·x_i + (1 − λ)·x_j`, and its target becomes the same blend of the two one-hot
//! labels, a probability vector for a soft-target loss.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::{Beta, Distribution};

use crate::error::{Error, Result};

/// Label smoothing (Szegedy et al. 2016) of targets, `rows × classes` probabilities, in place: each
/// becomes `(1 − ε)·target + ε/classes`, PyTorch's `label_smoothing` of its cross-entropy.
pub fn smooth_targets(targets: &mut [f32], classes: usize, epsilon: f32) {
    let uniform = epsilon / classes as f32;
    targets
        .iter_mut()
        .for_each(|t| *t = (1.0 - epsilon) * *t + uniform);
}

/// One-hot targets: `labels.len() × classes` probabilities.
pub fn one_hot(labels: &[usize], classes: usize) -> Vec<f32> {
    let mut targets = vec![0.0; labels.len() * classes];
    for (row, &label) in targets.chunks_exact_mut(classes).zip(labels) {
        row[label] = 1.0;
    }
    targets
}

/// Mixes the batch `images` (`labels.len()` images of equal size) in place with a random
/// permutation of itself, using one `λ ~ Beta(alpha, alpha)` for the batch, and returns the soft
/// targets (`labels.len() × classes`, each row summing to 1).
///
/// # Errors
/// [`Error::Invalid`] if `alpha` is not a positive number, a label is not below `classes`, or the
/// images don't divide evenly among the labels.
pub fn mixup<R: Rng>(
    images: &mut [f32],
    labels: &[usize],
    classes: usize,
    alpha: f32,
    rng: &mut R,
) -> Result<Vec<f32>> {
    let beta = Beta::new(alpha, alpha)
        .ok()
        .filter(|_| alpha.is_finite())
        .ok_or_else(|| {
            Error::Invalid(format!(
                "mixup: alpha must be a positive number, got {alpha}"
            ))
        })?;
    if labels.iter().any(|&l| l >= classes)
        || labels.is_empty()
        || images.len() / labels.len() * labels.len() != images.len()
    {
        return Err(Error::Invalid(format!(
            "mixup: {} values for {} labels of {classes} classes",
            images.len(),
            labels.len()
        )));
    }
    let lambda = beta.sample(rng);
    let mut partner: Vec<usize> = (0..labels.len()).collect();
    partner.shuffle(rng);
    let len = images.len() / labels.len();
    let original = images.to_vec();
    for (i, image) in images.chunks_exact_mut(len).enumerate() {
        let other = &original[partner[i] * len..(partner[i] + 1) * len];
        image
            .iter_mut()
            .zip(other)
            .for_each(|(x, &y)| *x = lambda * *x + (1.0 - lambda) * y);
    }
    let mut targets = vec![0.0; labels.len() * classes];
    for (i, row) in targets.chunks_exact_mut(classes).enumerate() {
        row[labels[i]] += lambda;
        row[labels[partner[i]]] += 1.0 - lambda;
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn targets_are_distributions_matching_the_pixel_blend() {
        // Image i is constant i and has label i, so each mixed pixel must equal the target's
        // expected label.
        let run = |seed| {
            let labels = [0, 1, 2, 3, 4];
            let mut images: Vec<f32> = (0..5).flat_map(|i| [i as f32; 3]).collect();
            let targets = mixup(
                &mut images,
                &labels,
                5,
                0.4,
                &mut ChaCha8Rng::seed_from_u64(seed),
            )
            .unwrap();
            (images, targets)
        };
        let (images, targets) = run(1);
        for (row, pixels) in targets.chunks(5).zip(images.chunks(3)) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{row:?}");
            let expected: f32 = row.iter().enumerate().map(|(k, p)| k as f32 * p).sum();
            assert!(
                pixels.iter().all(|&v| (v - expected).abs() < 1e-5),
                "{pixels:?} vs {expected}"
            );
        }
        assert!(
            targets.iter().any(|&p| p > 0.0 && p < 1.0),
            "some image is actually mixed"
        );
        assert_eq!(run(1), (images, targets), "seeded mixup is reproducible");
        assert_ne!(run(2).1, run(1).1);
    }

    #[test]
    fn one_hot_and_errors() {
        assert_eq!(one_hot(&[2, 0], 3), [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        let mut images = [0.0; 4];
        assert!(mixup(
            &mut images,
            &[0, 1],
            2,
            0.0,
            &mut ChaCha8Rng::seed_from_u64(0)
        )
        .is_err());
        assert!(mixup(
            &mut images,
            &[0, 2],
            2,
            1.0,
            &mut ChaCha8Rng::seed_from_u64(0)
        )
        .is_err());
    }
}
