//! The adversarial-training part of a [`super::TrainConfig`]: plain data. The step that carries it
//! out lives above the training crate (`convkit_attack::AdversarialStep`), and
//! [`crate::Trainer::fit`] refuses a configuration that asks for it without that step installed.
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdversarialMethod {
    /// FGSM from a uniform random start in the ε-ball, step 1.25ε (Wong et al. 2020, "Fast is
    /// better than free").
    #[default]
    FgsmRs,
    /// FGSM from the clean image (Goodfellow et al.): prone to catastrophic overfitting.
    Fgsm,
    /// PGD L∞ with a random start, `steps` steps (Madry et al. 2018).
    Pgd,
}

/// Train on adversarial examples made on the fly (in pixel space, ε in [0, 1] units).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdversarialConfig {
    pub method: AdversarialMethod,
    /// The L∞ radius, in pixel units ([0, 1] scale).
    pub eps: f32,
    /// Step size [default: 1.25ε for fgsm-rs, ε for fgsm, 2.5ε/steps for pgd].
    pub alpha: Option<f32>,
    /// PGD steps.
    pub steps: usize,
    /// ε grows linearly from 0 over these first epochs.
    pub warmup_epochs: usize,
    /// After every epoch, robust accuracy under PGD with this many steps (0: not measured) ...
    pub eval_steps: usize,
    /// ... and restarts ...
    pub eval_restarts: usize,
    /// ... on this many test images.
    pub eval_images: usize,
}

impl Default for AdversarialConfig {
    fn default() -> Self {
        AdversarialConfig {
            method: AdversarialMethod::FgsmRs,
            eps: 0.3,
            alpha: None,
            steps: 10,
            warmup_epochs: 0,
            eval_steps: 20,
            eval_restarts: 1,
            eval_images: 1000,
        }
    }
}

impl AdversarialConfig {
    /// ε during epoch `epoch` (1-based): the warm-up's linear ramp, then `eps`.
    pub fn eps_at(&self, epoch: usize) -> f32 {
        if epoch > self.warmup_epochs {
            self.eps
        } else {
            self.eps * epoch as f32 / (self.warmup_epochs + 1) as f32
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !(self.eps > 0.0 && self.eps <= 1.0) {
            return Err(Error::config(
                "adversarial.eps",
                format!("must be in (0, 1] (pixel units), got {}", self.eps),
            ));
        }
        if let Some(alpha) = self.alpha {
            if !(alpha > 0.0 && alpha.is_finite()) {
                return Err(Error::config(
                    "adversarial.alpha",
                    format!("must be a positive number, got {alpha}"),
                ));
            }
        }
        if self.method == AdversarialMethod::Pgd && self.steps == 0 {
            return Err(Error::config(
                "adversarial.steps",
                "PGD needs at least 1 step",
            ));
        }
        if self.eval_steps > 0 && (self.eval_restarts == 0 || self.eval_images == 0) {
            return Err(Error::config(
                "adversarial.eval_images",
                "measuring robust accuracy needs at least 1 restart and 1 image",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eps_warms_up_linearly_then_stays() {
        let config = AdversarialConfig {
            eps: 0.3,
            warmup_epochs: 2,
            ..Default::default()
        };
        let eps: Vec<f32> = (1..=4).map(|e| config.eps_at(e)).collect();
        assert_eq!(eps, [0.1, 0.2, 0.3, 0.3]);
        assert_eq!(AdversarialConfig::default().eps_at(1), 0.3);
    }
}
