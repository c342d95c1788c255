//! `convkit train`: the training loop, with a progress bar, per-epoch test evaluation, a metrics
//! CSV, loss/accuracy curves and the last and best checkpoints in the run folder.
use crate::checkpoint_io::{save_checkpoint, TrainedModel};
use crate::curves::draw_curves;
use crate::data_args::DataArgs;
use crate::datasets::DatasetName;
use crate::early_stopping::EarlyStopping;
use crate::evaluate::evaluate;
use crate::metrics_log::{EpochMetrics, MetricsLog};
use crate::optim_args::OptimArgs;
use crate::tensors::{batch_images, training_loss};
use anyhow::{bail, Context};
use clap::Args;
use convkit_data::{DataLoader, Dataset, LoaderConfig, Split};
use convkit_models::{build_model, model_names, ModelSpec};
use convkit_nn::torch::{import_state_dict, read_state_dict};
use convkit_nn::Mode;
use convkit_tensor::seeded_rng;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Args, Debug)]
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
    pub optim: OptimArgs,
    #[command(flatten)]
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
}

/// What a finished run reports.
pub struct TrainOutcome {
    pub run_dir: PathBuf,
    pub test_accuracy: f64,
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let outcome = train(&args)?;
    println!("run folder: {}", outcome.run_dir.display());
    println!("test accuracy: {:.2}%", 100.0 * outcome.test_accuracy);
    Ok(())
}

