//! [`LrScheduler`]: applies a schedule to an optimiser, per batch or per epoch.
use super::{PlateauState, ReduceLrOnPlateau, Schedule};
use crate::optim::Optimizer;
use serde::{Deserialize, Serialize};

/// When the scheduler advances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepInterval {
    Batch,
    Epoch,
}

/// A closed-form schedule or a metric-driven one.
#[derive(Clone, Debug, PartialEq)]
pub enum LrPolicy {
    Schedule(Schedule),
    Plateau(ReduceLrOnPlateau),
}

/// Sets an optimiser's learning rate from a policy. The training loop calls
/// [`LrScheduler::batch_end`] after every optimiser step and [`LrScheduler::epoch_end`] after every
/// epoch (with the validation metric, which only [`LrPolicy::Plateau`] uses); the one matching the
/// interval advances the schedule. `steps` and the plateau counters are the state to checkpoint.
#[derive(Clone, Debug)]
pub struct LrScheduler {
    pub policy: LrPolicy,
    pub interval: StepInterval,
    base_lr: f32,
    lr: f32,
    steps: usize,
}

/// Where an [`LrScheduler`] stands: what a checkpoint needs to resume it exactly (the policy itself
/// is rebuilt from the run's settings).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchedulerState {
    /// Scheduler steps taken.
    pub steps: usize,
    /// The rate in force.
    pub lr: f32,
    /// The plateau counters, for a [`LrPolicy::Plateau`].
    pub plateau: Option<PlateauState>,
}

impl LrScheduler {
    /// Starts at step 0 and sets the optimiser's rate to the schedule's first value.
    ///
    /// # Errors
    /// Invalid schedule settings, or a plateau policy stepped per batch (it needs a metric).
    pub fn new(
        policy: LrPolicy,
        interval: StepInterval,
        optimizer: &mut dyn Optimizer,
    ) -> Result<LrScheduler, String> {
        match &policy {
            LrPolicy::Schedule(s) => s.validate()?,
            LrPolicy::Plateau(_) if interval == StepInterval::Batch => {
                return Err("reduce-on-plateau steps once per epoch, on a metric".into())
            }
            LrPolicy::Plateau(p) => p.validate()?,
        }
        let base_lr = optimizer.lr();
        let mut scheduler = LrScheduler {
            policy,
            interval,
            base_lr,
            lr: base_lr,
            steps: 0,
        };
        scheduler.set_steps(0, optimizer);
        Ok(scheduler)
    }

    pub fn lr(&self) -> f32 {
        self.lr
    }

    /// Scheduler steps taken.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Moves a closed-form schedule to `steps` (resuming) and applies its rate.
    pub fn set_steps(&mut self, steps: usize, optimizer: &mut dyn Optimizer) {
        self.steps = steps;
        if let LrPolicy::Schedule(s) = &self.policy {
            self.lr = s.lr(self.base_lr, steps);
        }
        optimizer.set_lr(self.lr);
    }

    /// Cycles of a cyclic schedule finished so far (see [`Schedule::cycles_completed`]); 0 for
    /// other policies.
    pub fn cycles_completed(&self) -> usize {
        match &self.policy {
            LrPolicy::Schedule(s) => s.cycles_completed(self.steps),
            LrPolicy::Plateau(_) => 0,
        }
    }

    /// The position to checkpoint.
    pub fn state(&self) -> SchedulerState {
        SchedulerState {
            steps: self.steps,
            lr: self.lr,
            plateau: match &self.policy {
                LrPolicy::Plateau(p) => Some(p.state()),
                LrPolicy::Schedule(_) => None,
            },
        }
    }

    /// Puts the scheduler back where [`LrScheduler::state`] found it and applies its rate.
    ///
    /// # Errors
    /// A state saved from the other kind of policy (plateau counters for a closed-form schedule,
    /// or none for a plateau policy).
    pub fn restore(
        &mut self,
        state: SchedulerState,
        optimizer: &mut dyn Optimizer,
    ) -> Result<(), String> {
        match (&mut self.policy, state.plateau) {
            (LrPolicy::Plateau(p), Some(counters)) => p.restore(counters),
            (LrPolicy::Schedule(_), None) => {}
            _ => return Err(
                "the saved schedule state is for another kind of schedule (plateau vs closed-form)"
                    .into(),
            ),
        }
        self.lr = state.lr;
        self.set_steps(state.steps, optimizer);
        Ok(())
    }

    /// One step of the schedule; `metric` feeds the plateau policy.
    fn advance(&mut self, metric: Option<f32>, optimizer: &mut dyn Optimizer) {
        match &mut self.policy {
            LrPolicy::Schedule(_) => self.set_steps(self.steps + 1, optimizer),
            LrPolicy::Plateau(p) => {
                if let Some(m) = metric {
                    self.lr = p.step(m, self.lr);
                    self.steps += 1;
                    optimizer.set_lr(self.lr);
                }
            }
        }
    }

    pub fn batch_end(&mut self, optimizer: &mut dyn Optimizer) {
        if self.interval == StepInterval::Batch {
            self.advance(None, optimizer);
        }
    }

    pub fn epoch_end(&mut self, metric: Option<f32>, optimizer: &mut dyn Optimizer) {
        if self.interval == StepInterval::Epoch {
            self.advance(metric, optimizer);
        }
    }
}
