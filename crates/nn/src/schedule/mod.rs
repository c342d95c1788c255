//! Learning-rate schedules with PyTorch's semantics (`torch.optim.lr_scheduler`).
//!
//! A [`Schedule`] is a closed-form function of the number of scheduler steps taken so far, `t`
//! (0 before the first step), and of the optimiser's initial learning rate `base`; it covers
//! constant, step, multi-step, exponential, cosine annealing, cosine with warm restarts, linear,
//! inverse square root, one-cycle and cyclic schedules, and linear warm-up in front of any of them.
//! [`ReduceLrOnPlateau`] reacts to a metric instead. [`LrScheduler`] drives an optimiser with
//! either, stepped per batch or per epoch.
//!
//! ```
//! use convkit_nn::schedule::Schedule;
//! let cosine = Schedule::CosineAnnealing { t_max: 10, eta_min: 0.0 };
//! let warm = Schedule::Warmup { steps: 2, start_factor: 0.1, then: Box::new(cosine) };
//! assert!((warm.lr(1.0, 0) - 0.1).abs() < 1e-6);
//! assert!((warm.lr(1.0, 2) - 1.0).abs() < 1e-6);
//! ```
mod plateau;
mod scheduler;

pub use plateau::{PlateauConfig, PlateauMode, PlateauState, ReduceLrOnPlateau, ThresholdMode};
pub use scheduler::{LrPolicy, LrScheduler, SchedulerState, StepInterval};

use std::f64::consts::PI;

/// How [`Schedule::OneCycle`] and [`Schedule::Cyclic`] move between two rates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anneal {
    Cos,
    Linear,
}

/// [`Schedule::Cyclic`]'s amplitude policy (PyTorch's `mode`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CyclicMode {
    /// Constant amplitude.
    Triangular,
    /// Amplitude halved every cycle.
    Triangular2,
    /// Amplitude scaled by `gamma^t`.
    ExpRange { gamma: f32 },
}

/// A learning-rate schedule; field names are PyTorch's constructor arguments.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// `ConstantLR`: `base·factor` for the first `total_iters` steps, then `base` (factor 1, 0
    /// iterations: a constant rate).
    Constant { factor: f32, total_iters: usize },
    /// `StepLR`: `base·gamma^⌊t / step_size⌋`.
    Step { step_size: usize, gamma: f32 },
    /// `MultiStepLR`: `base·gamma^(milestones ≤ t)`.
    MultiStep { milestones: Vec<usize>, gamma: f32 },
    /// `ExponentialLR`: `base·gammaᵗ`.
    Exponential { gamma: f32 },
    /// `CosineAnnealingLR`: `eta_min + (base − eta_min)·(1 + cos(π·t / t_max)) / 2`.
    CosineAnnealing { t_max: usize, eta_min: f32 },
    /// `CosineAnnealingWarmRestarts` (SGDR): cosine annealing over periods `t_0, t_0·t_mult, ...`,
    /// restarting at `base`.
    CosineWarmRestarts {
        t_0: usize,
        t_mult: usize,
        eta_min: f32,
    },
    /// `LinearLR`: the factor moves linearly from `start_factor` to `end_factor` over
    /// `total_iters` steps and stays there.
    Linear {
        start_factor: f32,
        end_factor: f32,
        total_iters: usize,
    },
    /// Inverse square root decay (not in PyTorch; the Transformer's rule without its warm-up):
    /// `base·√(timescale / max(t, timescale))`, constant for `timescale` steps then ∝ 1/√t.
    InverseSqrt { timescale: usize },
    /// `OneCycleLR` (Smith): from `max_lr / div_factor` up to `max_lr` over the first
    /// `pct_start·total_steps` steps, then down to `max_lr / (div_factor·final_div_factor)`; with
    /// `three_phase`, back down to the initial rate first, then to the minimum. Ignores `base`.
    OneCycle {
        max_lr: f32,
        total_steps: usize,
        pct_start: f32,
        anneal: Anneal,
        div_factor: f32,
        final_div_factor: f32,
        three_phase: bool,
    },
    /// `CyclicLR` (Smith), for snapshot ensembles: up from `base_lr` to `max_lr` in `step_size_up`
    /// steps and down in `step_size_down`, over and over. Ignores `base`.
    Cyclic {
        base_lr: f32,
        max_lr: f32,
        step_size_up: usize,
        step_size_down: usize,
        mode: CyclicMode,
    },
    /// Linear warm-up from `base·start_factor` to `base` over `steps` steps, then `then` started
    /// afresh (PyTorch's `SequentialLR([LinearLR(start_factor, 1, steps), then], [steps])`).
    Warmup {
        steps: usize,
        start_factor: f32,
        then: Box<Schedule>,
    },
}

