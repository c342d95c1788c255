//! [`Run`]: the state of a run while it trains (loader, optimiser, schedule, run folder), and what
//! it does at the end of an epoch besides training: evaluation and checkpoints.
use crate::callback::{emit, Callback, CheckpointWritten, Control, EvalSplit, EvaluationEnd};
use crate::checkpoint::{self, CheckpointKind, ModelRecord, RunState, SaveOptions};
use crate::config::TrainConfig;
use crate::divergence::DivergenceGuard;
use crate::error::Result;
use crate::eval::{evaluate, EVAL_BATCH};
use crate::replicas::{from_primary, Replicas};
use crate::run_data::RunData;
use crate::step::{GradientHook, TrainStep};
use convkit_data::{DataLoader, Dataset};
use convkit_nn::optim::Optimizer;
use convkit_nn::schedule::LrScheduler;
use convkit_nn::Module;
use convkit_tensor::Tensor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The parts of a run that one epoch uses and updates. On the other ranks of a data-parallel job
/// it writes no checkpoints.
pub(crate) struct Run<'t> {
    pub config: &'t TrainConfig,
    pub model: &'t dyn Module,
    pub record: &'t ModelRecord,
    pub callbacks: &'t mut [Box<dyn Callback>],
    pub replicas: &'t dyn Replicas,
    pub step: &'t mut dyn TrainStep,
    pub hooks: &'t mut [Box<dyn GradientHook>],
    pub loader: DataLoader,
    pub optimizer: Box<dyn Optimizer>,
    pub scheduler: Option<LrScheduler>,
    /// The parameters the optimiser trains (not the frozen ones), in the model's order.
    pub trainable: Vec<(String, Tensor)>,
    pub run_dir: PathBuf,
    pub run_id: String,
    /// Snapshots saved so far.
    pub snapshots: usize,
    pub guard: DivergenceGuard,
}

/// Validation and test `(loss, accuracy)` of an epoch, when the run has the set.
type EpochEvaluation = (Option<(f64, f64)>, Option<(f64, f64)>);

impl Run<'_> {
    /// The primary rank of a data-parallel job (or the only process).
    pub(crate) fn is_primary(&self) -> bool {
        self.replicas.rank() == 0
    }

    /// Evaluates the validation and test sets after `epoch`: on the primary rank, which hands the
    /// figures to the other ranks (they hold the same weights and buffers).
    pub(crate) fn evaluate_epoch(
        &mut self,
        epoch: usize,
        data: &RunData,
    ) -> Result<EpochEvaluation> {
        let (mut validation, mut test) = (None, None);
        if self.is_primary() {
            validation = self.evaluate(epoch, EvalSplit::Validation, &data.validation, data)?;
            test = self.evaluate(epoch, EvalSplit::Test, &data.test, data)?;
        }
        if self.replicas.size() == 1 {
            return Ok((validation, test));
        }
        let pair = |p: Option<(f64, f64)>| p.map_or([0.0; 2], |(l, a)| [l, a]);
        let mut values = [pair(validation), pair(test)].concat();
        from_primary(self.replicas, &mut values)?;
        let has = |set: &Option<Arc<Dataset>>, k: usize| {
            set.is_some().then(|| (values[k], values[k + 1]))
        };
        Ok((has(&data.validation, 0), has(&data.test, 2)))
    }

    /// What every rank does after callbacks answered `control` on one of them: stop if any rank
    /// was asked to.
    pub(crate) fn agree(&self, control: Control) -> Result<Control> {
        if self.replicas.size() == 1 {
            return Ok(control);
        }
        let mut stops = [f64::from(matches!(control, Control::Stop { .. }))];
        self.replicas.all_sum(&mut stops)?;
        Ok(match control {
            Control::Continue if stops[0] > 0.0 => Control::Stop {
                reason: "another rank was asked to stop".into(),
            },
            control => control,
        })
    }

    /// Evaluates `set` (if the run has it) after `epoch`, telling the callbacks.
    fn evaluate(
        &mut self,
        epoch: usize,
        split: EvalSplit,
        set: &Option<Arc<Dataset>>,
        data: &RunData,
    ) -> Result<Option<(f64, f64)>> {
        let Some(set) = set else {
            return Ok(None);
        };
        let report = evaluate(self.model, set.clone(), data.normalize.clone(), EVAL_BATCH)?;
        let event = EvaluationEnd {
            epoch,
            model: self.model,
            split,
            report: &report,
            dataset: set,
            normalize: &data.normalize,
        };
        emit(self.callbacks, |c| {
            c.on_evaluation_end(&event).map(|()| Control::Continue)
        })?;
        Ok(Some((report.loss, report.accuracy())))
    }

    /// Writes a checkpoint of the model as it is now (without run state) and tells the callbacks.
    pub(crate) fn save_plain(&mut self, kind: CheckpointKind, epoch: usize) -> Result<()> {
        if !self.is_primary() {
            return Ok(());
        }
        let metrics = None;
        let options = SaveOptions {
            epoch,
            metrics,
            run_id: Some(&self.run_id),
            run: None,
        };
        write_checkpoint(
            self.model,
            self.record,
            &self.run_dir,
            self.callbacks,
            kind,
            &options,
        )
    }

    /// After an epoch: `last` (with the run state, first: it is what a resume reads), `best`
    /// when the epoch improved, and `epoch-<k>` when the policy asks.
    pub(crate) fn save_epoch_checkpoints(
        &mut self,
        state: &RunState,
        improved: bool,
    ) -> Result<()> {
        if !self.is_primary() {
            return Ok(());
        }
        let Run {
            config,
            model,
            record,
            callbacks,
            optimizer,
            run_dir,
            run_id,
            ..
        } = self;
        let mut options = SaveOptions {
            epoch: state.epoch,
            metrics: state.history.last(),
            run_id: Some(run_id),
            run: Some((state, optimizer.as_ref())),
        };
        write_checkpoint(
            *model,
            record,
            run_dir,
            callbacks,
            CheckpointKind::Last,
            &options,
        )?;
        options.run = None;
        if improved && config.checkpoint.best {
            write_checkpoint(
                *model,
                record,
                run_dir,
                callbacks,
                CheckpointKind::Best,
                &options,
            )?;
        }
        if config
            .checkpoint
            .every
            .is_some_and(|k| state.epoch.is_multiple_of(k))
        {
            let kind = CheckpointKind::Epoch(state.epoch);
            write_checkpoint(*model, record, run_dir, callbacks, kind, &options)?;
        }
        Ok(())
    }
}

/// Writes the checkpoint `kind` of the run in `run_dir` and tells the callbacks.
fn write_checkpoint(
    model: &dyn Module,
    record: &ModelRecord,
    run_dir: &Path,
    callbacks: &mut [Box<dyn Callback>],
    kind: CheckpointKind,
    options: &SaveOptions,
) -> Result<()> {
    let path = run_dir.join(kind.file_name());
    checkpoint::save(&path, model, record, options)?;
    let event = CheckpointWritten {
        kind,
        path: &path,
        epoch: options.epoch,
    };
    emit(callbacks, |c| {
        c.on_checkpoint(&event).map(|()| Control::Continue)
    })?;
    Ok(())
}
