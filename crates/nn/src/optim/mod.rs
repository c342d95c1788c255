//! Optimisers: the [`Optimizer`] trait, [`Sgd`], [`Adam`] (and AdamW), [`Adagrad`], [`RmsProp`],
//! and the closure-driven [`Lbfgs`], with PyTorch's conventions; [`Lookahead`] around any of
//! them; [`ParamGroup`]s for per-group
//! settings; gradient clipping ([`clip_grad_norm`], [`clip_grad_value`]).
//!
//! Each optimiser keeps explicit per-parameter state (momentum buffer, Adam's moments), created the
//! first time a parameter has a gradient, exposed by [`Optimizer::state`] under the names
//! `<param>.<slot>` (`fc.weight.momentum_buffer`, `conv1.weight.exp_avg`) plus `step`, the number of
//! `step()` calls, so a checkpoint can resume training exactly. Step counts are stored as f32 scalars,
//! exact up to 2²⁴ steps.
mod adagrad;
mod adam;
mod clip;
mod group;
mod lbfgs;
mod line_search;
mod lookahead;
mod rmsprop;
mod sgd;
mod state;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use group::{no_decay_on_biases_and_norms, ParamGroup};
pub use lbfgs::{Lbfgs, LbfgsConfig, LineSearch};
pub use lookahead::{Lookahead, LookaheadConfig};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use sgd::{Sgd, SgdConfig};

pub(crate) use state::{ParamStates, ParamUpdate, Slot};

use crate::error::{Error, Result};
use convkit_tensor::Tensor;

/// Updates parameters from their gradients.
pub trait Optimizer {
    /// One update of every parameter that has a gradient; parameters without one are skipped (their
    /// state is left as it is), as in PyTorch.
    ///
    /// # Errors
    /// Never with the optimisers of this crate; the signature leaves room for checks.
    fn step(&mut self) -> Result<()>;
    /// Clears every parameter's gradient (PyTorch's `set_to_none=True`).
    fn zero_grad(&self);
    fn lr(&self) -> f32;
    /// Sets the learning rate (for schedules).
    fn set_lr(&mut self, lr: f32);
    /// The named state tensors: `step`, then `<param>.<slot>` for each parameter with state.
    fn state(&self) -> Vec<(String, Tensor)>;
    /// Restores state saved by [`Optimizer::state`] for the same parameters.
    ///
    /// # Errors
    /// [`Error::StateMismatch`] listing every unknown name, wrong shape and incomplete parameter state.
    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()>;
}

/// The [`Optimizer`] methods every `ParamStates`-backed optimiser shares (its struct has `config.lr`
/// and `params`); `step` is each one's own.
macro_rules! delegate_to_param_states {
    () => {
        fn zero_grad(&self) {
            self.params.zero_grad();
        }

        fn lr(&self) -> f32 {
            self.config.lr
        }

        fn set_lr(&mut self, lr: f32) {
            self.config.lr = lr;
        }

        fn state(&self) -> Vec<(String, convkit_tensor::Tensor)> {
            self.params.to_named()
        }

        fn load_state(&mut self, state: &[(String, convkit_tensor::Tensor)]) -> crate::Result<()> {
            self.params.load(state)
        }
    };
}
pub(crate) use delegate_to_param_states;

