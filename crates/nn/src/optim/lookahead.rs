//! Lookahead (Zhang et al. 2019, "k steps forward, 1 step back"): another optimiser moves the
//! weights (the fast ones) for `k` steps; then slow weights, kept apart, move a fraction `alpha`
//! of the way toward them, and the fast weights restart from the slow ones. airbench's CIFAR-10
//! recipe uses it to average out the noise of large learning rates, in a variant that this module
//! also offers: `alpha` falling over the run ([`LookaheadConfig::ramp`]) and batch norm's running
//! statistics followed along with the weights.
use super::Optimizer;
use crate::error::{Error, Result, StateProblem};
use convkit_tensor::Tensor;
use serde::{Deserialize, Serialize};

/// How often and how far the slow weights follow.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookaheadConfig {
    /// Inner steps between synchronisations.
    pub k: usize,
    /// Fraction of the way the slow weights move toward the fast ones, in (0, 1].
    pub alpha: f32,
    /// airbench's schedule for alpha: at step t of T, `1 − (1 − alpha)·(t/T)^ramp`, so the slow
    /// weights simply take the fast ones early in the run and average more and more toward its
    /// end (airbench94: alpha 1 − 0.95⁵, ramp 3) [default: alpha throughout].
    #[serde(default)]
    pub ramp: Option<f32>,
    /// Follow batch norm's running statistics too (airbench): the trainer hands them to
    /// [`Lookahead::new`] with the parameters.
    #[serde(default)]
    pub buffers: bool,
}

/// The paper's defaults: k = 5, alpha = 0.5.
impl Default for LookaheadConfig {
    fn default() -> Self {
        LookaheadConfig {
            k: 5,
            alpha: 0.5,
            ramp: None,
            buffers: false,
        }
    }
}

/// State tensor names: the slow copy of parameter `p` is `p.lookahead_slow`.
const SLOW_SLOT: &str = "lookahead_slow";
const STEP_NAME: &str = "lookahead_step";

/// An optimiser wrapped in Lookahead.
pub struct Lookahead {
    inner: Box<dyn Optimizer>,
    /// The tensors followed: the inner optimiser's parameters, and buffers when asked.
    params: Vec<(String, Tensor)>,
    config: LookaheadConfig,
    /// The run's length in steps, for the ramp of alpha.
    total_steps: u64,
    /// The slow weights, taken from the parameters at the first step (so that weights loaded after
    /// the optimiser was built are the ones followed).
    slow: Option<Vec<Vec<f32>>>,
    steps: u64,
}

impl Lookahead {
    /// Wraps `inner`, which updates `params` (the same tensors); `params` may also hold tensors
    /// the inner optimiser does not update but that should follow the same averaging (batch
    /// norm's running statistics, as in airbench). `total_steps` is the run's length, which the
    /// ramp of alpha needs (any value without a ramp).
    ///
    /// # Errors
    /// `k` of 0, `alpha` outside (0, 1], a ramp that is not a positive number, or a ramp over 0
    /// steps.
    pub fn new(
        inner: Box<dyn Optimizer>,
        params: Vec<(String, Tensor)>,
        config: LookaheadConfig,
        total_steps: usize,
    ) -> Result<Lookahead> {
        if config.k == 0 || !(config.alpha > 0.0 && config.alpha <= 1.0) {
            return Err(Error::config(
                "lookahead",
                format!(
                    "needs k >= 1 and alpha in (0, 1], got k {} and alpha {}",
                    config.k, config.alpha
                ),
            ));
        }
        if let Some(ramp) = config.ramp {
            if !(ramp > 0.0 && ramp.is_finite()) || total_steps == 0 {
                return Err(Error::config(
                    "lookahead",
                    format!("a ramp needs a positive power and a run of at least one step, got power {ramp} over {total_steps} steps"),
                ));
            }
        }
        Ok(Lookahead {
            inner,
            params,
            config,
            total_steps: total_steps as u64,
            slow: None,
            steps: 0,
        })
    }

