//! Projected gradient descent in L∞ and L2 (Madry et al.) with random starts and restarts, and
//! the basic iterative method (Kurakin et al.) as its deterministic special case.
use crate::classifier::Classifier;
use crate::error::{check_count, check_eps, check_positive, Error, Result};
use crate::pixels::{random_start, Norm, PixelBatch};
use crate::step::ascent_step;
use convkit_tensor::Tensor;
use rand::Rng;

/// Projected gradient ascent of the cross-entropy inside an ε-ball (Madry, Makelov, Schmidt,
/// Tsipras & Vladu 2018, "Towards deep learning models resistant to adversarial attacks").
///
/// Each step is `x ← Π(x + α·sign(∇))` (L∞) or `x ← Π(x + α·∇/‖∇‖₂)` (L2), Π the projection onto
/// the ball and [0, 1]. Defaults ([`PgdConfig::linf`]): the paper's MNIST attack, 40 steps from
/// a uniform random start, one run. The paper's step was a fixed 0.01 at ε = 0.3; here `alpha`
/// defaults to `2.5·ε/steps` (0.01875 at ε = 0.3), the rule of Madry's lab that lets the attack
/// cross the ball and scales with ε when ε is swept.
///
/// With `until_fooled` (evaluation, the default) an image counts as fooled if any iterate fooled
/// it: if the last iterate doesn't but an earlier one did, the latest fooling iterate is returned
/// (a valid adversarial example inside the ball is never thrown away); images misclassified to
/// begin with are returned unchanged; restarts attack again, from fresh random starts, only the
/// images no earlier run fooled. Without it (adversarial training, as Madry et al. train) every
/// image takes every step, the last iterate is returned and restarts keep each image's run of
/// highest loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PgdConfig {
    pub norm: Norm,
    /// Radius of the ball in pixel units ([0, 1] scale).
    pub eps: f32,
    /// Step size; `None` means `2.5·ε/steps`.
    pub alpha: Option<f32>,
    pub steps: usize,
    /// Start from a uniform random point of the ball (PGD) instead of the clean image (BIM).
    pub random_start: bool,
    /// Runs in all (1: no restart); more than 1 needs `random_start`.
    pub restarts: usize,
    /// Evaluate (`true`: stop at the first misclassification) or train (`false`: maximise the
    /// loss of every image); see above.
    pub until_fooled: bool,
}

impl Default for PgdConfig {
    fn default() -> Self {
        PgdConfig::linf(0.3)
    }
}

impl PgdConfig {
    /// Madry et al.'s L∞ attack at radius `eps`: 40 steps of `2.5·ε/40` from a random start.
    pub fn linf(eps: f32) -> Self {
        PgdConfig {
            norm: Norm::Linf,
            eps,
            alpha: None,
            steps: 40,
            random_start: true,
            restarts: 1,
            until_fooled: true,
        }
    }

    /// The same in L2 (the setting of Madry's lab's `robustness` library): 40 steps of
    /// `2.5·ε/40` along the normalised gradient from a random point of the L2 ball.
    pub fn l2(eps: f32) -> Self {
        PgdConfig {
            norm: Norm::L2,
            ..PgdConfig::linf(eps)
        }
    }

    /// The basic iterative method (Kurakin, Goodfellow & Bengio 2017, "Adversarial examples in
    /// the physical world"): steps of one grey level (α = 1/255) from the clean image,
    /// `min(255·ε + 4, 1.25·255·ε)` of them (rounded down, at least 1).
    pub fn bim(eps: f32) -> Self {
        let levels = 255.0 * eps.max(0.0);
        // The 1e-3 keeps 8/255 at 10 steps despite f32 rounding of 255·ε.
        let steps = ((levels + 4.0).min(1.25 * levels) + 1e-3).floor().max(1.0);
        PgdConfig {
            norm: Norm::Linf,
            eps,
            alpha: Some(1.0 / 255.0),
            steps: steps as usize,
            random_start: false,
            restarts: 1,
            until_fooled: true,
        }
    }

    /// The step size in force: `alpha`, else `2.5·eps/steps`.
    pub fn step_size(&self) -> f32 {
        self.alpha
            .unwrap_or(2.5 * self.eps / self.steps.max(1) as f32)
    }

    fn validate(&self) -> Result<()> {
        check_eps("pgd", self.eps)?;
        check_count("pgd", "steps", self.steps)?;
        check_count("pgd", "restarts", self.restarts)?;
        if let Some(alpha) = self.alpha {
            check_positive("pgd", "step size (alpha)", alpha)?;
        }
        if self.restarts > 1 && !self.random_start {
            return Err(Error::InvalidSetting {
                attack: "pgd",
                setting: "restarts",
                msg: format!(
                    "{} restarts without a random start would repeat the same run",
                    self.restarts
                ),
            });
        }
        Ok(())
    }
}

/// PGD adversarial examples of `images` (`[N, C, H, W]` pixels in [0, 1]) for their `labels`.
/// Costs `restarts·steps` forward and backward passes, and with `until_fooled` at most
/// `1 + restarts` forward passes more (with `restarts > 1` and without it, `restarts`).
///
/// # Errors
/// A negative or non-finite ε, zero steps or restarts, a step size that is not positive,
/// restarts without a random start; images that are not pixels in [0, 1] or don't fit.
pub fn pgd(
    classifier: &Classifier,
    images: &Tensor,
    labels: &[usize],
    config: &PgdConfig,
    rng: &mut impl Rng,
) -> Result<Tensor> {
    config.validate()?;
    let clean = PixelBatch::new("pgd", images, labels)?;
    if config.until_fooled {
        until_fooled(classifier, &clean, labels, config, rng)?.to_tensor()
    } else {
        highest_loss(classifier, &clean, labels, config, rng)?.to_tensor()
    }
}

