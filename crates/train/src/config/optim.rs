//! The optimiser part of a [`super::TrainConfig`]: which optimiser, its hyper-parameters,
//! parameter groups (own learning-rate scale and weight decay, or frozen) and gradient clipping.
use crate::error::{Error, Result};
use convkit_models::transfer::matches_pattern;
use convkit_nn::optim::{
    clip_grad_norm, clip_grad_value, no_decay_on_biases_and_norms, Adagrad, AdagradConfig, Adam,
    AdamConfig, Lookahead, LookaheadConfig, Optimizer, ParamGroup, RmsProp, RmsPropConfig, Sgd,
    SgdConfig,
};
use convkit_tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerName {
    /// SGD with momentum (PyTorch's conventions).
    #[default]
    Sgd,
    /// Adam with bias correction; weight decay is an L2 term added to the gradient.
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
    /// RMSprop (with momentum when given).
    Rmsprop,
    /// AdaGrad.
    Adagrad,
}

impl OptimizerName {
    /// The name as written in configurations and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            OptimizerName::Sgd => "sgd",
            OptimizerName::Adam => "adam",
            OptimizerName::Adamw => "adamw",
            OptimizerName::Rmsprop => "rmsprop",
            OptimizerName::Adagrad => "adagrad",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerConfig {
    pub name: OptimizerName,
    /// Learning rate [default: 0.01 for SGD and AdaGrad, 0.001 for Adam, AdamW and RMSprop].
    pub lr: Option<f32>,
    /// Momentum of SGD and RMSprop [default: 0.9 for SGD, 0 for RMSprop].
    pub momentum: Option<f32>,
    /// Nesterov momentum (SGD only).
    pub nesterov: bool,
    /// Weight decay: an L2 term added to the gradient, decoupled for AdamW [default: 0, 0.01 for
    /// AdamW].
    pub weight_decay: Option<f32>,
    /// No weight decay on biases and normalisation parameters (every parameter with one dimension).
    pub no_decay_bias_norm: Option<bool>,
    /// Parameter groups, matched in order by name; parameters no group matches form the default
    /// group.
    pub groups: Vec<ParamGroupConfig>,
    /// Lookahead around the optimiser (see [`Lookahead`]).
    pub lookahead: Option<LookaheadConfig>,
}

/// Parameters chosen by name that train differently from the rest.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParamGroupConfig {
    /// The parameter names this group takes: a pattern where `*` matches any run of characters
    /// (`layer4.*`, `*.bias`, `fc.weight`).
    pub params: String,
    /// This group's learning rate as a multiple of the run's (schedules scale it alike).
    pub lr_scale: Option<f32>,
    /// This group's weight decay instead of the optimiser's.
    pub weight_decay: Option<f32>,
    /// Frozen: no gradient is computed for these parameters and the optimiser never touches them.
    pub frozen: bool,
    /// Trained in the first this many epochs only, frozen after (airbench's whitening bias).
    pub epochs: Option<usize>,
}

/// Gradient clipping applied between backward and the optimiser step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClipConfig {
    /// Rescale the gradients so that their global L2 norm is at most this.
    pub norm: Option<f32>,
    /// Clamp every gradient element into [-value, value].
    pub value: Option<f32>,
}

/// Tensors with their `state_dict` names.
type NamedTensors = Vec<(String, Tensor)>;