/// A zoo model name, or an error listing the zoo.
fn parse_model_name(name: &str) -> Result<String, String> {
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

/// A fresh folder `<out_dir>/<model>-<dataset>[-k]`.
fn new_run_dir(out_dir: &Path, model: &str, dataset: &str) -> anyhow::Result<PathBuf> {
    let base = format!("{model}-{dataset}");
    let dir = (1..)
        .map(|k| {
            out_dir.join(if k == 1 {
                base.clone()
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

fn progress_bar(len: usize, epoch: usize, epochs: usize) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    let style =
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}<{eta})")
            .expect("valid template")
            .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("epoch {epoch}/{epochs}"));
    bar
}

/// Trains as the arguments say; returns the run folder and the final test accuracy.
pub fn train(args: &TrainArgs) -> anyhow::Result<TrainOutcome> {
    if args.epochs == 0 || args.batch_size == 0 {
        bail!("--epochs and --batch-size must be at least 1");
    }
    if args.early_stop == Some(0) {
        bail!("--early-stop needs a patience of at least 1 epoch");
    }
    let lr = args.optim.lr();
    let (train_set, val_set) = args.data.split(
        limit(
            args.dataset.load(args.data_dir.as_deref(), Split::Train)?,
            args.train_limit,
        )?,
        args.seed,
    )?;
    let (train_set, val_set) = (Arc::new(train_set), val_set.map(Arc::new));
    let test_set = Arc::new(args.dataset.load(args.data_dir.as_deref(), Split::Test)?);
    let normalize = args.dataset.normalize();
    let spec = ModelSpec {
        in_channels: train_set.channels(),
        num_classes: train_set.num_classes(),
        input_size: (train_set.height(), train_set.width()),
    };
    let model = build_model(&args.model, &spec, &mut seeded_rng(args.seed))?;
    if let Some(path) = &args.init_from {
        let tensors = read_state_dict(path)?;
        import_state_dict(model.as_ref(), &tensors, &path.display().to_string())?;
    }
    let params = model.parameters();
    let mut optimizer = args.optim.optimizer(params.clone())?;
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
    let mut scheduler =
        args.optim
            .scheduler(optimizer.as_mut(), args.epochs, loader.num_batches())?;
    let run_dir = new_run_dir(&args.out_dir, &args.model, args.dataset.as_str())?;
    let mut metrics = MetricsLog::create(&run_dir.join("metrics.csv"))?;
    let trained = TrainedModel {
        model: model.as_ref(),
        model_name: &args.model,
        spec: &spec,
        dataset: args.dataset.as_str(),
        class_names: train_set.class_names(),
        normalize: &normalize,
    };
    println!(
        "training {} ({} parameters) on {} ({} images), {} epochs, batch {}, {:?} lr {lr}",
        args.model,
        model.num_parameters(),
        args.dataset.as_str(),
        train_set.len(),
        args.epochs,
        args.batch_size,
        args.optim.optimizer
    );
    if let Some(val_set) = &val_set {
        println!(
            "validation: {} images held out; the best checkpoint is chosen by validation accuracy",
            val_set.len()
        );
    }
    let mut stopping = EarlyStopping::new(args.early_stop);
    let mut test_accuracy = 0.0;
    let mut history = Vec::new();
    for epoch in 1..=args.epochs {
        let bar = progress_bar(loader.num_batches(), epoch, args.epochs);
        let epoch_lr = optimizer.lr();
        let start = Instant::now();
        let (mut seen, mut correct, mut loss_sum) = (0usize, 0usize, 0.0f64);
        for (step, mut batch) in loader.epoch(epoch as u64 - 1).enumerate() {
            let soft_targets = batch.targets.take();
            let (images, labels) = batch_images(batch)?;
            let logits = model.forward(&images, Mode::Train)?;
            let loss = training_loss(&logits, &labels, soft_targets)?;
            let value = loss.item();
            if !value.is_finite() {
                bail!(
                    "training diverged: the loss became {value} at epoch {epoch}, step {}; try a lower learning rate (--lr, now {lr})",
                    step + 1
                );
            }
            optimizer.zero_grad();
            loss.backward()?;
            args.optim.clip(&params)?;
            optimizer.step()?;
            if let Some(s) = scheduler.as_mut() {
                s.batch_end(optimizer.as_mut());
            }
            seen += labels.len();
            loss_sum += value as f64 * labels.len() as f64;
            correct += logits
                .argmax(1)?
                .iter()
                .zip(&labels)
                .filter(|(p, l)| p == l)
                .count();
            bar.inc(1);
            if step % 20 == 0 {
                let rate = seen as f64 / start.elapsed().as_secs_f64();
                bar.set_message(format!(
                    "loss {:.4} acc {:.2}% {rate:.0} img/s",
                    loss_sum / seen as f64,
                    100.0 * correct as f64 / seen as f64
                ));
            }
        }
        bar.finish_and_clear();
        let train_seconds = start.elapsed().as_secs_f64();
        let report = evaluate(model.as_ref(), test_set.clone(), normalize.clone(), 500)?;
        test_accuracy = report.accuracy();
        let validation = match &val_set {
            Some(val_set) => {
                let val = evaluate(model.as_ref(), val_set.clone(), normalize.clone(), 500)?;
                println!(
                    "epoch {epoch}/{}: validation loss {:.4} acc {:.2}%",
                    args.epochs,
                    val.loss,
                    100.0 * val.accuracy()
                );
                Some((val.loss, val.accuracy()))
            }
            None => None,
        };
        let selection_accuracy = validation.map_or(test_accuracy, |(_, accuracy)| accuracy);
        let row = EpochMetrics {
            epoch,
            train_loss: loss_sum / seen as f64,
            train_accuracy: correct as f64 / seen as f64,
            validation,
            test_loss: report.loss,
            test_accuracy,
            images_per_second: seen as f64 / train_seconds,
            seconds: start.elapsed().as_secs_f64(),
        };
        println!(
            "epoch {epoch}/{}: train loss {:.4} acc {:.2}% | test loss {:.4} acc {:.2}% | lr {:.4e} | {:.0} img/s, {:.1} s",
            args.epochs,
            row.train_loss,
            100.0 * row.train_accuracy,
            row.test_loss,
            100.0 * row.test_accuracy,
            epoch_lr,
            row.images_per_second,
            row.seconds
        );
        metrics.append(&row)?;
        history.push(row.clone());
        draw_curves(&history, &run_dir.join("curves.png"))?;
        if let Some(s) = scheduler.as_mut() {
            // The test loss stands in for a validation metric (reduce-on-plateau).
            s.epoch_end(Some(report.loss as f32), optimizer.as_mut());
        }
        save_checkpoint(
            &run_dir.join("last.safetensors"),
            &trained,
            epoch,
            &row,
            optimizer.as_ref(),
        )?;
        let verdict = stopping.observe(epoch, selection_accuracy);
        if verdict.improved {
            save_checkpoint(
                &run_dir.join("best.safetensors"),
                &trained,
                epoch,
                &row,
                optimizer.as_ref(),
            )?;
        }
        if verdict.stop && epoch < args.epochs {
            let (best_epoch, best) = stopping.best().expect("an epoch was observed");
            println!(
                "early stopping: no better {} accuracy for {} epochs (best {:.2}% at epoch {best_epoch})",
                if val_set.is_some() { "validation" } else { "test" },
                epoch - best_epoch,
                100.0 * best
            );
            break;
        }
    }
    Ok(TrainOutcome {
        run_dir,
        test_accuracy,
    })
}
