//! [`Trainer::fit`]: the epoch loop. Each epoch trains ([`crate::epoch`]), evaluates on the
//! validation and test sets, steps the schedule, updates early stopping, writes the checkpoints
//! (`last.safetensors` with the run state first) and reports to the callbacks.
use crate::callback::{emit, Control, EpochEnd, RunEnd, RunEndReason, RunStart};
use crate::checkpoint::RunState;
use crate::divergence::DivergenceGuard;
use crate::early_stopping::EarlyStopping;
use crate::error::{Error, Result};
use crate::eval::{evaluate_tta, EVAL_BATCH};
use crate::metrics::EpochMetrics;
use crate::replicas::shard;
use crate::run::Run;
use crate::run_dir::{new_run_dir, new_run_id, remove_stale_temporaries};
use crate::trainer::{Trainer, RUN_FOLDER_CALLBACKS};
use convkit_data::transforms::Tta;
use convkit_nn::schedule::LrScheduler;
use std::path::PathBuf;

/// What a finished run reports.
#[derive(Debug)]
pub struct FitOutcome {
    pub run_dir: PathBuf,
    /// Every epoch's metrics, including those before a resume.
    pub history: Vec<EpochMetrics>,
    pub reason: RunEndReason,
    /// The test set's `(loss, accuracy)` with the run's test-time augmentation, measured after
    /// the last epoch (`None` without TTA or a test set, and on the other ranks of a data-parallel
    /// job).
    pub tta_test: Option<(f64, f64)>,
}

impl FitOutcome {
    /// The last epoch's metrics.
    pub fn last(&self) -> &EpochMetrics {
        self.history
            .last()
            .expect("a run trains at least one epoch")
    }
}

