//! Fine-tuning pretrained weights, fastai's `fine_tune` with Keras's batch-norm rule: the run's
//! model gets a new head for its classes and its body from `finetune.from`
//! ([`convkit_models::transfer::with_new_head`]); a [`FinetunePlan`] then says, epoch by epoch,
//! which parameters train (the head alone for `freeze_epochs`, then everything after
//! `freeze_until`), at which learning-rate multiple (per stage or per block), and which batch
//! norms stay in inference mode. A linear probe trains the head on features computed once.
mod pretrained;
mod probe;

pub use pretrained::read_pretrained;
pub(crate) use probe::{Features, LinearProbeStep};

use crate::config::FinetuneConfig;
use crate::error::Result;
use convkit_models::transfer::{
    head_name, is_head_tensor, params_before, running_stat_layers, BodyLayout,
};
use convkit_models::ModelSpec;
use convkit_nn::optim::ParamGroup;
use convkit_nn::Module;

/// What a fine-tuning run does with each parameter of its model.
#[derive(Clone, Debug, PartialEq)]
pub struct FinetunePlan {
    /// The head's module name (`fc`).
    pub head: String,
    /// Body parameters frozen for the whole run: before `freeze_until`, or the whole body of a
    /// linear probe.
    pub frozen: Vec<String>,
    /// Body parameters frozen only during the first `freeze_epochs` epochs.
    pub frozen_at_first: Vec<String>,
    pub freeze_epochs: usize,
    /// Learning-rate multiples of body parameters once they train (1 for those not listed).
    pub lr_scales: Vec<(String, f32)>,
    /// What the multiples follow: `lr_mult` over stages or `layer_decay` over blocks.
    pub lr_rule: Option<String>,
    /// Body layers kept in inference mode in training passes (none with `train_bn`).
    pub norms_in_eval: Vec<String>,
    pub train_bn: bool,
    pub linear_probe: bool,
}

impl FinetunePlan {
    /// The plan of `finetune` for the zoo model `model_name` built as `model` for `spec`.
    ///
    /// # Errors
    /// An unknown `freeze_until` layer (the valid ones listed); a model whose layout cannot be
    /// traced.
    pub fn new(
        finetune: &FinetuneConfig,
        model_name: &str,
        model: &dyn Module,
        spec: &ModelSpec,
    ) -> Result<FinetunePlan> {
        let head = head_name(model_name)?.to_string();
        let batch_norms = running_stat_layers(model, &head);
        let in_norm = |name: &str| batch_norms.iter().any(|l| is_head_tensor(l, name));
        // fastai trains batch norms even in frozen layers when asked to.
        let freezable =
            |name: &String| !(is_head_tensor(&head, name) || finetune.train_bn && in_norm(name));
        let body: Vec<String> = model
            .parameters()
            .into_iter()
            .map(|(name, _)| name)
            .filter(freezable)
            .collect();
        let frozen: Vec<String> = if finetune.linear_probe {
            body.clone()
        } else if let Some(layer) = &finetune.freeze_until {
            let before = params_before(model, layer)
                .map_err(|e| crate::Error::config("finetune.freeze_until", e.to_string()))?;
            before.into_iter().filter(|n| body.contains(n)).collect()
        } else {
            Vec::new()
        };
        let freeze_epochs = finetune.freeze_epochs();
        let frozen_at_first = if freeze_epochs > 0 {
            body.into_iter().filter(|n| !frozen.contains(n)).collect()
        } else {
            Vec::new()
        };
        let (lr_scales, lr_rule) = match (finetune.lr_mult, finetune.layer_decay) {
            (Some(mult), _) => {
                let layout = BodyLayout::trace(model_name, model, spec)?;
                let rule = format!("lr_mult {mult} over {} stages", layout.stages);
                (layout.stage_scales(mult), Some(rule))
            }
            (None, Some(decay)) => {
                let layout = BodyLayout::trace(model_name, model, spec)?;
                let rule = format!("layer_decay {decay} over {} blocks", layout.blocks);
                (layout.layer_decay_scales(decay), Some(rule))
            }
            (None, None) => (Vec::new(), None),
        };
        Ok(FinetunePlan {
            head,
            frozen,
            frozen_at_first,
            freeze_epochs,
            lr_scales,
            lr_rule,
            norms_in_eval: if finetune.train_bn {
                Vec::new()
            } else {
                batch_norms
            },
            train_bn: finetune.train_bn,
            linear_probe: finetune.linear_probe,
        })
    }

