//! Signs of gradient masking (the checks AutoAttack's authors ask of every robustness claim): a
//! model can look robust because its gradients are useless, not because it is.
//!
//! - input gradients that are all zero or not finite: gradient attacks cannot move those images;
//! - a black-box search (random points on the surface of the ε-ball) that fools more images
//!   than a gradient attack at the same ε: the gradients point the wrong way;
//! - accuracy above 0 under PGD at ε = 1 in L∞, where the ball holds every image: an honest
//!   gradient attack reaches 0 there.
use crate::classifier::Classifier;
use crate::error::{check_count, Result};
use crate::pgd::{pgd, PgdConfig};
use crate::pixels::{clamp_unit, l2_norms, standard_normal, Norm, PixelBatch};
use crate::robustness::RobustnessCurve;
use convkit_tensor::Tensor;
use rand::Rng;
use std::fmt;

/// Settings of the checks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaskingConfig {
    /// Random points tried per image and ε by the black-box search (10).
    pub noise_draws: usize,
    /// The L∞ radius of the large-ε check (1: the whole [0, 1] cube).
    pub large_eps: f32,
}

impl Default for MaskingConfig {
    fn default() -> Self {
        MaskingConfig {
            noise_draws: 10,
            large_eps: 1.0,
        }
    }
}

/// Accuracy under the black-box random search at each ε of one norm.
#[derive(Clone, Debug, PartialEq)]
pub struct NoiseCurve {
    pub norm: Norm,
    pub eps: Vec<f32>,
    pub correct: Vec<usize>,
}

/// Running counts of the checks over the batches added.
pub struct MaskingChecks {
    config: MaskingConfig,
    images: usize,
    zero_gradient: usize,
    nonfinite_gradient: usize,
    noise: Vec<NoiseCurve>,
    large_eps_correct: usize,
}

impl MaskingChecks {
    /// Checks with a black-box search at each ε of each norm in `noise_eps`.
    ///
    /// # Errors
    /// Zero noise draws, or a large ε that is not a positive number.
    pub fn new(config: MaskingConfig, noise_eps: &[(Norm, Vec<f32>)]) -> Result<Self> {
        check_count("masking checks", "noise draws", config.noise_draws)?;
        crate::error::check_positive("masking checks", "large ε", config.large_eps)?;
        let noise = noise_eps
            .iter()
            .map(|(norm, eps)| NoiseCurve {
                norm: *norm,
                eps: eps.clone(),
                correct: vec![0; eps.len()],
            })
            .collect();
        Ok(MaskingChecks {
            config,
            images: 0,
            zero_gradient: 0,
            nonfinite_gradient: 0,
            noise,
            large_eps_correct: 0,
        })
    }

    /// Runs every check on one batch of pixels in [0, 1].
    ///
    /// # Errors
    /// Images that are not pixels in [0, 1] or don't fit the classifier.
    pub fn add_batch(
        &mut self,
        classifier: &Classifier,
        images: &Tensor,
        labels: &[usize],
        rng: &mut impl Rng,
    ) -> Result<()> {
        let clean = PixelBatch::new("masking checks", images, labels)?;
        let len = clean.sample_len();
        let (_, grad) = classifier.loss_gradient(&clean, labels)?;
        for g in grad.chunks(len) {
            if g.iter().any(|v| !v.is_finite()) {
                self.nonfinite_gradient += 1;
            } else if g.iter().all(|&v| v == 0.0) {
                self.zero_gradient += 1;
            }
        }
        let draws = self.config.noise_draws;
        for curve in &mut self.noise {
            for (correct, &eps) in curve.correct.iter_mut().zip(&curve.eps) {
                *correct +=
                    noise_survivors(classifier, &clean, labels, curve.norm, eps, draws, rng)?;
            }
        }
        let large = pgd(
            classifier,
            images,
            labels,
            &PgdConfig::linf(self.config.large_eps),
            rng,
        )?;
        let predicted = classifier.predict(&large)?.classes;
        self.large_eps_correct += predicted.iter().zip(labels).filter(|(p, y)| p == y).count();
        self.images += labels.len();
        Ok(())
    }