    /// alpha at the current step.
    fn alpha(&self) -> f32 {
        let alpha = self.config.alpha;
        match self.config.ramp {
            None => alpha,
            Some(power) => {
                let progress = (self.steps as f64 / self.total_steps as f64).min(1.0);
                (1.0 - (1.0 - f64::from(alpha)) * progress.powf(f64::from(power))) as f32
            }
        }
    }

    /// Moves the slow weights toward the fast ones and restarts the fast ones from them.
    fn synchronise(&mut self) {
        let alpha = self.alpha();
        let slow = self.slow.as_mut().expect("taken at the first step");
        for ((_, param), slow) in self.params.iter().zip(slow) {
            let mut fast = param.data_mut();
            for (f, s) in fast.iter_mut().zip(slow.iter_mut()) {
                *s += alpha * (*f - *s);
                *f = *s;
            }
        }
    }
}

impl Optimizer for Lookahead {
    fn step(&mut self) -> Result<()> {
        if self.slow.is_none() {
            self.slow = Some(self.params.iter().map(|(_, p)| p.to_vec()).collect());
        }
        self.inner.step()?;
        self.steps += 1;
        if self.steps.is_multiple_of(self.config.k as u64) {
            self.synchronise();
        }
        Ok(())
    }

    fn zero_grad(&self) {
        self.inner.zero_grad();
    }

    fn lr(&self) -> f32 {
        self.inner.lr()
    }

    fn set_lr(&mut self, lr: f32) {
        self.inner.set_lr(lr);
    }

    /// The inner optimiser's state, then `lookahead_step` and `<param>.lookahead_slow` (once
    /// training has begun).
    fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = self.inner.state();
        out.push((STEP_NAME.into(), Tensor::scalar(self.steps as f32)));
        for ((name, param), slow) in self.params.iter().zip(self.slow.iter().flatten()) {
            let t = Tensor::from_vec(slow.clone(), param.dims()).expect("slow copy of the param");
            out.push((format!("{name}.{SLOW_SLOT}"), t));
        }
        out
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let (mine, inner): (Vec<_>, Vec<_>) = state
            .iter()
            .cloned()
            .partition(|(name, _)| name == STEP_NAME || name.ends_with(SLOW_SLOT));
        self.inner.load_state(&inner)?;
        let mut problems = Vec::new();
        let mut steps = None;
        let mut slow: Vec<Option<Vec<f32>>> = vec![None; self.params.len()];
        for (name, t) in &mine {
            if name == STEP_NAME {
                steps = Some(t.item() as u64);
                continue;
            }
            let param = self.params.iter().position(|(p, _)| {
                name.strip_prefix(p.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
                    == Some(SLOW_SLOT)
            });
            match param {
                None => problems.push(StateProblem::Unexpected {
                    name: name.clone(),
                    found: t.dims().to_vec(),
                }),
                Some(i) if self.params[i].1.dims() != t.dims() => {
                    problems.push(StateProblem::Shape {
                        name: name.clone(),
                        expected: self.params[i].1.dims().to_vec(),
                        found: t.dims().to_vec(),
                    })
                }
                Some(i) => slow[i] = Some(t.to_vec()),
            }
        }
        if steps.is_none() {
            problems.push(StateProblem::Missing {
                name: STEP_NAME.into(),
                expected: Vec::new(),
            });
        }
        // Slow weights exist for every parameter once training began, for none before.
        let complete: Option<Vec<Vec<f32>>> = slow.iter().cloned().collect();
        if complete.is_none() && steps.unwrap_or(0) > 0 {
            for ((name, param), _) in self.params.iter().zip(&slow).filter(|(_, s)| s.is_none()) {
                problems.push(StateProblem::Missing {
                    name: format!("{name}.{SLOW_SLOT}"),
                    expected: param.dims().to_vec(),
                });
            }
        }
        if !problems.is_empty() {
            return Err(Error::StateMismatch {
                source_name: "optimizer state".into(),
                target: format!("lookahead over {} parameters", self.params.len()),
                problems,
            });
        }
        self.steps = steps.unwrap_or_default();
        self.slow = complete;
        Ok(())
    }
}
