//! The learning-rate schedule part of a [`super::TrainConfig`] and the scheduler it builds.
//! Unset values default to fractions of the run (a third of it for step decay, the whole rest
//! after warm-up for cosine, ...).
use crate::error::{Error, Result};
use convkit_nn::optim::Optimizer;
use convkit_nn::schedule::{
    Anneal, CyclicMode, LrPolicy, LrScheduler, PlateauConfig, ReduceLrOnPlateau, Schedule,
    StepInterval,
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleName {
    /// The same rate throughout.
    #[default]
    Constant,
    /// × gamma every `step_size` steps.
    Step,
    /// × gamma at each of `milestones`.
    Multistep,
    /// × gamma every step.
    Exponential,
    /// Cosine annealing to `eta_min` over `t_max` steps.
    Cosine,
    /// Cosine annealing restarted every `t_0` steps (× `t_mult` each time).
    WarmRestarts,
    /// Linear from lr·`start_factor` to lr·`end_factor` over `t_max` steps.
    Linear,
    /// lr·√(timescale / max(t, timescale)).
    InverseSqrt,
    /// One cycle up to `max_lr` and down (Smith).
    OneCycle,
    /// Triangular cycles between lr and `max_lr`, `cycle_steps` up and as many down.
    Cyclic,
    /// × gamma when the validation loss (test loss without a validation split) has not improved
    /// for more than `patience` epochs.
    Plateau,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntervalName {
    Batch,
    Epoch,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CyclicModeName {
    #[default]
    Triangular,
    Triangular2,
    ExpRange,
}

/// How one-cycle moves between its rates (PyTorch's `anneal_strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnnealName {
    #[default]
    Cos,
    Linear,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// The schedule [default: the dataset recipe's, else constant].
    pub kind: Option<ScheduleName>,
    /// When the schedule advances [default: batch for one-cycle and cyclic, epoch otherwise].
    pub interval: Option<IntervalName>,
    /// Linear warm-up from lr·`warmup_start_factor` over this many epochs, before the schedule
    /// starts.
    pub warmup_epochs: usize,
    /// Warm-up over this fraction of the run's steps (rounded down) instead of whole epochs
    /// (airbench: 0.23 of the steps, per batch).
    pub warmup_fraction: Option<f64>,
    /// The warm-up's first rate as a fraction of lr.
    pub warmup_start_factor: f32,
    /// step: steps between decays [default: a third of the run].
    pub step_size: Option<usize>,
    /// multistep: the steps at which the rate is multiplied by gamma.
    pub milestones: Vec<usize>,
    /// Decay factor of step, multistep, plateau [default: 0.1], exponential [default: 0.95] and
    /// cyclic exp-range [default: 0.99994].
    pub gamma: Option<f32>,
    /// cosine, linear: steps to the end [default: the rest of the run after warm-up].
    pub t_max: Option<usize>,
    /// cosine, warm-restarts: the lowest rate.
    pub eta_min: f32,
    /// warm-restarts: first period [default: a quarter of the run].
    pub t_0: Option<usize>,
    /// warm-restarts: period growth factor.
    pub t_mult: usize,
    /// linear: factor at the start.
    pub start_factor: f32,
    /// linear: factor at the end.
    pub end_factor: f32,
    /// inverse-sqrt: steps before the decay starts [default: one epoch].
    pub timescale: Option<usize>,
    /// one-cycle, cyclic: the peak rate [default: 10·lr].
    pub max_lr: Option<f32>,
    /// one-cycle: the fraction of the run spent rising to `max_lr`.
    pub pct_start: f32,
    /// one-cycle: cosine or linear moves between the rates.
    pub anneal: AnnealName,
    /// one-cycle: the first rate is `max_lr / div_factor`.
    pub div_factor: f32,
    /// one-cycle: the last rate is the first one / `final_div_factor`.
    pub final_div_factor: f32,
    /// cyclic: steps from lr up to `max_lr` (and as many back down) [default: one epoch].
    pub cycle_steps: Option<usize>,
    /// cyclic: amplitude policy.
    pub cyclic_mode: CyclicModeName,
    /// plateau: epochs without improvement before the rate is cut.
    pub patience: usize,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            kind: None,
            interval: None,
            warmup_epochs: 0,
            warmup_fraction: None,
            warmup_start_factor: 0.1,
            step_size: None,
            milestones: Vec::new(),
            gamma: None,
            t_max: None,
            eta_min: 0.0,
            t_0: None,
            t_mult: 1,
            start_factor: 1.0,
            end_factor: 0.0,
            timescale: None,
            max_lr: None,
            pct_start: 0.3,
            anneal: AnnealName::Cos,
            div_factor: 25.0,
            final_div_factor: 1e4,
            cycle_steps: None,
            cyclic_mode: CyclicModeName::Triangular,
            patience: 10,
        }
    }
}

impl ScheduleConfig {
    /// The schedule that runs.
    pub fn kind(&self) -> ScheduleName {
        self.kind.unwrap_or_default()
    }

