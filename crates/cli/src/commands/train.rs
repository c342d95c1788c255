//! `convkit train`: flags into a `TrainConfig` (see [`crate::train_args`]), then the library's
//! `fit` with the console, progress and optional callbacks; under `mpiexec` (with the `mpi`
//! feature) one rank of a data-parallel job (see [`super::train_mpi`]).
use crate::config_flags::cli_error;
use crate::train_args::{install_step, RunArgs};
use anyhow::bail;
use clap::Args;
use convkit_train::callback::RunEndReason;
use convkit_train::callbacks::{Console, Progress, StopAfter, TensorBoard};
use convkit_train::checkpoint::SavedRun;
use convkit_train::lr_find::LrFindConfig;
use convkit_train::{FitOutcome, TrainConfig, Trainer};
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Continue the run in this folder (or the folder of this checkpoint) after its last completed
    /// epoch, exactly as if it had not stopped; the other options are the run's own (--epochs
    /// may be raised to train further).
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "config")]
    pub resume: Option<PathBuf>,
    /// Stop after this epoch, as if interrupted (continue later with --resume).
    #[arg(long, value_name = "EPOCH")]
    pub stop_after: Option<usize>,
    /// Write TensorBoard logs into the run folder (`tensorboard --logdir RUN_DIR`): losses,
    /// accuracies, learning rate, images/s, the curves, misclassified test images, weight
    /// histograms.
    #[arg(long)]
    pub tensorboard: bool,
    /// Under mpiexec: normalise batch norm by the statistics of the global batch (SyncBatchNorm)
    /// instead of each rank's part of it. One process needs nothing more.
    #[arg(long)]
    pub sync_bn: bool,
    /// Under mpiexec: end the job when an exchange between the ranks gets no answer for this
    /// many seconds (a rank died or hangs). Rank 0 evaluates alone while the others wait, so
    /// leave room for an evaluation.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    pub mpi_timeout: f64,
    /// Under mpiexec: after every step, compare a hash of each rank's weights and buffers with
    /// rank 0's and end the job if one differs (a check of the data-parallel machinery).
    #[arg(long)]
    pub check_replicas: bool,
}

impl TrainArgs {
    /// The trainer these flags ask for: a resumed run, or a fresh one (with its learning rate
    /// from the range test for `--lr auto`); the recipe line is printed when `announce`.
    pub(super) fn trainer(&self, announce: bool) -> anyhow::Result<Trainer> {
        self.trainer_with(announce, |_| {})
    }

    /// [`TrainArgs::trainer`], a fresh run's configuration edited by `edit` after the flags and
    /// before the recipe (see [`RunArgs::fresh_config_with`]).
    pub(super) fn trainer_with(
        &self,
        announce: bool,
        edit: impl FnOnce(&mut TrainConfig),
    ) -> anyhow::Result<Trainer> {
        let auto = self.run.optim.lr_is_auto();
        if let Some(path) = &self.resume {
            if auto {
                bail!("--lr auto chooses the rate of a fresh run; a resumed run keeps its own");
            }
            let saved = SavedRun::load(path).map_err(cli_error)?;
            let mut config = saved.state.config.clone();
            self.run.apply(&mut config);
            let mut trainer = Trainer::resume(saved, config).map_err(cli_error)?;
            install_step(&mut trainer);
            return Ok(trainer);
        }
        let config = self.run.fresh_config_with(announce, edit)?;
        let mut trainer = Trainer::new(config).map_err(cli_error)?;
        install_step(&mut trainer);
        if auto {
            let found = trainer
                .lr_find(&LrFindConfig::default())
                .map_err(cli_error)?;
            println!(
                "--lr auto: the range test suggests {:.3e} (valley; steepest {:.3e})",
                found.valley, found.steepest
            );
            trainer.set_lr(found.valley as f32).map_err(cli_error)?;
        }
        Ok(trainer)
    }
}

/// `convkit train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    if args.stop_after == Some(0) {
        bail!("--stop-after needs an epoch of at least 1");
    }
    #[cfg(feature = "mpi")]
    if let Some(launch) = convkit_distributed::launch::detect().filter(|l| l.size > 1) {
        return super::train_mpi::run(&args, launch);
    }
    let mut trainer = args.trainer(true)?;
    add_primary_callbacks(&mut trainer, &args);
    let outcome = trainer.fit().map_err(cli_error)?;
    report(&outcome);
    Ok(())
}

/// The console, progress and the optional callbacks: what the only process, or rank 0, shows and
/// writes besides the run folder.
pub(super) fn add_primary_callbacks(trainer: &mut Trainer, args: &TrainArgs) {
    trainer
        .add_callback(Console::default())
        .add_callback(Progress::default());
    if args.tensorboard {
        trainer.add_callback(TensorBoard::default());
    }
    if let Some(epoch) = args.stop_after {
        trainer.add_callback(StopAfter { epoch });
    }
}

pub(super) fn report(outcome: &FitOutcome) {
    let dir = outcome.run_dir.display();
    if let RunEndReason::Stopped(_) = &outcome.reason {
        println!(
            "stopped after epoch {} (--stop-after); continue with: convkit train --resume {dir}",
            outcome.last().epoch
        );
    }
    println!("run folder: {dir}");
    if let Some((_, accuracy)) = outcome.last().test {
        println!("test accuracy: {:.2}%", 100.0 * accuracy);
    }
    if let Some((_, accuracy)) = outcome.tta_test {
        println!("test accuracy with TTA: {:.2}%", 100.0 * accuracy);
    }
}
