//! The single-step attacks: FGSM (Goodfellow et al.) and FGSM from a random start (Wong et al.),
//! the one adversarial training uses.
use crate::classifier::Classifier;
use crate::error::{check_eps, check_positive, Result};
use crate::pixels::{random_start, Norm, PixelBatch};
use crate::step::ascent_step;
use convkit_tensor::Tensor;
use rand::Rng;

/// The fast gradient sign method (Goodfellow, Shlens & Szegedy 2015, "Explaining and harnessing
/// adversarial examples"): `x' = clip₀¹(x + ε·sign(∇ₓ L(x, y)))`, L the cross-entropy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FgsmConfig {
    /// L∞ radius in pixel units ([0, 1] scale). Default 0.25, the paper's MNIST setting.
    pub eps: f32,
}

impl Default for FgsmConfig {
    fn default() -> Self {
        FgsmConfig { eps: 0.25 }
    }
}

/// FGSM from a uniform random start (Wong, Rice & Kolter 2020, "Fast is better than free"):
/// `δ ~ U(−ε, ε)`, `δ ← clip_ε(δ + α·sign(∇ₓ L(x + δ, y)))`, `x' = clip₀¹(x + δ)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FgsmRsConfig {
    /// L∞ radius in pixel units. Default 0.3, the paper's MNIST setting.
    pub eps: f32,
    /// Step size; `None` means the paper's `1.25·ε`.
    pub alpha: Option<f32>,
}

impl Default for FgsmRsConfig {
    fn default() -> Self {
        FgsmRsConfig {
            eps: 0.3,
            alpha: None,
        }
    }
}

impl FgsmRsConfig {
    /// The step size in force: `alpha`, else `1.25·eps`.
    pub fn step_size(&self) -> f32 {
        self.alpha.unwrap_or(1.25 * self.eps)
    }
}

/// FGSM adversarial examples of `images` (`[N, C, H, W]` pixels in [0, 1]) for their `labels`.
///
/// # Errors
/// A negative or non-finite ε; images that are not pixels in [0, 1] or don't fit the classifier.
pub fn fgsm(
    classifier: &Classifier,
    images: &Tensor,
    labels: &[usize],
    config: &FgsmConfig,
) -> Result<Tensor> {
    let eps = check_eps("fgsm", config.eps)?;
    let clean = PixelBatch::new("fgsm", images, labels)?;
    let step = ascent_step(
        classifier,
        &clean,
        &clean.data,
        labels,
        Norm::Linf,
        eps,
        eps,
    )?;
    step.next.to_tensor()
}

/// FGSM-RS adversarial examples: one signed-gradient step of `1.25·ε` (by default) from a uniform
/// random point of the ε-ball, projected back. Costs one forward and one backward pass, which is
/// what makes it cheap enough for every training batch.
///
/// # Errors
/// As [`fgsm`], and a step size that is not a positive number.
pub fn fgsm_rs(
    classifier: &Classifier,
    images: &Tensor,
    labels: &[usize],
    config: &FgsmRsConfig,
    rng: &mut impl Rng,
) -> Result<Tensor> {
    let eps = check_eps("fgsm-rs", config.eps)?;
    if let Some(alpha) = config.alpha {
        check_positive("fgsm-rs", "step size (alpha)", alpha)?;
    }
    let alpha = config.step_size();
    let clean = PixelBatch::new("fgsm-rs", images, labels)?;
    let start = PixelBatch {
        data: random_start(&clean.data, Norm::Linf, eps, clean.sample_len(), rng),
        dims: clean.dims.clone(),
    };
    let step = ascent_step(
        classifier,
        &start,
        &clean.data,
        labels,
        Norm::Linf,
        alpha,
        eps,
    )?;
    step.next.to_tensor()
}
