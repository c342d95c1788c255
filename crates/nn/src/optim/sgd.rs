//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch's `SGD`).
use super::{
    check_non_negative, delegate_to_param_states, Optimizer, ParamGroup, ParamStates, ParamUpdate,
    Slot,
};
use crate::error::{Error, Result};
use convkit_tensor::Tensor;
use rayon::prelude::*;

/// Hyper-parameters of [`Sgd`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    pub lr: f32,
    pub momentum: f32,
    pub dampening: f32,
    pub weight_decay: f32,
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

/// SGD as PyTorch implements it, which differs from the textbook (Sutskever) form in where `lr`
/// sits:
///
/// ```text
/// g = grad + weight_decay·p
/// b = g                                  on a parameter's first step
/// b = momentum·b + (1 − dampening)·g     afterwards
/// d = g + momentum·b  (nesterov)  or  b
/// p = p − lr·d
/// ```
/// With `momentum == 0` there is no buffer and `d = g`. State: `<param>.momentum_buffer`.
/// A [`ParamGroup`] scales `lr` and may override `weight_decay`.
///
/// # Errors
/// [`Sgd::new`]: a negative or non-finite hyper-parameter, a parameter listed twice, or Nesterov
/// without momentum or with dampening (PyTorch's rule).
pub struct Sgd {
    config: SgdConfig,
    params: ParamStates,
}

/// Parameters at least this large are updated in parallel chunks of this many elements (every
/// element is updated on its own, so the result does not depend on the thread count).
const PAR_CHUNK: usize = 1 << 15;

/// `f(param_chunk, grad_chunk)` over matching chunks, in parallel for large parameters.
fn for_chunks(p: &mut [f32], g: &[f32], f: impl Fn(&mut [f32], &[f32]) + Sync) {
    if p.len() < 2 * PAR_CHUNK {
        return f(p, g);
    }
    p.par_chunks_mut(PAR_CHUNK)
        .zip(g.par_chunks(PAR_CHUNK))
        .for_each(|(p, g)| f(p, g));
}

/// [`for_chunks`] with a state buffer of the parameter's size.
fn for_chunks_with(
    p: &mut [f32],
    g: &[f32],
    b: &mut [f32],
    f: impl Fn(&mut [f32], &[f32], &mut [f32]) + Sync,
) {
    if p.len() < 2 * PAR_CHUNK {
        return f(p, g, b);
    }
    p.par_chunks_mut(PAR_CHUNK)
        .zip(g.par_chunks(PAR_CHUNK))
        .zip(b.par_chunks_mut(PAR_CHUNK))
        .for_each(|((p, g), b)| f(p, g, b));
}

impl Sgd {
    /// SGD over one group of parameters.
    pub fn new(params: Vec<(String, Tensor)>, config: SgdConfig) -> Result<Sgd> {
        Sgd::with_groups(vec![ParamGroup::new(params)], config)
    }

    /// SGD over parameter groups with their own lr scale and weight decay.
    pub fn with_groups(groups: Vec<ParamGroup>, config: SgdConfig) -> Result<Sgd> {
        let SgdConfig {
            lr,
            momentum,
            dampening,
            weight_decay,
            nesterov,
        } = config;
        for (name, value) in [
            ("lr", lr),
            ("momentum", momentum),
            ("dampening", dampening),
            ("weight_decay", weight_decay),
        ] {
            check_non_negative("SGD", name, value)?;
        }
        if nesterov && (momentum <= 0.0 || dampening != 0.0) {
            return Err(Error::config(
                "SGD",
                "Nesterov momentum requires a momentum and zero dampening",
            ));
        }
        let slots = if momentum > 0.0 {
            vec![Slot::tensor("momentum_buffer")]
        } else {
            Vec::new()
        };
        Ok(Sgd {
            config,
            params: ParamStates::new("SGD", groups, slots)?,
        })
    }
}

impl Optimizer for Sgd {
    fn step(&mut self) -> Result<()> {
        let SgdConfig {
            lr,
            momentum,
            dampening,
            weight_decay,
            nesterov,
        } = self.config;
        self.params.update(lr, weight_decay, |u: ParamUpdate<'_>| {
            let ParamUpdate {
                hyper,
                param,
                grad,
                state,
                first,
            } = u;
            let (lr, weight_decay) = (hyper.lr, hyper.weight_decay);
            // Branches hoisted out of the element loops; `move` closures hold the settings by
            // value, so the loops neither reload them nor test them per element.
            match state.first_mut() {
                None => for_chunks(param, grad, move |p, g| {
                    for (p, &g) in p.iter_mut().zip(g) {
                        *p -= lr * (g + weight_decay * *p);
                    }
                }),
                Some(buf) => for_chunks_with(param, grad, buf, move |p, g, b| {
                    for ((p, &g), b) in p.iter_mut().zip(g).zip(b) {
                        let d = g + weight_decay * *p;
                        // PyTorch starts the buffer at d on a parameter's first step.
                        *b = if first {
                            d
                        } else {
                            momentum * *b + (1.0 - dampening) * d
                        };
                        *p -= lr * if nesterov { d + momentum * *b } else { *b };
                    }
                }),
            }
        });
        Ok(())
    }

    delegate_to_param_states!();
}
