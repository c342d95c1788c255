//! RMSprop with momentum and the centered variant (PyTorch's `RMSprop`).
use super::{
    check_non_negative, delegate_to_param_states, Optimizer, ParamGroup, ParamStates, ParamUpdate,
    Slot,
};
use crate::error::{Error, Result};
use convkit_tensor::Tensor;

/// Hyper-parameters of [`RmsProp`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsPropConfig {
    pub lr: f32,
    pub alpha: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub momentum: f32,
    pub centered: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        RmsPropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

/// RMSprop (Hinton's lecture 6e) as PyTorch implements it; eps is added outside the square root,
/// and momentum accumulates the normalised step (not the gradient):
///
/// ```text
/// g = grad + weight_decay·p
/// v = α·v + (1 − α)·g²
/// ḡ = α·ḡ + (1 − α)·g;  a = √(v − ḡ²) + eps     (centered)
///                        a = √v + eps            (otherwise)
/// b = momentum·b + g / a;  p = p − lr·b        (momentum > 0)
/// p = p − lr·g / a                             (otherwise)
/// ```
/// State: `<param>.step`, `<param>.square_avg`, and `<param>.momentum_buffer` /
/// `<param>.grad_avg` when momentum / centered are on. A [`ParamGroup`] scales `lr` and may
/// override `weight_decay`.
///
/// # Errors
/// [`RmsProp::new`]: a negative or non-finite hyper-parameter, `alpha` outside `[0, 1]`, or a
/// parameter listed twice.
pub struct RmsProp {
    config: RmsPropConfig,
    params: ParamStates,
}

impl RmsProp {
    pub fn new(params: Vec<(String, Tensor)>, config: RmsPropConfig) -> Result<RmsProp> {
        RmsProp::with_groups(vec![ParamGroup::new(params)], config)
    }

    pub fn with_groups(groups: Vec<ParamGroup>, config: RmsPropConfig) -> Result<RmsProp> {
        let c = config;
        for (name, value) in [
            ("lr", c.lr),
            ("eps", c.eps),
            ("weight_decay", c.weight_decay),
            ("momentum", c.momentum),
        ] {
            check_non_negative("RMSprop", name, value)?;
        }
        if !(0.0..=1.0).contains(&c.alpha) {
            return Err(Error::config(
                "RMSprop",
                format!("alpha must be in [0, 1], got {}", c.alpha),
            ));
        }
        let mut slots = vec![Slot::scalar("step"), Slot::tensor("square_avg")];
        if c.momentum > 0.0 {
            slots.push(Slot::tensor("momentum_buffer"));
        }
        if c.centered {
            slots.push(Slot::tensor("grad_avg"));
        }
        Ok(RmsProp {
            config,
            params: ParamStates::new("RMSprop", groups, slots)?,
        })
    }
}

impl Optimizer for RmsProp {
    fn step(&mut self) -> Result<()> {
        let c = self.config;
        self.params
            .update(c.lr, c.weight_decay, |u: ParamUpdate<'_>| {
                let (step, rest) = u.state.split_at_mut(1);
                let (square_avg, rest) = rest.split_at_mut(1);
                let (mut momentum_buf, mut grad_avg) = (None, None);
                let mut extra = rest.iter_mut();
                if c.momentum > 0.0 {
                    momentum_buf = extra.next();
                }
                if c.centered {
                    grad_avg = extra.next();
                }
                step[0][0] += 1.0;
                let (lr, wd, alpha) = (u.hyper.lr, u.hyper.weight_decay, c.alpha);
                for (i, (p, &g)) in u.param.iter_mut().zip(u.grad).enumerate() {
                    let g = g + wd * *p;
                    let v = &mut square_avg[0][i];
                    *v = alpha * *v + (1.0 - alpha) * g * g;
                    let avg = match grad_avg.as_deref_mut() {
                        Some(ga) => {
                            ga[i] = alpha * ga[i] + (1.0 - alpha) * g;
                            (*v - ga[i] * ga[i]).sqrt() + c.eps
                        }
                        None => v.sqrt() + c.eps,
                    };
                    match momentum_buf.as_deref_mut() {
                        Some(b) => {
                            b[i] = c.momentum * b[i] + g / avg;
                            *p -= lr * b[i];
                        }
                        None => *p -= lr * g / avg,
                    }
                }
            });
        Ok(())
    }

    delegate_to_param_states!();
}
