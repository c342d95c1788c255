//! Parameter groups: per-group learning-rate scale and weight decay, as PyTorch's `param_groups`.
use crate::error::{Error, Result};
use convkit_tensor::Tensor;

/// A set of parameters sharing optimiser settings.
///
/// Where PyTorch gives each group an absolute `lr`, a group here carries `lr_scale`, a multiplier of
/// the optimiser's learning rate: a schedule that sets the optimiser's lr then moves every group by
/// the same factor, exactly as PyTorch's schedulers scale each group's `initial_lr`.
///
/// ```
/// use convkit_nn::optim::{ParamGroup, Sgd, SgdConfig};
/// # let (backbone, head) = (Vec::new(), Vec::new());
/// let groups = vec![ParamGroup::new(backbone).lr_scale(0.1), ParamGroup::new(head)];
/// let sgd = Sgd::with_groups(groups, SgdConfig { lr: 0.1, ..Default::default() }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct ParamGroup {
    pub params: Vec<(String, Tensor)>,
    /// The group's learning rate is the optimiser's times this (1 by default).
    pub lr_scale: f32,
    /// Overrides the optimiser's weight decay for this group when set.
    pub weight_decay: Option<f32>,
}

impl ParamGroup {
    /// A group with the optimiser's own settings.
    pub fn new(params: Vec<(String, Tensor)>) -> ParamGroup {
        ParamGroup {
            params,
            lr_scale: 1.0,
            weight_decay: None,
        }
    }

    pub fn lr_scale(self, lr_scale: f32) -> ParamGroup {
        ParamGroup { lr_scale, ..self }
    }

    pub fn weight_decay(self, weight_decay: f32) -> ParamGroup {
        ParamGroup {
            weight_decay: Some(weight_decay),
            ..self
        }
    }

    pub(crate) fn check(&self, what: &'static str, index: usize) -> Result<()> {
        let bad = |name: &str, v: f32| {
            Error::config(
                what,
                format!("parameter group {index}: {name} must be finite and non-negative, got {v}"),
            )
        };
        if !(self.lr_scale.is_finite() && self.lr_scale >= 0.0) {
            return Err(bad("lr_scale", self.lr_scale));
        }
        match self.weight_decay {
            Some(wd) if !(wd.is_finite() && wd >= 0.0) => Err(bad("weight_decay", wd)),
            _ => Ok(()),
        }
    }
}

/// The usual split for weight decay: parameters with more than one dimension (conv and linear
/// weights) in a first group with the optimiser's decay, the rest (biases, batch-norm weights and
/// biases) in a second group with none. Empty groups are left out.
pub fn no_decay_on_biases_and_norms(params: Vec<(String, Tensor)>) -> Vec<ParamGroup> {
    let (decay, no_decay): (Vec<_>, Vec<_>) = params.into_iter().partition(|(_, t)| t.rank() > 1);
    [
        ParamGroup::new(decay),
        ParamGroup::new(no_decay).weight_decay(0.0),
    ]
    .into_iter()
    .filter(|g| !g.params.is_empty())
    .collect()
}