impl Trainer {
    /// Trains the run to its last epoch (or until early stopping or a callback stops it), in a
    /// new run folder, or in the resumed run's folder.
    ///
    /// # Errors
    /// A failing layer, a diverging loss, a file that cannot be written, a callback's error.
    /// Every checkpoint written before the error stays valid.
    pub fn fit(&mut self) -> Result<FitOutcome> {
        if self.config.adversarial.is_some() && self.step.is_standard() {
            return Err(Error::config(
                "adversarial",
                "adversarial training needs its step: trainer.set_step(convkit_attack::AdversarialStep::new(..)) (the convkit command line does this)",
            ));
        }
        let resumed = self.resumed.take();
        let config = &self.config;
        let replicas = self.replicas.as_ref();
        let primary = replicas.rank() == 0;
        let loader = self
            .data
            .train_loader(config)?
            .with_shard(shard(replicas))?;
        let batches = loader.num_batches();
        let schedule = match config.snapshots {
            Some(cycles) => config
                .schedule
                .for_snapshots(cycles, config.epochs, batches),
            None => config.schedule.clone(),
        };
        let (groups, keep_frozen) = self.optimizer_groups()?;
        let total_steps = config.epochs * batches;
        let buffers = self.model.buffers();
        let mut optimizer = config.optimizer.build(groups, buffers, total_steps)?;
        let lr = config.optimizer.lr();
        let mut scheduler = schedule.build(optimizer.as_mut(), lr, config.epochs, batches)?;
        let (run_dir, run_id, mut stopping, mut history, snapshots) = match resumed {
            Some(saved) => {
                saved.checkpoint.load_optimizer(optimizer.as_mut())?;
                match (scheduler.as_mut(), saved.state.scheduler) {
                    (Some(s), Some(position)) => s
                        .restore(position, optimizer.as_mut())
                        .map_err(Error::Resume)?,
                    (None, None) => {}
                    _ => {
                        return Err(Error::Resume(format!(
                            "{}: the saved state is for another schedule",
                            saved.dir.display()
                        )))
                    }
                }
                if primary {
                    remove_stale_temporaries(&saved.dir)?;
                }
                let s = saved.state;
                (saved.dir, saved.run_id, s.stopping, s.history, s.snapshots)
            }
            None => {
                let name = config.run_name.clone().unwrap_or_else(|| {
                    format!("{}-{}", config.model, config.data.dataset.as_str())
                });
                // The other ranks of a data-parallel job have no run folder (an empty path).
                let dir = if primary {
                    let dir = new_run_dir(&config.out_dir, &name)?;
                    config.save(&dir.join("config.toml"))?;
                    dir
                } else {
                    PathBuf::new()
                };
                let id = new_run_id(config.seed);
                (
                    dir,
                    id,
                    EarlyStopping::new(config.early_stop),
                    Vec::new(),
                    0,
                )
            }
        };
        let first_epoch = history.len() + 1;
        let data = &self.data;
        let start = RunStart {
            config,
            run_dir: &run_dir,
            model: self.model.as_ref(),
            train_images: data.train.len(),
            val_images: data.validation.as_ref().map(|v| v.len()),
            first_epoch,
            batches_per_epoch: batches,
            lr: optimizer.lr(),
            history: &history,
        };
        let callbacks = if primary {
            &mut self.callbacks[..]
        } else {
            &mut self.callbacks[RUN_FOLDER_CALLBACKS..]
        };
        emit(callbacks, |c| {
            c.on_run_start(&start).map(|()| Control::Continue)
        })?;
        let plan = self.finetune.as_ref();
        let mut run = Run {
            config,
            model: self.model.as_ref(),
            record: &self.record,
            callbacks,
            replicas,
            step: self.step.as_mut(),
            hooks: &mut self.hooks,
            loader,
            optimizer,
            scheduler,
            trainable: Vec::new(),
            run_dir,
            run_id,
            snapshots,
            guard: DivergenceGuard::default(),
        };
        let mut reason = RunEndReason::Completed;
        for epoch in first_epoch..=config.epochs {
            if let Some(plan) = plan {
                plan.apply_epoch(run.model, epoch, &keep_frozen);
            }
            for (name, t) in run.model.parameters() {
                if config.optimizer.is_expired(&name, epoch) {
                    t.set_requires_grad(false);
                }
            }
            run.trainable = run
                .model
                .parameters()
                .into_iter()
                .filter(|(_, t)| t.requires_grad())
                .collect();
            let epoch_lr = run.optimizer.lr();
            let trained = match run.train_epoch(epoch)? {
                Ok(trained) => trained,
                Err(stop_reason) => {
                    reason = RunEndReason::Stopped(stop_reason);
                    break;
                }
            };
            let (validation, test) = run.evaluate_epoch(epoch, data)?;
            let metrics = EpochMetrics {
                epoch,
                train_loss: trained.loss,
                train_accuracy: trained.accuracy,
                validation,
                test,
                images_per_second: trained.images as f64 / trained.seconds,
                seconds: trained.seconds,
                lr: epoch_lr as f64,
            };
            // Reduce-on-plateau watches the validation loss, else the test loss.
            let selection = metrics.selection();
            if let Some(s) = run.scheduler.as_mut() {
                s.epoch_end(
                    selection.map(|(loss, _)| loss as f32),
                    run.optimizer.as_mut(),
                );
            }
            run.save_snapshot_at_cycle_end(epoch)?;
            let verdict = stopping.observe(epoch, selection.map_or(0.0, |(_, acc)| acc));
            let stopped_early = verdict.stop && epoch < config.epochs;
            history.push(metrics.clone());
            let state = RunState {
                config: config.clone(),
                epoch,
                scheduler: run.scheduler.as_ref().map(LrScheduler::state),
                stopping,
                history,
                stopped_early,
                snapshots: run.snapshots,
            };
            run.save_epoch_checkpoints(&state, verdict.improved)?;
            (stopping, history) = (state.stopping, state.history);
            let end = EpochEnd {
                metrics: &metrics,
                history: &history,
                model: run.model,
                run_dir: &run.run_dir,
                epochs: config.epochs,
                improved: verdict.improved,
            };
            let control = emit(run.callbacks, |c| c.on_epoch_end(&end))?;
            let control = run.agree(control)?;
            if stopped_early {
                let (best_epoch, best) = stopping.best().expect("an epoch was observed");
                reason = RunEndReason::EarlyStopped { best_epoch, best };
                break;
            }
            if let Control::Stop { reason: why } = control {
                reason = RunEndReason::Stopped(why);
                break;
            }
        }
        if history.is_empty() {
            return Err(Error::Callback(format!(
                "the run in {} stopped before finishing an epoch: {reason:?}",
                run.run_dir.display()
            )));
        }
        let tta = config.tta.tta();
        let tta_test = match (&data.test, tta) {
            (Some(test), t) if t != Tta::None && run.is_primary() => {
                let report = evaluate_tta(
                    run.model,
                    test.clone(),
                    data.normalize.clone(),
                    EVAL_BATCH,
                    tta,
                )?;
                Some((report.loss, report.accuracy()))
            }
            _ => None,
        };
        let end = RunEnd {
            reason: &reason,
            history: &history,
            run_dir: &run.run_dir,
            has_validation: data.validation.is_some(),
        };
        emit(run.callbacks, |c| {
            c.on_run_end(&end).map(|()| Control::Continue)
        })?;
        Ok(FitOutcome {
            run_dir: run.run_dir,
            history,
            reason,
            tta_test,
        })
    }
}
