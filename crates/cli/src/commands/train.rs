//! `convkit train`: a run folder with per-epoch evaluation, a metrics CSV, loss/accuracy curves,
//! the last and best checkpoints, the snapshots of cyclic schedules, and the state that
//! `--resume` continues from exactly.
use crate::checkpoint_io::{save_checkpoint, TrainedModel};
use crate::curves::draw_curves;
use crate::data_args::DataArgs;
use crate::datasets::DatasetName;
use crate::early_stopping::EarlyStopping;
use crate::evaluate::evaluate;
use crate::metrics_log::{EpochMetrics, MetricsLog};
use crate::optim_args::OptimArgs;
use crate::recipe;
use crate::run_state::{self, RunState, SavedRun};
use crate::trainer::Trainer;
use anyhow::{bail, Context};
use clap::Args;
use convkit_data::{DataLoader, Dataset, LoaderConfig, Split};
use convkit_models::{build_model, model_names, ModelSpec};
use convkit_nn::torch::{import_state_dict, read_state_dict};
use convkit_tensor::seeded_rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Args, Debug, Clone, Serialize, Deserialize)]
pub struct TrainArgs {
    /// Model architecture (`convkit summary --list` shows the zoo).
    #[arg(long, default_value = "lenet5", value_parser = parse_model_name)]
    pub model: String,
    /// Dataset to train and test on.
    #[arg(long, value_enum, default_value_t = DatasetName::Mnist)]
    pub dataset: DatasetName,
    /// Folder holding the dataset files (default: the copy embedded in the repo).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    #[command(flatten)]
    #[serde(flatten)]
    pub optim: OptimArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub data: DataArgs,
    /// Seed for initialisation, shuffling and dropout: the same seed and thread count give the same run.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where run folders go; each run gets a new folder inside.
    #[arg(long, default_value = "runs")]
    pub out_dir: PathBuf,
    /// Stop when validation accuracy (test accuracy without --val-fraction) has not improved for
    /// this many epochs.
    #[arg(long, value_name = "PATIENCE")]
    pub early_stop: Option<usize>,
    /// Train on only the first N training images (quick experiments).
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Start from the weights of a PyTorch state_dict (.pth or safetensors) for the same
    /// architecture and classes instead of a fresh initialisation (see `convkit import --help`).
    #[arg(long, value_name = "FILE")]
    pub init_from: Option<PathBuf>,
    /// Snapshot ensemble (Huang et al.): M cycles of cosine annealing restarted at --lr (per
    /// batch, each cycle a whole number of epochs), saving snapshot-<k>.safetensors at the end of
    /// each; `convkit eval RUN/snapshot-*.safetensors` ensembles them. The cyclic and
    /// warm-restarts schedules save snapshots at their cycle ends without this option.
    #[arg(long, value_name = "M")]
    pub snapshots: Option<usize>,
    /// Continue the run in this folder (or the folder of this checkpoint) after its last completed
    /// epoch, exactly as if it had not stopped; the other options are the run's own (--epochs
    /// may be raised to train further).
    #[arg(long, value_name = "RUN_DIR")]
    #[serde(skip)]
    pub resume: Option<PathBuf>,
    /// Stop after this epoch, as if interrupted (continue later with --resume).
    #[arg(long, value_name = "EPOCH")]
    #[serde(skip)]
    pub stop_after: Option<usize>,
}

/// What a finished run reports.
pub struct TrainOutcome {
    pub run_dir: PathBuf,
    /// The metrics of the last epoch trained.
    pub last: EpochMetrics,
}

/// How a run reports and what it measures, beyond its arguments (`convkit search` runs quiet
/// trials that never look at the test set).
pub struct RunOptions {
    /// Print only errors: no progress bar, no per-epoch lines.
    pub quiet: bool,
    /// Evaluate on the test set after every epoch.
    pub test: bool,
    /// The run folder's name inside --out-dir (default `<model>-<dataset>[-k]`).
    pub run_name: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            quiet: false,
            test: true,
            run_name: None,
        }
    }
}