/// Checks a learning rate or other hyper-parameter that must be finite and non-negative.
pub(crate) fn check_non_negative(what: &'static str, name: &str, value: f32) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            what,
            format!("{name} must be finite and non-negative, got {value}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<(String, Tensor)> {
        let a = Tensor::from_vec(vec![1.0, -2.0], [2]).unwrap().with_grad();
        let b = Tensor::from_vec(vec![0.5; 6], [2, 3]).unwrap().with_grad();
        vec![("a".into(), a), ("fc.b".into(), b)]
    }

    /// Gives `a` the gradient `g` (and `fc.b` none) through the graph: d(sum(a·g))/da = g.
    fn grad_a(params: &[(String, Tensor)], g: &[f32]) {
        let g = Tensor::from_vec(g.to_vec(), [2]).unwrap();
        params[0].1.mul(&g).unwrap().sum().backward().unwrap();
    }

    #[test]
    fn sgd_momentum_by_hand_and_parameters_without_grad_are_skipped() {
        let p = params();
        let config = SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            ..Default::default()
        };
        let mut sgd = Sgd::new(p.clone(), config).unwrap();
        grad_a(&p, &[1.0, 2.0]);
        sgd.step().unwrap(); // b = g; a -= 0.1·b
        sgd.zero_grad();
        grad_a(&p, &[1.0, 2.0]);
        sgd.step().unwrap(); // b = 0.9·g + g = 1.9·g
        let a = p[0].1.to_vec();
        assert!(
            (a[0] - (1.0 - 0.1 - 0.19)).abs() < 1e-6 && (a[1] - (-2.0 - 0.2 - 0.38)).abs() < 1e-6,
            "{a:?}"
        );
        assert_eq!(p[1].1.to_vec(), vec![0.5; 6], "no gradient, no update");
        let names: Vec<String> = sgd.state().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["step", "a.momentum_buffer"],
            "no state for a parameter never updated"
        );
    }

    #[test]
    fn adam_state_round_trips_and_resumes_identically() {
        let (p1, p2) = (params(), params());
        let config = AdamConfig {
            lr: 0.01,
            ..Default::default()
        };
        let (mut first, mut resumed) = (
            Adam::new(p1.clone(), config).unwrap(),
            Adam::new(p2.clone(), config).unwrap(),
        );
        grad_a(&p1, &[0.3, -0.7]);
        first.step().unwrap();
        let state = first.state();
        let names: Vec<&str> = state.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["step", "a.step", "a.exp_avg", "a.exp_avg_sq"]);
        resumed.load_state(&state).unwrap();
        p2[0].1.data_mut().copy_from_slice(&p1[0].1.data());
        for (params, opt) in [(&p1, &mut first), (&p2, &mut resumed)] {
            opt.zero_grad();
            grad_a(params, &[0.1, 0.2]);
            opt.step().unwrap();
        }
        assert_eq!(p1[0].1.to_vec(), p2[0].1.to_vec());
        assert_eq!(first.state()[1].1.item(), 2.0, "per-parameter step count");
    }

    #[test]
    fn load_state_reports_every_problem() {
        let mut sgd = Sgd::new(
            params(),
            SgdConfig {
                momentum: 0.9,
                ..Default::default()
            },
        )
        .unwrap();
        let state = vec![
            ("a.momentum_buffer".to_string(), Tensor::zeros([3])),
            ("nope.momentum_buffer".to_string(), Tensor::zeros([1])),
            ("a.exp_avg".to_string(), Tensor::zeros([2])),
        ];
        let err = sgd.load_state(&state).unwrap_err().to_string();
        for needle in [
            "optimizer state does not match SGD over 2 parameters",
            "shape mismatch for a.momentum_buffer: expected [2], found [3]",
            "unexpected tensor nope.momentum_buffer",
            "unexpected tensor a.exp_avg",
            "missing tensor step",
        ] {
            assert!(err.contains(needle), "{needle:?} not in {err}");
        }
    }

    #[test]
    fn invalid_hyper_parameters() {
        let nesterov = SgdConfig {
            nesterov: true,
            ..Default::default()
        };
        assert!(Sgd::new(params(), nesterov)
            .err()
            .unwrap()
            .to_string()
            .contains("Nesterov momentum requires"));
        assert!(Sgd::new(
            params(),
            SgdConfig {
                lr: -1.0,
                ..Default::default()
            }
        )
        .is_err());
        let err = Adam::new(
            params(),
            AdamConfig {
                betas: (0.9, 1.0),
                ..Default::default()
            },
        )
        .err()
        .unwrap();
        assert!(
            err.to_string()
                .contains("Adam: invalid configuration: beta2 must be in [0, 1), got 1"),
            "{err}"
        );
        let twice = vec![params()[0].clone(), params()[0].clone()];
        assert!(Sgd::new(twice, SgdConfig::default())
            .err()
            .unwrap()
            .to_string()
            .contains("listed twice"));
    }

    #[test]
    fn learning_rate_is_adjustable() {
        let mut sgd = Sgd::new(params(), SgdConfig::default()).unwrap();
        assert_eq!(sgd.lr(), 1e-3);
        sgd.set_lr(0.5);
        assert_eq!(sgd.lr(), 0.5);
    }
}
