//! Adam with L2 weight decay and bias correction (PyTorch's `Adam`).
use super::{check_non_negative, Optimizer, ParamStates, Slot};
use crate::error::{Error, Result};
use convkit_tensor::Tensor;

/// Hyper-parameters of [`Adam`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub lr: f32,
    pub betas: (f32, f32),
    pub eps: f32,
    /// L2 penalty added to the gradient (not AdamW's decoupled decay).
    pub weight_decay: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// Adam as PyTorch implements it (eps added after the bias-corrected square root):
///
/// ```text
/// g = grad + weight_decay·p
/// t = t + 1                                (per parameter)
/// m = β₁·m + (1 − β₁)·g
/// v = β₂·v + (1 − β₂)·g²
/// p = p − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps)
/// ```
/// State: `<param>.step`, `<param>.exp_avg` (m), `<param>.exp_avg_sq` (v).
///
/// # Errors
/// [`Adam::new`]: a negative or non-finite hyper-parameter, a beta outside `[0, 1)`, or a parameter
/// listed twice.
pub struct Adam {
    config: AdamConfig,
    params: ParamStates,
}

const ADAM_SLOTS: &[Slot] = &[
    Slot {
        name: "step",
        scalar: true,
    },
    Slot {
        name: "exp_avg",
        scalar: false,
    },
    Slot {
        name: "exp_avg_sq",
        scalar: false,
    },
];

impl Adam {
    pub fn new(params: Vec<(String, Tensor)>, config: AdamConfig) -> Result<Adam> {
        let AdamConfig {
            lr,
            betas: (beta1, beta2),
            eps,
            weight_decay,
        } = config;
        for (name, value) in [("lr", lr), ("eps", eps), ("weight_decay", weight_decay)] {
            check_non_negative("Adam", name, value)?;
        }
        for (name, beta) in [("beta1", beta1), ("beta2", beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(Error::config(
                    "Adam",
                    format!("{name} must be in [0, 1), got {beta}"),
                ));
            }
        }
        Ok(Adam {
            config,
            params: ParamStates::new("Adam", params, ADAM_SLOTS)?,
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
        } = self.config;
        self.params.update(|param, grad, state, _first| {
            let [step, exp_avg, exp_avg_sq] = state else {
                unreachable!("Adam has three state slots")
            };
            step[0] += 1.0;
            let t = step[0] as i32;
            let step_size = lr / (1.0 - beta1.powi(t));
            let bias_correction2_sqrt = (1.0 - beta2.powi(t)).sqrt();
            for (((p, &g), m), v) in param
                .iter_mut()
                .zip(grad)
                .zip(exp_avg.iter_mut())
                .zip(exp_avg_sq.iter_mut())
            {
                let g = g + weight_decay * *p;
                *m = beta1 * *m + (1.0 - beta1) * g;
                *v = beta2 * *v + (1.0 - beta2) * g * g;
                *p -= step_size * *m / (v.sqrt() / bias_correction2_sqrt + eps);
            }
        });
        Ok(())
    }

    fn zero_grad(&self) {
        self.params.zero_grad();
    }

    fn lr(&self) -> f32 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f32) {
        self.config.lr = lr;
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        self.params.to_named()
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        self.params.load(state)
    }
}