/// `convkit train`; `explicit` lists the options set on the command line (what `--resume` checks
/// against the run's own).
pub fn run(args: TrainArgs, explicit: &[String]) -> anyhow::Result<()> {
    let saved = args.resume.as_deref().map(SavedRun::load).transpose()?;
    let args = match &saved {
        Some(saved) => saved.resumed_args(&args, explicit)?,
        None => {
            let (args, recipe) = recipe::apply(args, explicit);
            if let Some(line) = recipe {
                println!("{line}");
            }
            args
        }
    };
    let outcome = train(&args, saved, &RunOptions::default())?;
    println!("run folder: {}", outcome.run_dir.display());
    if let Some((_, accuracy)) = outcome.last.test {
        println!("test accuracy: {:.2}%", 100.0 * accuracy);
    }
    Ok(())
}

/// Checks what can be checked before any data is loaded.
fn validate(args: &TrainArgs) -> anyhow::Result<()> {
    if args.epochs == 0 || args.batch_size == 0 {
        bail!("--epochs and --batch-size must be at least 1");
    }
    if args.early_stop == Some(0) {
        bail!("--early-stop needs a patience of at least 1 epoch");
    }
    if args.stop_after == Some(0) {
        bail!("--stop-after needs an epoch of at least 1");
    }
    args.data.validate()
}

/// Prints unless the options say quiet.
macro_rules! say {
    ($options:expr, $($arg:tt)*) => {
        if !$options.quiet {
            println!($($arg)*);
        }
    };
}