impl OptimizerConfig {
    /// The learning rate the run starts from.
    pub fn lr(&self) -> f32 {
        self.lr.unwrap_or(match self.name {
            OptimizerName::Sgd | OptimizerName::Adagrad => 0.01,
            OptimizerName::Adam | OptimizerName::Adamw | OptimizerName::Rmsprop => 0.001,
        })
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let lr = self.lr();
        if !(lr > 0.0 && lr.is_finite()) {
            return Err(Error::config(
                "optimizer.lr",
                format!("must be a positive number, got {lr}"),
            ));
        }
        if let Some(m) = self.momentum {
            if !(0.0..1.0).contains(&m) {
                return Err(Error::config(
                    "optimizer.momentum",
                    format!("must be at least 0 and below 1, got {m}"),
                ));
            }
        }
        if let Some(wd) = self.weight_decay {
            if !(wd >= 0.0 && wd.is_finite()) {
                return Err(Error::config(
                    "optimizer.weight_decay",
                    format!("must be a non-negative number, got {wd}"),
                ));
            }
        }
        if let Some(lookahead) = self.lookahead {
            if lookahead.k == 0 {
                return Err(Error::config(
                    "optimizer.lookahead.k",
                    "must be at least 1 step",
                ));
            }
            let alpha = lookahead.alpha;
            if !(alpha > 0.0 && alpha <= 1.0) {
                return Err(Error::config(
                    "optimizer.lookahead.alpha",
                    format!("must be in (0, 1], got {alpha}"),
                ));
            }
            if let Some(ramp) = lookahead.ramp {
                if !(ramp > 0.0 && ramp.is_finite()) {
                    return Err(Error::config(
                        "optimizer.lookahead.ramp",
                        format!("must be a positive number, got {ramp}"),
                    ));
                }
            }
        }
        if self.nesterov && self.name != OptimizerName::Sgd {
            return Err(Error::config(
                "optimizer.nesterov",
                "applies to the sgd optimiser only",
            ));
        }
        for (i, group) in self.groups.iter().enumerate() {
            if group.params.is_empty() {
                return Err(Error::config(
                    format!("optimizer.groups[{i}].params"),
                    "needs a name pattern",
                ));
            }
            if group.epochs == Some(0) {
                return Err(Error::config(
                    format!("optimizer.groups[{i}].epochs"),
                    "must be at least 1 (use frozen = true for parameters that never train)",
                ));
            }
            if let Some(scale) = group.lr_scale {
                if !(scale >= 0.0 && scale.is_finite()) {
                    return Err(Error::config(
                        format!("optimizer.groups[{i}].lr_scale"),
                        format!("must be a non-negative number, got {scale}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether the parameter `name` stops training before `epoch` (1-based): its group trains
    /// for fewer epochs.
    pub fn is_expired(&self, name: &str, epoch: usize) -> bool {
        self.groups
            .iter()
            .find(|g| matches_pattern(&g.params, name))
            .and_then(|g| g.epochs)
            .is_some_and(|last| epoch > last)
    }

    /// Splits `params` into the configured groups. Frozen parameters are returned apart (their
    /// gradients switched off) and are not part of any group.
    ///
    /// # Errors
    /// [`Error::Config`] for a group whose pattern matches no parameter (a typo would otherwise
    /// silently train everything alike).
    pub fn groups(&self, params: Vec<(String, Tensor)>) -> Result<(Vec<ParamGroup>, NamedTensors)> {
        let mut members: Vec<Vec<(String, Tensor)>> = vec![Vec::new(); self.groups.len()];
        let mut rest = Vec::new();
        for (name, t) in params {
            match self
                .groups
                .iter()
                .position(|g| matches_pattern(&g.params, &name))
            {
                Some(i) => members[i].push((name, t)),
                None => rest.push((name, t)),
            }
        }
        let mut groups = Vec::new();
        let mut frozen = Vec::new();
        for (i, (config, params)) in self.groups.iter().zip(members).enumerate() {
            if params.is_empty() {
                return Err(Error::config(
                    format!("optimizer.groups[{i}].params"),
                    format!("'{}' matches no parameter of the model", config.params),
                ));
            }
            if config.frozen {
                params.iter().for_each(|(_, t)| t.set_requires_grad(false));
                frozen.extend(params);
                continue;
            }
            let mut group = ParamGroup::new(params);
            if let Some(scale) = config.lr_scale {
                group = group.lr_scale(scale);
            }
            if let Some(wd) = config.weight_decay {
                group = group.weight_decay(wd);
            }
            groups.push(group);
        }
        if self.no_decay_bias_norm == Some(true) {
            groups.extend(no_decay_on_biases_and_norms(rest));
        } else if !rest.is_empty() {
            groups.push(ParamGroup::new(rest));
        }
        Ok((groups, frozen))
    }

    /// The optimiser over `groups`, for a run of `total_steps` steps (Lookahead's ramp needs it);
    /// Lookahead with `buffers` also follows `buffers`' running statistics (not their batch
    /// counts).
    ///
    /// # Errors
    /// Hyper-parameters the optimiser refuses.
    pub fn build(
        &self,
        groups: Vec<ParamGroup>,
        buffers: NamedTensors,
        total_steps: usize,
    ) -> Result<Box<dyn Optimizer>> {
        self.validate()?;
        let mut followed: Vec<_> = groups.iter().flat_map(|g| g.params.clone()).collect();
        let inner = self.build_inner(groups)?;
        Ok(match self.lookahead {
            Some(config) => {
                if config.buffers {
                    let statistics = buffers
                        .into_iter()
                        .filter(|(name, _)| !name.ends_with("num_batches_tracked"));
                    followed.extend(statistics);
                }
                Box::new(Lookahead::new(inner, followed, config, total_steps)?)
            }
            None => inner,
        })
    }

    fn build_inner(&self, groups: Vec<ParamGroup>) -> Result<Box<dyn Optimizer>> {
        let lr = self.lr();
        let weight_decay = self.weight_decay;
        Ok(match self.name {
            OptimizerName::Sgd => Box::new(Sgd::with_groups(
                groups,
                SgdConfig {
                    lr,
                    momentum: self.momentum.unwrap_or(0.9),
                    nesterov: self.nesterov,
                    weight_decay: weight_decay.unwrap_or(0.0),
                    ..Default::default()
                },
            )?),
            OptimizerName::Adam | OptimizerName::Adamw => {
                let d = if self.name == OptimizerName::Adamw {
                    AdamConfig::adamw()
                } else {
                    AdamConfig::default()
                };
                let config = AdamConfig {
                    lr,
                    weight_decay: weight_decay.unwrap_or(d.weight_decay),
                    ..d
                };
                Box::new(Adam::with_groups(groups, config)?)
            }
            OptimizerName::Rmsprop => Box::new(RmsProp::with_groups(
                groups,
                RmsPropConfig {
                    lr,
                    momentum: self.momentum.unwrap_or(0.0),
                    weight_decay: weight_decay.unwrap_or(0.0),
                    ..Default::default()
                },
            )?),
            OptimizerName::Adagrad => Box::new(Adagrad::with_groups(
                groups,
                AdagradConfig {
                    lr,
                    weight_decay: weight_decay.unwrap_or(0.0),
                    ..Default::default()
                },
            )?),
        })
    }
}

impl ClipConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        for (field, value) in [("clip.norm", self.norm), ("clip.value", self.value)] {
            if let Some(v) = value {
                if !(v > 0.0 && v.is_finite()) {
                    return Err(Error::config(
                        field,
                        format!("must be a positive number, got {v} (clipping to 0 would stop all learning)"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Clips the gradients of `params` as configured.
    ///
    /// # Errors
    /// A failing tensor op.
    pub fn apply(&self, params: &[(String, Tensor)]) -> Result<()> {
        if let Some(max_norm) = self.norm {
            clip_grad_norm(params, max_norm, 2.0)?;
        }
        if let Some(value) = self.value {
            clip_grad_value(params, value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_split_by_pattern_and_freeze() {
        let p = |name: &str| (name.to_string(), Tensor::zeros([2]).with_grad());
        let config = OptimizerConfig {
            groups: vec![
                ParamGroupConfig {
                    params: "features.*".into(),
                    frozen: true,
                    ..Default::default()
                },
                ParamGroupConfig {
                    params: "fc.*".into(),
                    lr_scale: Some(10.0),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let params = vec![
            p("features.0.weight"),
            p("fc.weight"),
            p("fc.bias"),
            p("other"),
        ];
        let (groups, frozen) = config.groups(params).unwrap();
        assert_eq!(frozen.len(), 1);
        assert!(!frozen[0].1.requires_grad());
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].params.len(), 2);
        assert_eq!(groups[0].lr_scale, 10.0);
        assert_eq!(groups[1].params[0].0, "other");

        let limited = OptimizerConfig {
            groups: vec![ParamGroupConfig {
                params: "0.bias".into(),
                epochs: Some(3),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(!limited.is_expired("0.bias", 3));
        assert!(limited.is_expired("0.bias", 4));
        assert!(!limited.is_expired("1.bias", 4));

        let typo = OptimizerConfig {
            groups: vec![ParamGroupConfig {
                params: "feature.*".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let err = typo.groups(vec![p("features.0.weight")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("optimizer.groups[0].params: 'feature.*' matches no parameter"),
            "{err}"
        );
    }
}
