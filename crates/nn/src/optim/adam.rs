//! Adam and AdamW with bias correction and optional AMSGrad (PyTorch's `Adam` and `AdamW`).
use super::{
    check_non_negative, delegate_to_param_states, Optimizer, ParamGroup, ParamStates, ParamUpdate,
    Slot,
};
use crate::error::{Error, Result};
use convkit_tensor::Tensor;

/// Hyper-parameters of [`Adam`], PyTorch's names and defaults ([`AdamConfig::adamw`] for AdamW's).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub lr: f32,
    pub betas: (f32, f32),
    pub eps: f32,
    /// L2 penalty added to the gradient, or with `decoupled_weight_decay` AdamW's decay of the weights.
    pub weight_decay: f32,
    /// Keep the running maximum of the second moment (Reddi et al.'s AMSGrad).
    pub amsgrad: bool,
    /// AdamW (Loshchilov & Hutter): `p ← p·(1 − lr·weight_decay)` instead of adding the decay to
    /// the gradient.
    pub decoupled_weight_decay: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            decoupled_weight_decay: false,
        }
    }
}

impl AdamConfig {
    /// PyTorch's `AdamW` defaults: decoupled weight decay 0.01.
    pub fn adamw() -> AdamConfig {
        AdamConfig {
            weight_decay: 1e-2,
            decoupled_weight_decay: true,
            ..AdamConfig::default()
        }
    }
}

/// Adam as PyTorch implements it (eps added after the bias-corrected square root):
///
/// ```text
/// p = p·(1 − lr·weight_decay)               (AdamW)   or   g = grad + weight_decay·p   (Adam)
/// t = t + 1                                (per parameter)
/// m = β₁·m + (1 − β₁)·g
/// v = β₂·v + (1 − β₂)·g²
/// v̂ = max(v̂, v)  (amsgrad)  or  v
/// p = p − lr / (1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + eps)
/// ```
/// State: `<param>.step`, `<param>.exp_avg` (m), `<param>.exp_avg_sq` (v), and with AMSGrad
/// `<param>.max_exp_avg_sq` (v̂). A [`ParamGroup`] scales `lr` and may override `weight_decay`.
///
/// # Errors
/// [`Adam::new`]: a negative or non-finite hyper-parameter, a beta outside `[0, 1)`, or a parameter
/// listed twice.
pub struct Adam {
    config: AdamConfig,
    params: ParamStates,
}

impl Adam {
    /// Adam (or AdamW, by `config.decoupled_weight_decay`) over one group of parameters.
    pub fn new(params: Vec<(String, Tensor)>, config: AdamConfig) -> Result<Adam> {
        Adam::with_groups(vec![ParamGroup::new(params)], config)
    }

    pub fn with_groups(groups: Vec<ParamGroup>, config: AdamConfig) -> Result<Adam> {
        let AdamConfig {
            lr,
            betas: (beta1, beta2),
            eps,
            weight_decay,
            amsgrad,
            decoupled_weight_decay,
        } = config;
        let what = if decoupled_weight_decay {
            "AdamW"
        } else {
            "Adam"
        };
        for (name, value) in [("lr", lr), ("eps", eps), ("weight_decay", weight_decay)] {
            check_non_negative(what, name, value)?;
        }
        for (name, beta) in [("beta1", beta1), ("beta2", beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(Error::config(
                    what,
                    format!("{name} must be in [0, 1), got {beta}"),
                ));
            }
        }
        let mut slots = vec![
            Slot::scalar("step"),
            Slot::tensor("exp_avg"),
            Slot::tensor("exp_avg_sq"),
        ];
        if amsgrad {
            slots.push(Slot::tensor("max_exp_avg_sq"));
        }
        Ok(Adam {
            config,
            params: ParamStates::new(what, groups, slots)?,
        })
    }
}

impl Optimizer for Adam {
    fn step(&mut self) -> Result<()> {
        let AdamConfig {
            lr,
            betas: (beta1, beta2),
            eps,
            weight_decay,
            amsgrad: _,
            decoupled_weight_decay,
        } = self.config;
        self.params.update(lr, weight_decay, |u: ParamUpdate<'_>| {
            let (hyper, param, grad) = (u.hyper, u.param, u.grad);
            let (step, moments) = u.state.split_at_mut(1);
            let (exp_avg, rest) = moments.split_at_mut(1);
            let (exp_avg_sq, max_exp_avg_sq) = rest.split_at_mut(1);
            let mut max_sq = max_exp_avg_sq.first_mut().map(|v| v.as_mut_slice());
            step[0][0] += 1.0;
            let t = step[0][0] as i32;
            let step_size = hyper.lr / (1.0 - beta1.powi(t));
            let bias_correction2_sqrt = (1.0 - beta2.powi(t)).sqrt();
            let (decay, l2) = if decoupled_weight_decay {
                (1.0 - hyper.lr * hyper.weight_decay, 0.0)
            } else {
                (1.0, hyper.weight_decay)
            };
            for (i, ((p, &g), (m, v))) in param
                .iter_mut()
                .zip(grad)
                .zip(exp_avg[0].iter_mut().zip(exp_avg_sq[0].iter_mut()))
                .enumerate()
            {
                let g = g + l2 * *p;
                *p *= decay;
                *m = beta1 * *m + (1.0 - beta1) * g;
                *v = beta2 * *v + (1.0 - beta2) * g * g;
                let v_hat = match max_sq.as_deref_mut() {
                    Some(max) => {
                        max[i] = max[i].max(*v);
                        max[i]
                    }
                    None => *v,
                };
                *p -= step_size * *m / (v_hat.sqrt() / bias_correction2_sqrt + eps);
            }
        });
        Ok(())
    }

    delegate_to_param_states!();
}
