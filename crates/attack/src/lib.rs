//! Adversarial examples for convkit models, in pixel space with the model's normalisation inside.
//!
//! A [`Classifier`] wraps a model with its per-channel mean and std, so every attack takes and
//! returns pixels in [0, 1] and measures ε in pixel units. The attacks: [`fgsm`] (Goodfellow et
//! al.), [`fgsm_rs`] (FGSM from a random start, Wong et al.), [`pgd`] in L∞ and L2 with random
//! starts and restarts (Madry et al.; BIM, Kurakin et al., as [`PgdConfig::bim`]), [`deepfool`]
//! (Moosavi-Dezfooli et al.) and [`carlini_wagner_l2`] (Carlini & Wagner). [`robust_accuracy`] and
//! [`attack_batch`] sweep a list of ε and check that every adversarial image lies in [0, 1] and
//! within ε; [`MaskingChecks`] look for signs of gradient masking.
//!
//! ```no_run
//! # fn demo(model: &dyn convkit_nn::Module, images: &convkit_tensor::Tensor, labels: &[usize])
//! # -> convkit_attack::Result<()> {
//! use convkit_attack::{pgd, Classifier, PgdConfig};
//! let classifier = Classifier::new(model, &[0.1307], &[0.3081])?; // MNIST's normalisation
//! let adversarial = pgd(&classifier, images, labels, &PgdConfig::linf(0.3), &mut convkit_tensor::seeded_rng(0))?;
//! # Ok(()) }
//! ```
//!
//! A training step (adversarial training) holds normalised batches: it calls
//! [`Classifier::pixels_from_normalized`], then [`fgsm_rs`] (Wong et al.) or [`pgd`] with
//! `until_fooled: false` (Madry et al.: every image takes every step) with the classifier in the
//! mode it trains in, then [`Classifier::normalize`] on the result before its own forward pass.
//! The attacks freeze the model's parameters while they run, so no parameter gradient is
//! computed or accumulated.
mod attack;
mod carlini_wagner;
mod classifier;
mod deepfool;
mod error;
mod fgsm;
mod masking;
mod pgd;
mod pixels;
mod robustness;
mod step;
mod training;

pub use attack::{Attack, ATTACK_NAMES};
pub use carlini_wagner::{carlini_wagner_l2, CarliniWagnerConfig};
pub use classifier::{Classifier, Predictions};
pub use deepfool::{deepfool, DeepFoolConfig};
pub use error::{Error, Result};
pub use fgsm::{fgsm, fgsm_rs, FgsmConfig, FgsmRsConfig};
pub use masking::{MaskingChecks, MaskingConfig, MaskingReport, NoiseCurve};
pub use pgd::{pgd, PgdConfig};
pub use pixels::Norm;
pub use robustness::{
    attack_batch, check_perturbation, robust_accuracy, AttackedBatch, RobustnessCurve,
};
pub use training::{AdversarialStep, RobustAccuracy};