impl Schedule {
    /// `OneCycleLR` with PyTorch's defaults (pct_start 0.3, cosine, div 25, final div 1e4).
    pub fn one_cycle(max_lr: f32, total_steps: usize) -> Schedule {
        Schedule::OneCycle {
            max_lr,
            total_steps,
            pct_start: 0.3,
            anneal: Anneal::Cos,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
        }
    }

    /// Checks the settings, so a bad schedule fails at start-up rather than mid-training.
    ///
    /// # Errors
    /// A period or total of 0, a negative or non-finite factor, or an unreachable phase.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |name: &str, v: usize| {
            if v == 0 {
                Err(format!("{name} must be at least 1"))
            } else {
                Ok(())
            }
        };
        let non_negative = |name: &str, v: f32| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must be finite and non-negative, got {v}"))
            }
        };
        match self {
            Schedule::Constant { factor, .. } => non_negative("factor", *factor),
            Schedule::Step { step_size, gamma } => {
                positive("step_size", *step_size)?;
                non_negative("gamma", *gamma)
            }
            Schedule::MultiStep { gamma, .. } | Schedule::Exponential { gamma } => {
                non_negative("gamma", *gamma)
            }
            Schedule::CosineAnnealing { t_max, eta_min } => {
                positive("T_max", *t_max)?;
                non_negative("eta_min", *eta_min)
            }
            Schedule::CosineWarmRestarts {
                t_0,
                t_mult,
                eta_min,
            } => {
                positive("T_0", *t_0)?;
                positive("T_mult", *t_mult)?;
                non_negative("eta_min", *eta_min)
            }
            Schedule::Linear {
                start_factor,
                end_factor,
                total_iters,
            } => {
                positive("total_iters", *total_iters)?;
                non_negative("start_factor", *start_factor)?;
                non_negative("end_factor", *end_factor)
            }
            Schedule::InverseSqrt { timescale } => positive("timescale", *timescale),
            Schedule::OneCycle {
                max_lr,
                total_steps,
                pct_start,
                div_factor,
                final_div_factor,
                ..
            } => {
                positive("total_steps", *total_steps)?;
                non_negative("max_lr", *max_lr)?;
                if !(*pct_start > 0.0 && *pct_start < 1.0) {
                    return Err(format!("pct_start must be in (0, 1), got {pct_start}"));
                }
                if !(*div_factor > 0.0 && *final_div_factor > 0.0) {
                    return Err("div_factor and final_div_factor must be positive".into());
                }
                Ok(())
            }
            Schedule::Cyclic {
                base_lr,
                max_lr,
                step_size_up,
                step_size_down,
                mode,
            } => {
                non_negative("base_lr", *base_lr)?;
                non_negative("max_lr", *max_lr)?;
                positive(
                    "step_size_up + step_size_down",
                    step_size_up + step_size_down,
                )?;
                match mode {
                    CyclicMode::ExpRange { gamma } => non_negative("gamma", *gamma),
                    _ => Ok(()),
                }
            }
            Schedule::Warmup {
                start_factor, then, ..
            } => {
                non_negative("start_factor", *start_factor)?;
                then.validate()
            }
        }
    }

    /// How many cycles of a cyclic schedule end within the first `t` steps: a cycle of
    /// [`Schedule::Cyclic`] ends each time the rate is back at `base_lr` (every `step_size_up +
    /// step_size_down` steps), one of [`Schedule::CosineWarmRestarts`] just before each restart (at
    /// its minimum); 0 for every other schedule. Snapshot ensembles save the model whenever this
    /// grows.
    pub fn cycles_completed(&self, t: usize) -> usize {
        match self {
            Schedule::Cyclic {
                step_size_up,
                step_size_down,
                ..
            } => t / (step_size_up + step_size_down),
            Schedule::CosineWarmRestarts { t_0, t_mult, .. } => {
                let (mut start, mut period, mut cycles) = (0, *t_0, 0);
                while t >= start + period {
                    start += period;
                    period *= t_mult;
                    cycles += 1;
                }
                cycles
            }
            Schedule::Warmup { steps, then, .. } => then.cycles_completed(t.saturating_sub(*steps)),
            _ => 0,
        }
    }

    /// The learning rate after `t` scheduler steps, for an optimiser whose initial rate is `base`.
    /// Computed in f64 and rounded once.
    pub fn lr(&self, base: f32, t: usize) -> f32 {
        self.lr_f64(f64::from(base), t) as f32
    }

    fn lr_f64(&self, base: f64, t: usize) -> f64 {
        let tf = t as f64;
        match self {
            Schedule::Constant {
                factor,
                total_iters,
            } => {
                if t < *total_iters {
                    base * f64::from(*factor)
                } else {
                    base
                }
            }
            Schedule::Step { step_size, gamma } => {
                base * f64::from(*gamma).powi((t / step_size) as i32)
            }
            Schedule::MultiStep { milestones, gamma } => {
                let passed = milestones.iter().filter(|&&m| m <= t).count();
                base * f64::from(*gamma).powi(passed as i32)
            }
            Schedule::Exponential { gamma } => base * f64::from(*gamma).powi(t as i32),
            Schedule::CosineAnnealing { t_max, eta_min } => {
                cosine(base, f64::from(*eta_min), tf / *t_max as f64)
            }
            Schedule::CosineWarmRestarts {
                t_0,
                t_mult,
                eta_min,
            } => {
                let (t_cur, t_i) = warm_restart_position(t, *t_0, *t_mult);
                cosine(base, f64::from(*eta_min), t_cur / t_i)
            }
            Schedule::Linear {
                start_factor,
                end_factor,
                total_iters,
            } => {
                let (s, e) = (f64::from(*start_factor), f64::from(*end_factor));
                base * (s + (e - s) * t.min(*total_iters) as f64 / *total_iters as f64)
            }
            Schedule::InverseSqrt { timescale } => {
                base * (*timescale as f64 / tf.max(*timescale as f64)).sqrt()
            }
            Schedule::OneCycle {
                max_lr,
                total_steps,
                pct_start,
                anneal,
                div_factor,
                final_div_factor,
                three_phase,
            } => {
                let max = f64::from(*max_lr);
                let initial = max / f64::from(*div_factor);
                let min = initial / f64::from(*final_div_factor);
                let (total, pct) = (*total_steps as f64, f64::from(*pct_start));
                // (end step, start lr, end lr) of each phase, as PyTorch lays them out.
                let phases: Vec<(f64, f64, f64)> = if *three_phase {
                    vec![
                        (pct * total - 1.0, initial, max),
                        (2.0 * pct * total - 2.0, max, initial),
                        (total - 1.0, initial, min),
                    ]
                } else {
                    vec![(pct * total - 1.0, initial, max), (total - 1.0, max, min)]
                };
                let mut start_step = 0.0;
                for (i, &(end_step, from, to)) in phases.iter().enumerate() {
                    if tf <= end_step || i == phases.len() - 1 {
                        let p = (tf - start_step) / (end_step - start_step);
                        return match anneal {
                            Anneal::Cos => to + (from - to) / 2.0 * (1.0 + (PI * p).cos()),
                            Anneal::Linear => from + (to - from) * p,
                        };
                    }
                    start_step = end_step;
                }
                unreachable!("the last phase always returns")
            }
            Schedule::Cyclic {
                base_lr,
                max_lr,
                step_size_up,
                step_size_down,
                mode,
            } => {
                let total = (step_size_up + step_size_down) as f64;
                let ratio = *step_size_up as f64 / total;
                let cycle = (1.0 + tf / total).floor();
                let x = 1.0 + tf / total - cycle;
                let scale = if x <= ratio {
                    x / ratio
                } else {
                    (x - 1.0) / (ratio - 1.0)
                };
                let amplitude = match mode {
                    CyclicMode::Triangular => 1.0,
                    CyclicMode::Triangular2 => 1.0 / 2f64.powf(cycle - 1.0),
                    CyclicMode::ExpRange { gamma } => f64::from(*gamma).powf(tf),
                };
                let (lo, hi) = (f64::from(*base_lr), f64::from(*max_lr));
                lo + (hi - lo) * scale * amplitude
            }
            Schedule::Warmup {
                steps,
                start_factor,
                then,
            } => {
                if t < *steps {
                    let s = f64::from(*start_factor);
                    base * (s + (1.0 - s) * tf / *steps as f64)
                } else {
                    then.lr_f64(base, t - steps)
                }
            }
        }
    }
}

/// `eta_min + (base − eta_min)·(1 + cos(π·progress)) / 2`.
fn cosine(base: f64, eta_min: f64, progress: f64) -> f64 {
    eta_min + (base - eta_min) * (1.0 + (PI * progress).cos()) / 2.0
}

/// `(T_cur, T_i)` of SGDR after `t` steps: the position inside the current period and its length.
fn warm_restart_position(t: usize, t_0: usize, t_mult: usize) -> (f64, f64) {
    let (mut start, mut period) = (0, t_0);
    while t >= start + period {
        start += period;
        period *= t_mult;
    }
    ((t - start) as f64, period as f64)
}