    /// Whether the schedule starts with a warm-up.
    fn has_warmup(&self) -> bool {
        self.warmup_epochs > 0 || self.warmup_fraction.is_some()
    }

    pub(crate) fn validate(&self, snapshots: bool) -> Result<()> {
        let kind = self.kind();
        if let Some(fraction) = self.warmup_fraction {
            if !(fraction > 0.0 && fraction < 1.0) {
                return Err(Error::config(
                    "schedule.warmup_fraction",
                    format!("must be in (0, 1), got {fraction}"),
                ));
            }
            if self.warmup_epochs > 0 {
                return Err(Error::config(
                    "schedule.warmup_fraction",
                    "give the warm-up's length once: as epochs or as a fraction of the run",
                ));
            }
        }
        let start = self.warmup_start_factor;
        if !(start.is_finite() && start >= 0.0) {
            return Err(Error::config(
                "schedule.warmup_start_factor",
                format!("must be a non-negative number, got {start}"),
            ));
        }
        if snapshots && (kind != ScheduleName::Constant || self.has_warmup() || self.t_0.is_some())
        {
            return Err(Error::config(
                "snapshots",
                "sets its own schedule (cosine annealing with restarts): leave out the schedule kind, warm-up and t_0 (the cyclic and warm-restarts schedules save snapshots at their cycle ends by themselves)",
            ));
        }
        if kind == ScheduleName::Plateau
            && (self.interval == Some(IntervalName::Batch) || self.has_warmup())
        {
            return Err(Error::config(
                "schedule.kind",
                "plateau steps once per epoch and takes no warm-up",
            ));
        }
        if kind == ScheduleName::Multistep && self.milestones.is_empty() {
            return Err(Error::config(
                "schedule.milestones",
                "the multistep schedule needs milestones",
            ));
        }
        Ok(())
    }

    /// This schedule turned into a snapshot ensemble's (Huang et al.): `cycles` equal cycles of
    /// cosine annealing from the learning rate, restarted after each, stepped per batch unless
    /// the interval says epoch, each cycle `epochs / cycles` whole epochs.
    pub fn for_snapshots(&self, cycles: usize, epochs: usize, batches: usize) -> ScheduleConfig {
        let interval = self.interval.unwrap_or(IntervalName::Batch);
        let per_epoch = match interval {
            IntervalName::Batch => batches.max(1),
            IntervalName::Epoch => 1,
        };
        ScheduleConfig {
            kind: Some(ScheduleName::WarmRestarts),
            interval: Some(interval),
            t_0: Some(epochs / cycles * per_epoch),
            t_mult: 1,
            ..self.clone()
        }
    }

    fn interval(&self) -> StepInterval {
        match self.interval {
            Some(IntervalName::Batch) => StepInterval::Batch,
            Some(IntervalName::Epoch) => StepInterval::Epoch,
            None if matches!(self.kind(), ScheduleName::OneCycle | ScheduleName::Cyclic) => {
                StepInterval::Batch
            }
            None => StepInterval::Epoch,
        }
    }

    /// The scheduler of a run of `epochs` × `batches` steps starting at rate `lr`, or `None` for
    /// a constant rate without warm-up (the optimiser's rate is then never touched).
    ///
    /// # Errors
    /// Settings the scheduler refuses.
    pub fn build(
        &self,
        optimizer: &mut dyn Optimizer,
        lr: f32,
        epochs: usize,
        batches: usize,
    ) -> Result<Option<LrScheduler>> {
        let kind = self.kind();
        if kind == ScheduleName::Constant && !self.has_warmup() {
            return Ok(None);
        }
        let interval = self.interval();
        // Steps per epoch in the interval's unit.
        let per_epoch = match interval {
            StepInterval::Batch => batches.max(1),
            StepInterval::Epoch => 1,
        };
        let total = epochs * per_epoch;
        let warmup = match self.warmup_fraction {
            Some(fraction) => (fraction * total as f64) as usize,
            None => self.warmup_epochs * per_epoch,
        };
        let rest = total.saturating_sub(warmup).max(1);
        let gamma = |default: f32| self.gamma.unwrap_or(default);
        let policy = match kind {
            ScheduleName::Plateau => {
                let config = PlateauConfig {
                    factor: gamma(0.1),
                    patience: self.patience,
                    ..PlateauConfig::default()
                };
                LrPolicy::Plateau(ReduceLrOnPlateau::new(config))
            }
            kind => {
                let schedule = self.closed_form(kind, lr, rest, per_epoch, gamma);
                LrPolicy::Schedule(if warmup > 0 {
                    Schedule::Warmup {
                        steps: warmup,
                        start_factor: self.warmup_start_factor,
                        then: Box::new(schedule),
                    }
                } else {
                    schedule
                })
            }
        };
        let scheduler = LrScheduler::new(policy, interval, optimizer)
            .map_err(|e| Error::config("schedule", e.to_string()))?;
        Ok(Some(scheduler))
    }

