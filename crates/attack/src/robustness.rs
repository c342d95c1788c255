//! Robust accuracy over a list of ε: every adversarial batch checked to lie in [0, 1] and inside
//! its ε-ball before it is counted.
use crate::attack::Attack;
use crate::classifier::{Classifier, Predictions};
use crate::error::{check_eps, Error, Result};
use crate::pixels::{l2_norms, project, Norm, PixelBatch};
use convkit_tensor::Tensor;
use rand::Rng;

/// How far past ε a perturbation may measure from f32 rounding alone: `1e-6 + 1e-5·ε`.
fn tolerance(eps: f32) -> f32 {
    1e-6 + 1e-5 * eps
}

/// What one attack did to one batch at one ε.
#[derive(Clone, Debug)]
pub struct AttackedBatch {
    pub eps: f32,
    /// The adversarial images, `[N, C, H, W]` pixels in [0, 1] within ε of the clean ones.
    pub adversarial: Tensor,
    pub predictions: Predictions,
}

/// Runs `attack` on `images` (pixels in [0, 1]) at every ε of `eps`, checks each result with
/// [`check_perturbation`] and predicts it. A minimal attack (DeepFool, C&W) runs once and its
/// perturbation is projected onto each ε-ball (then clamped), so an image counts as broken at ε
/// only if the projected image really is misclassified. An image the model gets wrong to begin
/// with is its own adversarial example at every ε (robust accuracy never exceeds clean accuracy).
///
/// # Errors
/// A negative or non-finite ε; the attack's own errors; [`Error::BrokenInvariant`] if an
/// adversarial image leaves [0, 1] or its ε-ball (a bug in the attack, never a result).
pub fn attack_batch(
    classifier: &Classifier,
    attack: &Attack,
    images: &Tensor,
    labels: &[usize],
    eps: &[f32],
    rng: &mut impl Rng,
) -> Result<Vec<AttackedBatch>> {
    for &e in eps {
        check_eps("attack", e)?;
    }
    let clean = PixelBatch::new("attack", images, labels)?;
    let clean_predictions = classifier.predict(images)?.classes;
    let misclassified: Vec<usize> = (0..labels.len())
        .filter(|&i| clean_predictions[i] != labels[i])
        .collect();
    let minimal = match attack.is_minimal() {
        true => Some(attack.run(classifier, images, labels, 0.0, rng)?.to_vec()),
        false => None,
    };
    let mut out = Vec::with_capacity(eps.len());
    for &e in eps {
        let mut adversarial = match &minimal {
            Some(unbounded) => {
                let mut data = unbounded.clone();
                project(&mut data, &clean.data, attack.norm(), e, clean.sample_len());
                Tensor::from_vec(data, clean.dims.clone())?
            }
            None => attack.run(classifier, images, labels, e, rng)?,
        };
        if !misclassified.is_empty() {
            let mut kept = PixelBatch {
                data: adversarial.to_vec(),
                dims: clean.dims.clone(),
            };
            misclassified
                .iter()
                .for_each(|&i| kept.copy_image(i, &clean.data, i));
            adversarial = kept.to_tensor()?;
        }
        check_perturbation(images, &adversarial, attack.norm(), e).map_err(|msg| {
            Error::BrokenInvariant {
                attack: attack.name(),
                eps: e,
                msg,
            }
        })?;
        let predictions = classifier.predict(&adversarial)?;
        out.push(AttackedBatch {
            eps: e,
            adversarial,
            predictions,
        });
    }
    Ok(out)
}

/// Checks that `adversarial` has the shape of `clean`, lies in [0, 1] and that each image lies
/// within `eps` of its clean image in `norm` (up to f32 rounding: `1e-6 + 1e-5·ε`); the error
/// names the first image that doesn't.
pub fn check_perturbation(
    clean: &Tensor,
    adversarial: &Tensor,
    norm: Norm,
    eps: f32,
) -> std::result::Result<(), String> {
    if clean.dims() != adversarial.dims() || clean.rank() == 0 {
        return Err(format!(
            "adversarial images {} don't match the clean ones {}",
            adversarial.shape(),
            clean.shape()
        ));
    }
    let len = (clean.numel() / clean.dims()[0].max(1)).max(1);
    let (clean, adversarial) = (clean.to_vec(), adversarial.to_vec());
    if let Some(at) = adversarial.iter().position(|v| !(0.0..=1.0).contains(v)) {
        return Err(format!(
            "pixel {at} is {} (outside [0, 1])",
            adversarial[at]
        ));
    }
    let delta: Vec<f32> = adversarial.iter().zip(&clean).map(|(a, c)| a - c).collect();
    let sizes: Vec<f32> = match norm {
        Norm::Linf => delta
            .chunks(len)
            .map(|d| d.iter().fold(0.0f32, |m, v| m.max(v.abs())))
            .collect(),
        Norm::L2 => l2_norms(&delta, len),
    };
    match sizes.iter().position(|&s| s > eps + tolerance(eps)) {
        Some(i) => Err(format!(
            "image {i} moved {} in {} (ε = {eps})",
            sizes[i],
            norm.as_str()
        )),
        None => Ok(()),
    }
}

/// Robust accuracy of one attack at each ε: counts over every batch added.
#[derive(Clone, Debug, PartialEq)]
pub struct RobustnessCurve {
    /// [`Attack::name`] of the attack.
    pub attack: String,
    pub norm: Norm,
    pub eps: Vec<f32>,
    /// Images still classified correctly at each ε.
    pub correct: Vec<usize>,
    pub total: usize,
}

impl RobustnessCurve {
    pub fn new(attack: &Attack, eps: &[f32]) -> Self {
        RobustnessCurve {
            attack: attack.name(),
            norm: attack.norm(),
            eps: eps.to_vec(),
            correct: vec![0; eps.len()],
            total: 0,
        }
    }

    /// Counts one batch's results (one [`AttackedBatch`] per ε of the curve, in order).
    pub fn add(&mut self, batches: &[AttackedBatch], labels: &[usize]) {
        for (correct, batch) in self.correct.iter_mut().zip(batches) {
            *correct += batch
                .predictions
                .classes
                .iter()
                .zip(labels)
                .filter(|(p, y)| p == y)
                .count();
        }
        self.total += labels.len();
    }

    /// Accuracy under attack at each ε, in [0, 1].
    pub fn accuracies(&self) -> Vec<f64> {
        self.correct
            .iter()
            .map(|&c| c as f64 / self.total.max(1) as f64)
            .collect()
    }
}

/// The robustness curve of `attack` over `images` (pixels in [0, 1]) and `labels`, attacked
/// `batch_size` images at a time.
///
/// # Errors
/// As [`attack_batch`]; a zero batch size.
pub fn robust_accuracy(
    classifier: &Classifier,
    attack: &Attack,
    images: &Tensor,
    labels: &[usize],
    eps: &[f32],
    batch_size: usize,
    rng: &mut impl Rng,
) -> Result<RobustnessCurve> {
    let batch_size = crate::error::check_count("attack", "batch size", batch_size)?;
    let mut curve = RobustnessCurve::new(attack, eps);
    for start in (0..labels.len()).step_by(batch_size) {
        let len = batch_size.min(labels.len() - start);
        let batch = images.narrow(0, start, len)?;
        let batch_labels = &labels[start..start + len];
        let results = attack_batch(classifier, attack, &batch, batch_labels, eps, rng)?;
        curve.add(&results, batch_labels);
    }
    Ok(curve)
}