    /// Freezes and unfreezes `model`'s parameters for epoch `epoch` (1-based); the parameters in
    /// `keep_frozen` (frozen by the optimiser's groups) stay frozen.
    pub fn apply_epoch(&self, model: &dyn Module, epoch: usize, keep_frozen: &[String]) {
        let body_frozen = epoch <= self.freeze_epochs;
        for (name, t) in model.parameters() {
            if self.frozen.contains(&name) || keep_frozen.contains(&name) {
                t.set_requires_grad(false);
            } else if self.frozen_at_first.contains(&name) {
                t.set_requires_grad(!body_frozen);
            }
        }
    }

    /// Splits each group so that its parameters with another learning-rate multiple form groups
    /// of their own (scaled by the group's multiple), in order.
    pub fn scale_groups(&self, groups: Vec<ParamGroup>) -> Vec<ParamGroup> {
        let scale_of = |name: &str| {
            self.lr_scales
                .iter()
                .find(|(n, _)| n == name)
                .map_or(1.0, |(_, s)| *s)
        };
        let mut out = Vec::new();
        for group in groups {
            let mut parts: Vec<(f32, Vec<_>)> = Vec::new();
            for (name, t) in group.params {
                let scale = scale_of(&name);
                match parts.iter_mut().find(|(s, _)| *s == scale) {
                    Some((_, params)) => params.push((name, t)),
                    None => parts.push((scale, vec![(name, t)])),
                }
            }
            for (scale, params) in parts {
                out.push(ParamGroup {
                    params,
                    lr_scale: group.lr_scale * scale,
                    weight_decay: group.weight_decay,
                });
            }
        }
        out
    }

    /// What the run will do, one line per point, for a run of `epochs` epochs.
    pub fn describe(&self, epochs: usize) -> Vec<String> {
        let mut lines = Vec::new();
        if self.linear_probe {
            lines.push(format!(
                "linear probe: the body's features are computed once (inference mode, no augmentation); only the head '{}' trains",
                self.head
            ));
            return lines;
        }
        let n = self.freeze_epochs;
        if n > 0 {
            lines.push(format!(
                "{}: head '{}' only, the body frozen ({} parameters)",
                epoch_range(1, n),
                self.head,
                self.frozen_at_first.len()
            ));
        }
        if n < epochs {
            let kept = match self.frozen.len() {
                0 => String::new(),
                k => format!(", except the {k} frozen parameters before freeze_until"),
            };
            lines.push(format!("{}: all layers{kept}", epoch_range(n + 1, epochs)));
        } else if !self.frozen.is_empty() {
            lines.push(format!(
                "{} parameters before freeze_until stay frozen",
                self.frozen.len()
            ));
        }
        if let Some(rule) = &self.lr_rule {
            let lowest = self.lr_scales.iter().map(|(_, s)| *s).fold(1.0, f32::min);
            lines.push(format!(
                "discriminative learning rates: {rule}, from {lowest:.3e} × lr (first) to 1 × lr (head)"
            ));
        }
        let norms = match (self.train_bn, self.norms_in_eval.len()) {
            (true, _) => "batch norm: the body's batch norms train (batch statistics, running statistics updated, affine parameters trained even when frozen; fastai's train_bn)".to_string(),
            (false, 0) => "batch norm: the body has none".to_string(),
            (false, n) => format!(
                "batch norm: the body's {n} batch norms stay in inference mode, frozen or not (running statistics used, not updated; Keras); train_bn trains them"
            ),
        };
        lines.push(norms);
        lines
    }
}

/// `epoch 3` or `epochs 2-5`.
fn epoch_range(first: usize, last: usize) -> String {
    if first == last {
        format!("epoch {first}")
    } else {
        format!("epochs {first}-{last}")
    }
}