/// Trains as the arguments say, from scratch or continuing `saved`; returns the run folder and
/// the last epoch's metrics.
pub fn train(
    args: &TrainArgs,
    saved: Option<SavedRun>,
    options: &RunOptions,
) -> anyhow::Result<TrainOutcome> {
    validate(args)?;
    let (train_set, val_set) = args.data.split(
        limit(
            args.dataset.load(args.data_dir.as_deref(), Split::Train)?,
            args.train_limit,
        )?,
        args.seed,
    )?;
    let (train_set, val_set) = (Arc::new(train_set), val_set.map(Arc::new));
    let test_set = if options.test {
        let test_set = args.dataset.load(args.data_dir.as_deref(), Split::Test)?;
        Some(Arc::new(test_set))
    } else {
        None
    };
    let normalize = args.dataset.normalize();
    let spec = ModelSpec {
        in_channels: train_set.channels(),
        num_classes: train_set.num_classes(),
        input_size: (train_set.height(), train_set.width()),
    };
    let loader_config = LoaderConfig {
        batch_size: args.batch_size,
        shuffle: true,
        drop_last: false,
        seed: args.seed,
        normalize: Some(normalize.clone()),
    };
    let loader = args
        .data
        .configure(DataLoader::new(train_set.clone(), loader_config)?)?;
    let optim = match args.snapshots {
        Some(cycles) => args
            .optim
            .for_snapshots(cycles, args.epochs, loader.num_batches())?,
        None => args.optim.clone(),
    };
    let model = build_model(&args.model, &spec, &mut seeded_rng(args.seed))?;
    // A resumed run's own weights are restored below; the import only seeds a fresh run.
    if let (Some(path), None) = (&args.init_from, &saved) {
        let tensors = read_state_dict(path)?;
        import_state_dict(model.as_ref(), &tensors, &path.display().to_string())?;
    }
    let params = model.parameters();
    let mut optimizer = optim.optimizer(params.clone())?;
    let scheduler = optim.scheduler(optimizer.as_mut(), args.epochs, loader.num_batches())?;
    let run_dir = match &saved {
        Some(saved) => saved.dir.clone(),
        None => {
            let default_name = || format!("{}-{}", args.model, args.dataset.as_str());
            let name = options.run_name.clone().unwrap_or_else(default_name);
            new_run_dir(&args.out_dir, &name)?
        }
    };
    let mut trainer = Trainer {
        trained: TrainedModel {
            model: model.as_ref(),
            model_name: &args.model,
            spec: &spec,
            dataset: args.dataset.as_str(),
            class_names: train_set.class_names(),
            normalize: &normalize,
        },
        params,
        optimizer,
        scheduler,
        loader,
        optim: &optim,
        seed: args.seed,
        run_dir: run_dir.clone(),
        quiet: options.quiet,
        snapshots: 0,
    };
    let mut stopping = EarlyStopping::new(args.early_stop);
    let mut history = Vec::new();
    if let Some(saved) = saved {
        (stopping, history) = resume(&mut trainer, saved, args)?;
    }
    let first_epoch = history.len() + 1;
    let mut metrics = MetricsLog::create(&run_dir.join("metrics.csv"), &history)?;
    say!(
        options,
        "training {} ({} parameters) on {} ({} images), {} epochs, batch {}, {:?} lr {}",
        args.model,
        model.num_parameters(),
        args.dataset.as_str(),
        train_set.len(),
        args.epochs,
        args.batch_size,
        optim.optimizer,
        optim.lr()
    );
    if first_epoch > 1 {
        say!(
            options,
            "resuming {} after epoch {}",
            run_dir.display(),
            first_epoch - 1
        );
    }
    if let Some(val_set) = &val_set {
        say!(
            options,
            "validation: {} images held out; the best checkpoint is chosen by validation accuracy",
            val_set.len()
        );
    }
    for epoch in first_epoch..=args.epochs {
        let epoch_lr = trainer.optimizer.lr();
        let trained_epoch = trainer.train_epoch(epoch, args.epochs)?;
        let measure = |set: &Option<Arc<Dataset>>| -> anyhow::Result<Option<(f64, f64)>> {
            set.as_ref()
                .map(|set| {
                    let report = evaluate(model.as_ref(), set.clone(), normalize.clone(), 500)?;
                    Ok((report.loss, report.accuracy()))
                })
                .transpose()
        };
        let test = measure(&test_set)?;
        let validation = measure(&val_set)?;
        if let Some((loss, accuracy)) = validation {
            say!(
                options,
                "epoch {epoch}/{}: validation loss {loss:.4} acc {:.2}%",
                args.epochs,
                100.0 * accuracy
            );
        }
        let row = EpochMetrics {
            epoch,
            train_loss: trained_epoch.loss,
            train_accuracy: trained_epoch.accuracy,
            validation,
            test,
            images_per_second: trained_epoch.images as f64 / trained_epoch.seconds,
            seconds: trained_epoch.seconds,
        };
        say!(
            options,
            "epoch {epoch}/{}: train loss {:.4} acc {:.2}% | test {} | lr {:.4e} | {:.0} img/s, {:.1} s",
            args.epochs,
            row.train_loss,
            100.0 * row.train_accuracy,
            test.map_or("not evaluated".to_string(), |(loss, accuracy)| format!(
                "loss {loss:.4} acc {:.2}%",
                100.0 * accuracy
            )),
            epoch_lr,
            row.images_per_second,
            row.seconds
        );
        metrics.append(&row)?;
        history.push(row.clone());
        draw_curves(&history, &run_dir.join("curves.png"))?;
        // Reduce-on-plateau watches the validation loss, else the test loss.
        trainer.end_epoch(epoch, validation.or(test).map(|(loss, _)| loss))?;
        let selection = validation.or(test).map_or(0.0, |(_, accuracy)| accuracy);
        let verdict = stopping.observe(epoch, selection);
        for (name, save) in [("last", true), ("best", verdict.improved)] {
            if save {
                save_checkpoint(
                    &run_dir.join(format!("{name}.safetensors")),
                    &trainer.trained,
                    epoch,
                    Some(&row),
                    Some(trainer.optimizer.as_ref()),
                )?;
            }
        }
        let stopped_early = verdict.stop && epoch < args.epochs;
        let state = RunState {
            format_version: run_state::FORMAT_VERSION,
            args: args.clone(),
            epoch,
            scheduler: trainer.scheduler.as_ref().map(|s| s.state()),
            stopping,
            history,
            stopped_early,
        };
        run_state::save(&run_dir, &state, model.as_ref(), trainer.optimizer.as_ref())?;
        (stopping, history) = (state.stopping, state.history);
        if stopped_early {
            let (best_epoch, best) = stopping.best().expect("an epoch was observed");
            say!(
                options,
                "early stopping: no better {} accuracy for {} epochs (best {:.2}% at epoch {best_epoch})",
                if val_set.is_some() { "validation" } else { "test" },
                epoch - best_epoch,
                100.0 * best
            );
            break;
        }
        if args.stop_after == Some(epoch) && epoch < args.epochs {
            say!(
                options,
                "stopped after epoch {epoch} (--stop-after); continue with: convkit train --resume {}",
                run_dir.display()
            );
            break;
        }
    }
    let last = history.last().cloned().expect("at least one epoch ran");
    Ok(TrainOutcome { run_dir, last })
}