    fn closed_form(
        &self,
        kind: ScheduleName,
        lr: f32,
        rest: usize,
        per_epoch: usize,
        gamma: impl Fn(f32) -> f32,
    ) -> Schedule {
        let max_lr = self.max_lr.unwrap_or(10.0 * lr);
        match kind {
            ScheduleName::Constant => Schedule::Constant {
                factor: 1.0,
                total_iters: 0,
            },
            ScheduleName::Step => Schedule::Step {
                step_size: self.step_size.unwrap_or((rest / 3).max(1)),
                gamma: gamma(0.1),
            },
            ScheduleName::Multistep => Schedule::MultiStep {
                milestones: self.milestones.clone(),
                gamma: gamma(0.1),
            },
            ScheduleName::Exponential => Schedule::Exponential { gamma: gamma(0.95) },
            ScheduleName::Cosine => Schedule::CosineAnnealing {
                t_max: self.t_max.unwrap_or(rest),
                eta_min: self.eta_min,
            },
            ScheduleName::WarmRestarts => Schedule::CosineWarmRestarts {
                t_0: self.t_0.unwrap_or((rest / 4).max(1)),
                t_mult: self.t_mult,
                eta_min: self.eta_min,
            },
            ScheduleName::Linear => Schedule::Linear {
                start_factor: self.start_factor,
                end_factor: self.end_factor,
                total_iters: self.t_max.unwrap_or(rest),
            },
            ScheduleName::InverseSqrt => Schedule::InverseSqrt {
                timescale: self.timescale.unwrap_or(per_epoch),
            },
            ScheduleName::OneCycle => Schedule::OneCycle {
                max_lr,
                total_steps: rest,
                pct_start: self.pct_start,
                anneal: match self.anneal {
                    AnnealName::Cos => Anneal::Cos,
                    AnnealName::Linear => Anneal::Linear,
                },
                div_factor: self.div_factor,
                final_div_factor: self.final_div_factor,
                three_phase: false,
            },
            ScheduleName::Cyclic => {
                let steps = self.cycle_steps.unwrap_or(per_epoch);
                Schedule::Cyclic {
                    base_lr: lr,
                    max_lr,
                    step_size_up: steps,
                    step_size_down: steps,
                    mode: match self.cyclic_mode {
                        CyclicModeName::Triangular => CyclicMode::Triangular,
                        CyclicModeName::Triangular2 => CyclicMode::Triangular2,
                        CyclicModeName::ExpRange => CyclicMode::ExpRange {
                            gamma: gamma(0.99994),
                        },
                    },
                }
            }
            ScheduleName::Plateau => unreachable!("built by the caller"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_nn::optim::{Sgd, SgdConfig};
    use convkit_tensor::Tensor;

    /// airbench94's rate: from 0.2 up to 1 over the first int(0.23·T) steps, then linearly down
    /// to 0.07 at step T.
    fn airbench_factor(step: usize, total: usize) -> f64 {
        let warmup = (total as f64 * 0.23) as usize;
        if step < warmup {
            let frac = step as f64 / warmup as f64;
            0.2 * (1.0 - frac) + frac
        } else {
            let frac = (step - warmup) as f64 / (total - warmup) as f64;
            (1.0 - frac) + 0.07 * frac
        }
    }

    #[test]
    fn a_fractional_warmup_then_linear_decay_is_airbench_s_schedule() {
        let config = ScheduleConfig {
            kind: Some(ScheduleName::Linear),
            interval: Some(IntervalName::Batch),
            warmup_fraction: Some(0.23),
            warmup_start_factor: 0.2,
            end_factor: 0.07,
            ..Default::default()
        };
        config.validate(false).unwrap();
        let param = vec![("w".to_string(), Tensor::zeros([1]).with_grad())];
        let sgd_config = SgdConfig {
            lr: 2.0,
            ..Default::default()
        };
        let mut sgd = Sgd::new(param, sgd_config).unwrap();
        let (epochs, batches) = (10, 49);
        let mut scheduler = config
            .build(&mut sgd, 2.0, epochs, batches)
            .unwrap()
            .unwrap();
        for step in 0..epochs * batches {
            let expected = 2.0 * airbench_factor(step, epochs * batches);
            let lr = f64::from(scheduler.lr());
            assert!(
                (lr - expected).abs() < 1e-5,
                "step {step}: {lr} vs {expected}"
            );
            scheduler.batch_end(&mut sgd);
        }
    }

    #[test]
    fn a_warmup_is_given_once_and_as_a_fraction_of_the_run() {
        let both = ScheduleConfig {
            warmup_epochs: 1,
            warmup_fraction: Some(0.2),
            ..Default::default()
        };
        let err = both.validate(false).unwrap_err().to_string();
        assert!(err.starts_with("schedule.warmup_fraction: give"), "{err}");
        let whole = ScheduleConfig {
            warmup_fraction: Some(1.0),
            ..Default::default()
        };
        assert!(whole.validate(false).is_err());
    }
}
