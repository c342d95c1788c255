//! How a run reports: the [`Callback`] trait and what each event carries. Progress output, the
//! metrics CSV, curves and TensorBoard logs are callbacks (see [`crate::callbacks`]); a user adds
//! their own with [`crate::Trainer::add_callback`], and may stop the run from one.
use crate::checkpoint::CheckpointKind;
use crate::config::TrainConfig;
use crate::error::Result;
use crate::eval::EvalReport;
use crate::metrics::EpochMetrics;
use convkit_data::{Dataset, Normalize};
use convkit_nn::Module;
use std::path::Path;

/// What a callback asks of the run after an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    /// End the run. Asked at the end of an epoch, the epoch's checkpoints are already written
    /// and `--resume` continues after it; asked at the end of a batch, the partial epoch is
    /// dropped and the run can be resumed from the epoch before.
    Stop {
        reason: String,
    },
}

/// The start of a run (fresh or resumed).
pub struct RunStart<'a> {
    pub config: &'a TrainConfig,
    pub run_dir: &'a Path,
    pub model: &'a dyn Module,
    pub train_images: usize,
    /// Images held out for validation, if any.
    pub val_images: Option<usize>,
    /// The first epoch this run will train (above 1 when resumed).
    pub first_epoch: usize,
    pub batches_per_epoch: usize,
    /// The learning rate the run starts with.
    pub lr: f32,
    /// The metrics of the epochs trained before a resume.
    pub history: &'a [EpochMetrics],
}

/// The end of a training step. On a rank of a data-parallel job the loss and the epoch's running
/// figures are this rank's (the epoch's metrics sum every rank's).
pub struct BatchEnd {
    pub epoch: usize,
    /// 1-based within the epoch.
    pub step: usize,
    pub batches_per_epoch: usize,
    /// Steps since the run (not this process) began: `(epoch - 1) · batches + step`.
    pub global_step: u64,
    /// This batch's mean loss.
    pub loss: f32,
    /// The epoch so far: mean loss, accuracy, images and seconds.
    pub epoch_loss: f64,
    pub epoch_accuracy: f64,
    pub images: usize,
    pub seconds: f64,
    /// The learning rate after this step's schedule update.
    pub lr: f32,
}

/// Which set an evaluation measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalSplit {
    Validation,
    Test,
}

/// An evaluation after an epoch.
pub struct EvaluationEnd<'a> {
    pub epoch: usize,
    pub model: &'a dyn Module,
    pub split: EvalSplit,
    pub report: &'a EvalReport,
    /// The images evaluated (with [`EvalReport::mistakes`] indexing into them).
    pub dataset: &'a Dataset,
    pub normalize: &'a Normalize,
}

/// The end of an epoch: its metrics are final and its checkpoints written.
pub struct EpochEnd<'a> {
    pub metrics: &'a EpochMetrics,
    /// Every epoch so far, this one last.
    pub history: &'a [EpochMetrics],
    pub model: &'a dyn Module,
    pub run_dir: &'a Path,
    pub epochs: usize,
    /// This epoch set a new best selection accuracy.
    pub improved: bool,
}

/// A checkpoint file that was written.
pub struct CheckpointWritten<'a> {
    pub kind: CheckpointKind,
    pub path: &'a Path,
    pub epoch: usize,
}

/// Why a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum RunEndReason {
    /// Every configured epoch trained.
    Completed,
    /// Early stopping: no better selection accuracy for the patience.
    EarlyStopped { best_epoch: usize, best: f64 },
    /// A callback asked (its reason).
    Stopped(String),
}

/// The end of a run that did not fail.
pub struct RunEnd<'a> {
    pub reason: &'a RunEndReason,
    pub history: &'a [EpochMetrics],
    pub run_dir: &'a Path,
    /// Selection on validation accuracy (true) or test accuracy.
    pub has_validation: bool,
}

/// Receives a run's events. Every method has a default that does nothing, so a callback
/// implements only what it needs. An error from any method ends the run with that error.
pub trait Callback {
    fn on_run_start(&mut self, _event: &RunStart) -> Result<()> {
        Ok(())
    }
    fn on_batch_end(&mut self, _event: &BatchEnd) -> Result<Control> {
        Ok(Control::Continue)
    }
    fn on_evaluation_end(&mut self, _event: &EvaluationEnd) -> Result<()> {
        Ok(())
    }
    fn on_checkpoint(&mut self, _event: &CheckpointWritten) -> Result<()> {
        Ok(())
    }
    fn on_epoch_end(&mut self, _event: &EpochEnd) -> Result<Control> {
        Ok(Control::Continue)
    }
    fn on_run_end(&mut self, _event: &RunEnd) -> Result<()> {
        Ok(())
    }
}

/// Sends an event to every callback in order; the run stops if any of them asks.
pub(crate) fn emit(
    callbacks: &mut [Box<dyn Callback>],
    mut event: impl FnMut(&mut dyn Callback) -> Result<Control>,
) -> Result<Control> {
    let mut control = Control::Continue;
    for callback in callbacks {
        if let Control::Stop { reason } = event(callback.as_mut())? {
            control = Control::Stop { reason };
        }
    }
    Ok(control)
}