    /// The counts so far, compared with the gradient attacks' `curves` at the same norm and ε.
    pub fn report(&self, curves: &[RobustnessCurve]) -> MaskingReport {
        let pct = |c: usize| 100.0 * c as f64 / self.images.max(1) as f64;
        let mut signs = Vec::new();
        if self.zero_gradient > 0 {
            signs.push(format!(
                "{} of {} images have an all-zero input gradient: gradient attacks cannot move them",
                self.zero_gradient, self.images
            ));
        }
        if self.nonfinite_gradient > 0 {
            signs.push(format!(
                "{} of {} images have NaN or infinite input gradients",
                self.nonfinite_gradient, self.images
            ));
        }
        for noise in &self.noise {
            for curve in curves.iter().filter(|c| c.norm == noise.norm) {
                for (i, &eps) in noise.eps.iter().enumerate() {
                    let Some(j) = curve.eps.iter().position(|&e| e == eps) else {
                        continue;
                    };
                    if eps > 0.0 && noise.correct[i] < curve.correct[j] {
                        signs.push(format!(
                            "random noise ({} draws) beats {} at ε = {eps}: {:.2}% vs {:.2}% accuracy",
                            self.config.noise_draws,
                            curve.attack,
                            pct(noise.correct[i]),
                            pct(curve.correct[j])
                        ));
                    }
                }
            }
        }
        if self.large_eps_correct > 0 {
            signs.push(format!(
                "PGD-40 at ε = {} (L∞) leaves {:.2}% accuracy; an honest attack reaches 0% there",
                self.config.large_eps,
                pct(self.large_eps_correct)
            ));
        }
        MaskingReport {
            images: self.images,
            zero_gradient: self.zero_gradient,
            nonfinite_gradient: self.nonfinite_gradient,
            noise: self.noise.clone(),
            noise_draws: self.config.noise_draws,
            large_eps: self.config.large_eps,
            large_eps_correct: self.large_eps_correct,
            signs,
        }
    }
}

/// What the checks found; `signs` is empty when none of them points at gradient masking.
#[derive(Clone, Debug, PartialEq)]
pub struct MaskingReport {
    pub images: usize,
    pub zero_gradient: usize,
    pub nonfinite_gradient: usize,
    pub noise: Vec<NoiseCurve>,
    pub noise_draws: usize,
    pub large_eps: f32,
    pub large_eps_correct: usize,
    pub signs: Vec<String>,
}

impl fmt::Display for MaskingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |c: usize| 100.0 * c as f64 / self.images.max(1) as f64;
        writeln!(
            f,
            "gradient-masking checks on {} images: zero input gradients {}, NaN/infinite {}",
            self.images, self.zero_gradient, self.nonfinite_gradient
        )?;
        for noise in &self.noise {
            let cells: Vec<String> = noise
                .eps
                .iter()
                .zip(&noise.correct)
                .map(|(e, &c)| format!("{e}: {:.2}%", pct(c)))
                .collect();
            writeln!(
                f,
                "  random noise on the {} sphere ({} draws): {}",
                noise.norm.as_str(),
                self.noise_draws,
                cells.join(", ")
            )?;
        }
        writeln!(
            f,
            "  PGD-40 at ε = {} (L∞): {:.2}% accuracy",
            self.large_eps,
            pct(self.large_eps_correct)
        )?;
        if self.signs.is_empty() {
            write!(f, "  no sign of gradient masking")
        } else {
            write!(
                f,
                "  SIGNS OF GRADIENT MASKING:\n    {}",
                self.signs.join("\n    ")
            )
        }
    }
}

/// How many images stay correctly classified at every one of `draws` random points on the
/// surface of their ε-ball (L∞: a random corner, each pixel ±ε; L2: a random direction at
/// length ε), clamped to [0, 1].
fn noise_survivors(
    classifier: &Classifier,
    clean: &PixelBatch,
    labels: &[usize],
    norm: Norm,
    eps: f32,
    draws: usize,
    rng: &mut impl Rng,
) -> Result<usize> {
    let len = clean.sample_len();
    let mut survives = vec![true; labels.len()];
    for _ in 0..draws {
        let mut noisy = clean.clone();
        match norm {
            Norm::Linf => noisy.data.iter_mut().for_each(|x| {
                *x += if rng.random::<bool>() { eps } else { -eps };
            }),
            Norm::L2 => {
                let direction: Vec<f32> = (0..noisy.data.len())
                    .map(|_| standard_normal(rng))
                    .collect();
                let norms = l2_norms(&direction, len);
                for ((x, d), n) in noisy
                    .data
                    .chunks_mut(len)
                    .zip(direction.chunks(len))
                    .zip(norms)
                {
                    let scale = if n > 0.0 { eps / n } else { 0.0 };
                    x.iter_mut().zip(d).for_each(|(x, &d)| *x += d * scale);
                }
            }
        }
        clamp_unit(&mut noisy.data);
        let predicted = classifier.predict(&noisy.to_tensor()?)?.classes;
        for ((s, p), y) in survives.iter_mut().zip(predicted).zip(labels) {
            *s &= p == *y;
        }
    }
    Ok(survives.into_iter().filter(|&s| s).count())
}