/// PGD for evaluation: each image until some iterate misclassifies it.
fn until_fooled(
    classifier: &Classifier,
    clean: &PixelBatch,
    labels: &[usize],
    config: &PgdConfig,
    rng: &mut impl Rng,
) -> Result<PixelBatch> {
    let mut result = clean.clone();
    // A misclassified clean image is its own best adversarial example (δ = 0).
    let initial = classifier.predict(&clean.to_tensor()?)?.classes;
    let mut remaining: Vec<usize> = (0..clean.samples())
        .filter(|&i| initial[i] == labels[i])
        .collect();
    for _ in 0..config.restarts {
        if remaining.is_empty() {
            break;
        }
        let part = clean.select(&remaining);
        let part_labels: Vec<usize> = remaining.iter().map(|&i| labels[i]).collect();
        let Run {
            mut last,
            fooling,
            fooled_any,
        } = run_once(classifier, &part, &part_labels, config, rng)?;
        let last_predictions = classifier.predict(&last.to_tensor()?)?.classes;
        let mut fooled = Vec::with_capacity(part_labels.len());
        for (i, (&predicted, &label)) in last_predictions.iter().zip(&part_labels).enumerate() {
            let last_fools = predicted != label;
            if !last_fools && fooled_any[i] {
                last.copy_image(i, &fooling.data, i);
            }
            fooled.push(last_fools || fooled_any[i]);
        }
        result.scatter(&remaining, &last);
        remaining = remaining
            .into_iter()
            .zip(fooled)
            .filter_map(|(i, fooled)| (!fooled).then_some(i))
            .collect();
    }
    Ok(result)
}

/// PGD for adversarial training: every image takes every step; of several runs, each image's
/// last iterate of highest loss.
fn highest_loss(
    classifier: &Classifier,
    clean: &PixelBatch,
    labels: &[usize],
    config: &PgdConfig,
    rng: &mut impl Rng,
) -> Result<PixelBatch> {
    let mut best = run_once(classifier, clean, labels, config, rng)?.last;
    if config.restarts == 1 {
        return Ok(best);
    }
    let mut best_loss = classifier.losses(&best, labels)?;
    for _ in 1..config.restarts {
        let last = run_once(classifier, clean, labels, config, rng)?.last;
        for (i, loss) in classifier.losses(&last, labels)?.into_iter().enumerate() {
            if loss > best_loss[i] {
                best_loss[i] = loss;
                best.copy_image(i, &last.data, i);
            }
        }
    }
    Ok(best)
}

/// What one PGD run over a batch reached.
struct Run {
    /// The last iterate.
    last: PixelBatch,
    /// For each image, the latest iterate that misclassified it (where `fooled_any`).
    fooling: PixelBatch,
    fooled_any: Vec<bool>,
}

/// `config.steps` PGD steps from the clean images or a random start.
fn run_once(
    classifier: &Classifier,
    clean: &PixelBatch,
    labels: &[usize],
    config: &PgdConfig,
    rng: &mut impl Rng,
) -> Result<Run> {
    let (norm, eps, len) = (config.norm, config.eps, clean.sample_len());
    let mut current = clean.clone();
    if config.random_start {
        current.data = random_start(&clean.data, norm, eps, len, rng);
    }
    let mut fooling = clean.clone();
    let mut fooled_any = vec![false; clean.samples()];
    for _ in 0..config.steps {
        let step = ascent_step(
            classifier,
            &current,
            &clean.data,
            labels,
            norm,
            config.step_size(),
            eps,
        )?;
        for (i, _) in step.fooled_before.iter().enumerate().filter(|(_, f)| **f) {
            fooled_any[i] = true;
            fooling.copy_image(i, &current.data, i);
        }
        current = step.next;
    }
    Ok(Run {
        last: current,
        fooling,
        fooled_any,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bim_follows_kurakins_schedule() {
        // ε = 8/255: min(8 + 4, 10) = 10 steps of one grey level; ε = 16/255: min(20, 20) = 20;
        // ε = 0.3: min(80.5, 95.6), rounded down to 80.
        let small = PgdConfig::bim(8.0 / 255.0);
        assert_eq!((small.steps, small.random_start), (10, false));
        assert_eq!(small.step_size(), 1.0 / 255.0);
        assert_eq!(PgdConfig::bim(16.0 / 255.0).steps, 20);
        assert_eq!(PgdConfig::bim(0.3).steps, 80);
        assert_eq!(PgdConfig::bim(0.0).steps, 1);
    }

    #[test]
    fn default_step_is_two_and_a_half_eps_over_steps() {
        let config = PgdConfig::linf(0.3);
        assert!((config.step_size() - 0.01875).abs() < 1e-7);
        assert_eq!(PgdConfig::l2(1.0).norm, Norm::L2);
    }

    #[test]
    fn restarts_need_a_random_start() {
        let config = PgdConfig {
            restarts: 3,
            ..PgdConfig::bim(0.1)
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("restarts") && err.contains("random start"),
            "{err}"
        );
        let zero_steps = PgdConfig {
            steps: 0,
            ..PgdConfig::linf(0.1)
        };
        assert!(zero_steps
            .validate()
            .unwrap_err()
            .to_string()
            .contains("steps"));
    }
}
