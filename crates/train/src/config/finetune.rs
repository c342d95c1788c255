//! The `[finetune]` part of a [`super::TrainConfig`]: start from pretrained weights with a new
//! head, train the head with the body frozen, then everything with discriminative learning rates
//! (fastai's `fine_tune`), or only a linear classifier on cached features (a linear probe).
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How a run fine-tunes pretrained weights. The run's `epochs` count every epoch, the frozen ones
/// included; `optimizer.lr` is the head's rate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FinetuneConfig {
    /// The pretrained weights: a convkit checkpoint, a PyTorch `state_dict` (`.pth`/`.pt`) or a
    /// safetensors state_dict of the run's architecture, for any number of classes (the head is
    /// re-initialised for the run's classes).
    pub from: PathBuf,
    /// Epochs at the start with the whole body frozen (the head alone trains) [default: 1].
    pub freeze_epochs: Option<usize>,
    /// Keep every parameter before this layer (a state_dict module name: `layer3`, `fc1`) frozen
    /// for the whole run.
    pub freeze_until: Option<String>,
    /// fastai's discriminative rates once the body is unfrozen: the first stage trains at
    /// `lr / lr_mult`, the rates growing geometrically stage by stage up to `lr` for the head.
    pub lr_mult: Option<f32>,
    /// timm's layer-wise decay: each body block trains at `lr · layer_decay^k`, `k` blocks below
    /// the head.
    pub layer_decay: Option<f32>,
    /// fastai's batch norm: the body's batch norms keep training (batch statistics, running
    /// statistics updated, affine parameters trained even while frozen). Off by default (Keras):
    /// they stay in inference mode, also after unfreezing.
    pub train_bn: bool,
    /// Compute the body's features once (inference mode, without augmentation) and train only
    /// the head on them.
    pub linear_probe: bool,
}

impl FinetuneConfig {
    /// The epochs with the body frozen: none in a linear probe (the body never trains).
    pub fn freeze_epochs(&self) -> usize {
        match self.freeze_epochs {
            Some(n) => n,
            None if self.linear_probe => 0,
            None => 1,
        }
    }

    pub(crate) fn validate(&self, epochs: usize) -> Result<()> {
        if self.from.as_os_str().is_empty() {
            return Err(Error::config(
                "finetune.from",
                "needs the path of the pretrained weights",
            ));
        }
        if self.freeze_epochs() > epochs {
            return Err(Error::config(
                "finetune.freeze_epochs",
                format!(
                    "{} frozen epochs is more than the run's {epochs} epochs (epochs counts the frozen ones too)",
                    self.freeze_epochs()
                ),
            ));
        }
        if let Some(m) = self.lr_mult {
            if !(m.is_finite() && m >= 1.0) {
                return Err(Error::config(
                    "finetune.lr_mult",
                    format!("must be at least 1 (the head's rate over the first stage's), got {m}"),
                ));
            }
        }
        if let Some(d) = self.layer_decay {
            if !(d > 0.0 && d <= 1.0) {
                return Err(Error::config(
                    "finetune.layer_decay",
                    format!("must be above 0 and at most 1, got {d}"),
                ));
            }
        }
        if self.lr_mult.is_some() && self.layer_decay.is_some() {
            return Err(Error::config(
                "finetune.layer_decay",
                "give lr_mult (per stage) or layer_decay (per block), not both",
            ));
        }
        if self.linear_probe {
            let body_options = [
                ("freeze_epochs", self.freeze_epochs.is_some()),
                ("freeze_until", self.freeze_until.is_some()),
                ("lr_mult", self.lr_mult.is_some()),
                ("layer_decay", self.layer_decay.is_some()),
                ("train_bn", self.train_bn),
            ];
            if let Some((field, _)) = body_options.iter().find(|(_, set)| *set) {
                return Err(Error::config(
                    format!("finetune.{field}"),
                    "a linear probe never trains the body: leave this out (or linear_probe)",
                ));
            }
        }
        Ok(())
    }
}