/// Puts the weights, optimiser, schedule and snapshot count of `saved` into `trainer`; returns the
/// early-stopping state and the metrics so far.
///
/// # Errors
/// A run that stopped early or has trained all its epochs, or saved state that doesn't fit.
fn resume(
    trainer: &mut Trainer,
    saved: SavedRun,
    args: &TrainArgs,
) -> anyhow::Result<(EarlyStopping, Vec<EpochMetrics>)> {
    let dir = saved.dir.display();
    let epoch = saved.state.epoch;
    if saved.state.stopped_early {
        bail!("{dir} stopped early at epoch {epoch} (--early-stop): nothing to resume");
    }
    if epoch >= args.epochs {
        bail!("{dir} has trained all its {epoch} epochs; give --epochs above {epoch} to train further");
    }
    saved.restore_model(trainer.trained.model)?;
    saved.restore_optimizer(trainer.optimizer.as_mut())?;
    match (trainer.scheduler.as_mut(), saved.state.scheduler) {
        (Some(s), Some(position)) => s
            .restore(position, trainer.optimizer.as_mut())
            .map_err(anyhow::Error::msg)?,
        (None, None) => {}
        _ => bail!("{dir}: the saved state is for another schedule"),
    }
    trainer.snapshots = trainer.cycles();
    Ok((saved.state.stopping, saved.state.history))
}

/// A zoo model name, or an error listing the zoo.
pub fn parse_model_name(name: &str) -> Result<String, String> {
    let names = model_names();
    if names.contains(&name) {
        Ok(name.to_string())
    } else {
        Err(format!(
            "unknown model '{name}' (available: {})",
            names.join(", ")
        ))
    }
}

/// A fresh folder `<out_dir>/<base>[-k]`.
pub fn new_run_dir(out_dir: &Path, base: &str) -> anyhow::Result<PathBuf> {
    let dir = (1..)
        .map(|k| {
            out_dir.join(if k == 1 {
                base.to_string()
            } else {
                format!("{base}-{k}")
            })
        })
        .find(|d| !d.exists())
        .expect("some suffix is free");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating run folder {}", dir.display()))?;
    Ok(dir)
}

fn limit(dataset: Dataset, n: Option<usize>) -> anyhow::Result<Dataset> {
    let Some(n) = n.filter(|&n| n < dataset.len()) else {
        return Ok(dataset);
    };
    let dims = [dataset.channels(), dataset.height(), dataset.width()];
    let images = dataset.images()[..n * dataset.image_len()].to_vec();
    Ok(Dataset::new(
        images,
        dataset.labels()[..n].to_vec(),
        dims,
        dataset.class_names().to_vec(),
    )?)
}
