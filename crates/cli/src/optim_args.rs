//! `convkit train`'s optimiser, learning-rate schedule and gradient-clipping flags, and the objects
//! they build. Defaults reproduce the plain SGD-with-momentum run (no schedule, no clipping).
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use convkit_nn::optim::{
    clip_grad_norm, clip_grad_value, no_decay_on_biases_and_norms, Adagrad, AdagradConfig, Adam,
    AdamConfig, Optimizer, ParamGroup, RmsProp, RmsPropConfig, Sgd, SgdConfig,
};
use convkit_nn::schedule::{
    CyclicMode, LrPolicy, LrScheduler, PlateauConfig, ReduceLrOnPlateau, Schedule, StepInterval,
};
use convkit_tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerName {
    /// SGD with momentum (PyTorch's conventions).
    Sgd,
    /// Adam with bias correction; --weight-decay is an L2 term added to the gradient.
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
    /// RMSprop (with --momentum when given).
    Rmsprop,
    /// AdaGrad.
    Adagrad,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleName {
    /// The same rate throughout.
    Constant,
    /// × gamma every --step-size steps.
    Step,
    /// × gamma at each of --milestones.
    Multistep,
    /// × gamma every step.
    Exponential,
    /// Cosine annealing to --eta-min over --t-max steps.
    Cosine,
    /// Cosine annealing restarted every --t-0 steps (× --t-mult each time).
    WarmRestarts,
    /// Linear from lr·--start-factor to lr·--end-factor over --t-max steps.
    Linear,
    /// lr·√(timescale / max(t, timescale)).
    InverseSqrt,
    /// One cycle up to --max-lr and down (Smith).
    OneCycle,
    /// Triangular cycles between lr and --max-lr, --cycle-steps up and as many down.
    Cyclic,
    /// × gamma when the validation loss (test loss without --val-fraction) has not improved for
    /// more than --patience epochs.
    Plateau,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntervalName {
    Batch,
    Epoch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CyclicModeName {
    Triangular,
    Triangular2,
    ExpRange,
}

#[derive(Args, Debug, Clone, Serialize, Deserialize)]
pub struct OptimArgs {
    #[arg(long, value_enum, default_value_t = OptimizerName::Sgd)]
    pub optimizer: OptimizerName,
    /// Learning rate [default: 0.01 for SGD and AdaGrad, 0.001 for Adam, AdamW and RMSprop].
    #[arg(long)]
    pub lr: Option<f32>,
    /// Momentum for SGD and RMSprop [default: 0.9 for SGD, 0 for RMSprop].
    #[arg(long)]
    pub momentum: Option<f32>,
    /// Nesterov momentum (SGD).
    #[arg(long)]
    pub nesterov: bool,
    /// Weight decay: an L2 term added to the gradient, decoupled for AdamW [default: 0, 0.01 for AdamW].
    #[arg(long)]
    pub weight_decay: Option<f32>,
    /// No weight decay on biases and normalisation parameters (every parameter with one dimension).
    #[arg(long)]
    pub no_decay_bias_norm: bool,
    /// Rescale the gradients so that their global L2 norm is at most this.
    #[arg(long)]
    pub clip_grad_norm: Option<f32>,
    /// Clamp every gradient element into [-v, v].
    #[arg(long)]
    pub clip_grad_value: Option<f32>,
    /// Learning-rate schedule.
    #[arg(long, value_enum, default_value_t = ScheduleName::Constant)]
    pub schedule: ScheduleName,
    /// When the schedule advances [default: batch for one-cycle and cyclic, epoch otherwise].
    #[arg(long, value_enum)]
    pub schedule_interval: Option<IntervalName>,
    /// Linear warm-up from lr·0.1 over this many epochs, before the schedule starts.
    #[arg(long, default_value_t = 0)]
    pub warmup_epochs: usize,
    /// step: steps between decays [default: a third of the run].
    #[arg(long)]
    pub step_size: Option<usize>,
    /// multistep: comma-separated steps at which the rate is multiplied by gamma.
    #[arg(long, value_delimiter = ',')]
    pub milestones: Vec<usize>,
    /// Decay factor of step, multistep, plateau [default: 0.1], exponential [default: 0.95] and
    /// cyclic exp-range [default: 0.99994].
    #[arg(long)]
    pub gamma: Option<f32>,
    /// cosine, linear: steps to the end [default: the rest of the run after warm-up].
    #[arg(long)]
    pub t_max: Option<usize>,
    /// cosine, warm-restarts: the lowest rate.
    #[arg(long, default_value_t = 0.0)]
    pub eta_min: f32,
    /// warm-restarts: first period [default: a quarter of the run].
    #[arg(long)]
    pub t_0: Option<usize>,
    /// warm-restarts: period growth factor.
    #[arg(long, default_value_t = 1)]
    pub t_mult: usize,
    /// linear: factor at the start.
    #[arg(long, default_value_t = 1.0)]
    pub start_factor: f32,
    /// linear: factor at the end.
    #[arg(long, default_value_t = 0.0)]
    pub end_factor: f32,
    /// inverse-sqrt: steps before the decay starts [default: one epoch].
    #[arg(long)]
    pub timescale: Option<usize>,
    /// one-cycle, cyclic: the peak rate [default: 10·lr].
    #[arg(long)]
    pub max_lr: Option<f32>,
    /// cyclic: steps from lr up to --max-lr (and as many back down) [default: one epoch].
    #[arg(long)]
    pub cycle_steps: Option<usize>,
    /// cyclic: amplitude policy.
    #[arg(long, value_enum, default_value_t = CyclicModeName::Triangular)]
    pub cyclic_mode: CyclicModeName,
    /// plateau: epochs without improvement before the rate is cut.
    #[arg(long, default_value_t = 10)]
    pub patience: usize,
}

impl OptimArgs {
    pub fn lr(&self) -> f32 {
        self.lr.unwrap_or(match self.optimizer {
            OptimizerName::Sgd | OptimizerName::Adagrad => 0.01,
            OptimizerName::Adam | OptimizerName::Adamw | OptimizerName::Rmsprop => 0.001,
        })
    }

    /// The optimiser over `params`, in one group, or two with `--no-decay-bias-norm`.
    pub fn optimizer(&self, params: Vec<(String, Tensor)>) -> anyhow::Result<Box<dyn Optimizer>> {
        let lr = self.lr();
        if !(lr > 0.0 && lr.is_finite()) {
            bail!("--lr must be a positive number, got {lr}");
        }
        let groups = if self.no_decay_bias_norm {
            no_decay_on_biases_and_norms(params)
        } else {
            vec![ParamGroup::new(params)]
        };
        let weight_decay = self.weight_decay;
        if self.nesterov && self.optimizer != OptimizerName::Sgd {
            bail!("--nesterov applies to --optimizer sgd only");
        }
        Ok(match self.optimizer {
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
                let d = if self.optimizer == OptimizerName::Adamw {
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

    /// These options turned into a snapshot ensemble's schedule (Huang et al.): `cycles` equal
    /// cycles of cosine annealing from --lr, restarted after each, stepped per batch unless
    /// --schedule-interval says epoch, each cycle `epochs / cycles` whole epochs.
    ///
    /// # Errors
    /// No cycles, epochs that don't split into them, or options that set another schedule.
    pub fn for_snapshots(
        &self,
        cycles: usize,
        epochs: usize,
        batches: usize,
    ) -> anyhow::Result<OptimArgs> {
        if cycles == 0 || !epochs.is_multiple_of(cycles) {
            bail!("--snapshots {cycles}: --epochs ({epochs}) must be a positive multiple of the number of cycles");
        }
        if self.schedule != ScheduleName::Constant || self.warmup_epochs > 0 || self.t_0.is_some() {
            bail!("--snapshots sets its own schedule (cosine annealing with restarts): leave out --schedule, --warmup-epochs and --t-0 (the cyclic and warm-restarts schedules save snapshots at their cycle ends by themselves)");
        }
        let interval = self.schedule_interval.unwrap_or(IntervalName::Batch);
        let per_epoch = match interval {
            IntervalName::Batch => batches.max(1),
            IntervalName::Epoch => 1,
        };
        Ok(OptimArgs {
            schedule: ScheduleName::WarmRestarts,
            schedule_interval: Some(interval),
            t_0: Some(epochs / cycles * per_epoch),
            t_mult: 1,
            ..self.clone()
        })
    }

    fn interval(&self) -> StepInterval {
        match self.schedule_interval {
            Some(IntervalName::Batch) => StepInterval::Batch,
            Some(IntervalName::Epoch) => StepInterval::Epoch,
            None if matches!(self.schedule, ScheduleName::OneCycle | ScheduleName::Cyclic) => {
                StepInterval::Batch
            }
            None => StepInterval::Epoch,
        }
    }

    /// The schedule for a run of `epochs` × `batches` steps, or `None` for a constant rate
    /// without warm-up (the optimiser's rate is then never touched).
    pub fn scheduler(
        &self,
        optimizer: &mut dyn Optimizer,
        epochs: usize,
        batches: usize,
    ) -> anyhow::Result<Option<LrScheduler>> {
        if self.schedule == ScheduleName::Constant && self.warmup_epochs == 0 {
            return Ok(None);
        }
        let interval = self.interval();
        // Steps per epoch in the interval's unit.
        let per_epoch = match interval {
            StepInterval::Batch => batches.max(1),
            StepInterval::Epoch => 1,
        };
        let warmup = self.warmup_epochs * per_epoch;
        let rest = (epochs * per_epoch).saturating_sub(warmup).max(1);
        let lr = self.lr();
        let gamma = |default: f32| self.gamma.unwrap_or(default);
        let policy = match self.schedule {
            ScheduleName::Plateau => {
                if interval == StepInterval::Batch || self.warmup_epochs > 0 {
                    bail!("--schedule plateau steps once per epoch and takes no warm-up");
                }
                let config = PlateauConfig {
                    factor: gamma(0.1),
                    patience: self.patience,
                    ..PlateauConfig::default()
                };
                LrPolicy::Plateau(ReduceLrOnPlateau::new(config))
            }
            name => {
                let schedule = self.closed_form(name, lr, rest, per_epoch, gamma)?;
                LrPolicy::Schedule(if warmup > 0 {
                    Schedule::Warmup {
                        steps: warmup,
                        start_factor: 0.1,
                        then: Box::new(schedule),
                    }
                } else {
                    schedule
                })
            }
        };
        let scheduler = LrScheduler::new(policy, interval, optimizer)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("--schedule {:?}", self.schedule))?;
        Ok(Some(scheduler))
    }

    fn closed_form(
        &self,
        name: ScheduleName,
        lr: f32,
        rest: usize,
        per_epoch: usize,
        gamma: impl Fn(f32) -> f32,
    ) -> anyhow::Result<Schedule> {
        let max_lr = self.max_lr.unwrap_or(10.0 * lr);
        Ok(match name {
            ScheduleName::Constant => Schedule::Constant {
                factor: 1.0,
                total_iters: 0,
            },
            ScheduleName::Step => Schedule::Step {
                step_size: self.step_size.unwrap_or((rest / 3).max(1)),
                gamma: gamma(0.1),
            },
            ScheduleName::Multistep => {
                if self.milestones.is_empty() {
                    bail!("--schedule multistep needs --milestones");
                }
                Schedule::MultiStep {
                    milestones: self.milestones.clone(),
                    gamma: gamma(0.1),
                }
            }
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
            ScheduleName::OneCycle => Schedule::one_cycle(max_lr, rest),
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
            ScheduleName::Plateau => unreachable!("handled by the caller"),
        })
    }

    /// Applies the clipping flags to the gradients of `params`.
    pub fn clip(&self, params: &[(String, Tensor)]) -> anyhow::Result<()> {
        if let Some(max_norm) = self.clip_grad_norm {
            clip_grad_norm(params, max_norm, 2.0)?;
        }
        if let Some(value) = self.clip_grad_value {
            clip_grad_value(params, value)?;
        }
        Ok(())
    }
}
