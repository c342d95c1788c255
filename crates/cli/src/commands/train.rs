//! `convkit train`: flags into a `TrainConfig` (see [`crate::train_args`]), then the library's
//! `fit` with the console, progress and optional callbacks; under `mpiexec` (with the `mpi`
//! feature) one rank of a data-parallel job (see [`super::train_mpi`]).
use crate::config_flags::cli_error;
use crate::train_args::TrainArgs;
use anyhow::bail;
use convkit_train::callback::RunEndReason;
use convkit_train::callbacks::{Console, Progress, StopAfter, TensorBoard};
use convkit_train::{FitOutcome, Trainer};

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
}
