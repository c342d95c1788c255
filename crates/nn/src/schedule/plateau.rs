//! `ReduceLROnPlateau`: cut the learning rate when a metric stops improving.
use serde::{Deserialize, Serialize};

/// Whether the metric should go down (a loss) or up (an accuracy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlateauMode {
    Min,
    Max,
}

/// Whether `threshold` is relative to the best value or absolute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdMode {
    Rel,
    Abs,
}

/// Settings of [`ReduceLrOnPlateau`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlateauConfig {
    pub mode: PlateauMode,
    pub factor: f32,
    pub patience: usize,
    pub threshold: f32,
    pub threshold_mode: ThresholdMode,
    pub cooldown: usize,
    pub min_lr: f32,
    pub eps: f32,
}

/// PyTorch's `ReduceLROnPlateau`: after more than `patience` steps without an improvement of more
/// than `threshold` over the best value, the rate is multiplied by `factor` (not below `min_lr`;
/// changes smaller than `eps` are skipped), then `cooldown` steps pass before counting again.
#[derive(Clone, Debug, PartialEq)]
pub struct ReduceLrOnPlateau {
    pub config: PlateauConfig,
    best: Option<f32>,
    num_bad: usize,
    cooldown_left: usize,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        PlateauConfig {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

/// The counters of a [`ReduceLrOnPlateau`] (PyTorch's `best`, `num_bad_epochs`,
/// `cooldown_counter`): what a checkpoint needs to resume it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlateauState {
    pub best: Option<f32>,
    pub num_bad: usize,
    pub cooldown_left: usize,
}

impl ReduceLrOnPlateau {
    pub fn new(config: PlateauConfig) -> ReduceLrOnPlateau {
        ReduceLrOnPlateau {
            config,
            best: None,
            num_bad: 0,
            cooldown_left: 0,
        }
    }

    /// # Errors
    /// A `factor` outside `[0, 1)` or a negative threshold or minimum.
    pub fn validate(&self) -> Result<(), String> {
        let c = &self.config;
        if !(0.0..1.0).contains(&c.factor) {
            return Err(format!("factor must be in [0, 1), got {}", c.factor));
        }
        if !(c.threshold >= 0.0 && c.min_lr >= 0.0 && c.eps >= 0.0) {
            return Err("threshold, min_lr and eps must be non-negative".into());
        }
        Ok(())
    }

    /// The counters to checkpoint.
    pub fn state(&self) -> PlateauState {
        PlateauState {
            best: self.best,
            num_bad: self.num_bad,
            cooldown_left: self.cooldown_left,
        }
    }

    /// Restores counters saved by [`ReduceLrOnPlateau::state`].
    pub fn restore(&mut self, state: PlateauState) {
        self.best = state.best;
        self.num_bad = state.num_bad;
        self.cooldown_left = state.cooldown_left;
    }

    fn improves(&self, metric: f32) -> bool {
        let Some(best) = self.best else { return true };
        let c = &self.config;
        let t = c.threshold;
        match (c.mode, c.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => metric < best * (1.0 - t),
            (PlateauMode::Min, ThresholdMode::Abs) => metric < best - t,
            (PlateauMode::Max, ThresholdMode::Rel) => metric > best * (1.0 + t),
            (PlateauMode::Max, ThresholdMode::Abs) => metric > best + t,
        }
    }

    /// Records `metric` and returns the learning rate to use from now on, given the current `lr`.
    pub fn step(&mut self, metric: f32, lr: f32) -> f32 {
        if self.improves(metric) {
            self.best = Some(metric);
            self.num_bad = 0;
        } else {
            self.num_bad += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.num_bad = 0;
        }
        if self.num_bad > self.config.patience {
            self.cooldown_left = self.config.cooldown;
            self.num_bad = 0;
            let reduced = (lr * self.config.factor).max(self.config.min_lr);
            if lr - reduced > self.config.eps {
                return reduced;
            }
        }
        lr
    }
}
