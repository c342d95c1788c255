//! AdaGrad (PyTorch's `Adagrad`).
use super::{
    check_non_negative, delegate_to_param_states, Optimizer, ParamGroup, ParamStates, ParamUpdate,
    Slot,
};
use crate::error::Result;
use convkit_tensor::Tensor;

/// Hyper-parameters of [`Adagrad`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdagradConfig {
    pub lr: f32,
    pub lr_decay: f32,
    pub weight_decay: f32,
    pub initial_accumulator_value: f32,
    pub eps: f32,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
        }
    }
}

/// AdaGrad (Duchi et al.) as PyTorch implements it:
///
/// ```text
/// t = t + 1                                (per parameter)
/// g = grad + weight_decay·p
/// s = s + g²                               (s starts at initial_accumulator_value)
/// p = p − lr / (1 + (t − 1)·lr_decay) · g / (√s + eps)
/// ```
/// State: `<param>.step`, `<param>.sum`. A [`ParamGroup`] scales `lr` and may override
/// `weight_decay`.
///
/// # Errors
/// [`Adagrad::new`]: a negative or non-finite hyper-parameter or a parameter listed twice.
pub struct Adagrad {
    config: AdagradConfig,
    params: ParamStates,
}

impl Adagrad {
    pub fn new(params: Vec<(String, Tensor)>, config: AdagradConfig) -> Result<Adagrad> {
        Adagrad::with_groups(vec![ParamGroup::new(params)], config)
    }

    pub fn with_groups(groups: Vec<ParamGroup>, config: AdagradConfig) -> Result<Adagrad> {
        let c = config;
        for (name, value) in [
            ("lr", c.lr),
            ("lr_decay", c.lr_decay),
            ("weight_decay", c.weight_decay),
            ("initial_accumulator_value", c.initial_accumulator_value),
            ("eps", c.eps),
        ] {
            check_non_negative("Adagrad", name, value)?;
        }
        let slots = vec![Slot::scalar("step"), Slot::tensor("sum")];
        Ok(Adagrad {
            config,
            params: ParamStates::new("Adagrad", groups, slots)?,
        })
    }
}

impl Optimizer for Adagrad {
    fn step(&mut self) -> Result<()> {
        let c = self.config;
        self.params
            .update(c.lr, c.weight_decay, |u: ParamUpdate<'_>| {
                let [step, sum] = u.state else {
                    unreachable!("Adagrad has two state slots")
                };
                if u.first {
                    sum.fill(c.initial_accumulator_value);
                }
                step[0] += 1.0;
                let clr = u.hyper.lr / (1.0 + (step[0] - 1.0) * c.lr_decay);
                for ((p, &g), s) in u.param.iter_mut().zip(u.grad).zip(sum.iter_mut()) {
                    let g = g + u.hyper.weight_decay * *p;
                    *s += g * g;
                    *p -= clr * g / (s.sqrt() + c.eps);
                }
            });
        Ok(())
    }

    delegate_to_param_states!();
}
