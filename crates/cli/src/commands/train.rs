//! `convkit train`: flags into a `TrainConfig` (see [`crate::train_args`]), then the library's
//! `fit` with the console, progress and optional callbacks.
use crate::config_flags::cli_error;
use crate::train_args::TrainArgs;
use anyhow::bail;
use convkit_train::callback::RunEndReason;
use convkit_train::callbacks::{Console, Progress, StopAfter, TensorBoard};
use convkit_train::FitOutcome;

/// `convkit train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    if args.stop_after == Some(0) {
        bail!("--stop-after needs an epoch of at least 1");
    }
    let mut trainer = args.trainer()?;
    trainer
        .add_callback(Console::default())
        .add_callback(Progress::default());
    if args.tensorboard {
        trainer.add_callback(TensorBoard::default());
    }
    if let Some(epoch) = args.stop_after {
        trainer.add_callback(StopAfter { epoch });
    }
    let outcome = trainer.fit().map_err(cli_error)?;
    report(&outcome);
    Ok(())
}

fn report(outcome: &FitOutcome) {
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
