//! `convkit eval`: test accuracy (top-1 and top-5), loss and confusion matrix of a saved
//! checkpoint, or of an ensemble of several (the mean of their predicted probabilities), each
//! member's accuracy beside it.
use crate::config_flags::{cli_error, names, DATASETS};
use anyhow::{anyhow, bail};
use clap::Args;
use convkit_data::Split;
use convkit_train::checkpoint::{load_model, run_folder, LoadedModel, IMPORTED};
use convkit_train::config::TtaName;
use convkit_train::eval::{check_compatible, evaluate_ensemble, evaluate_tta, EvalReport};
use convkit_train::{DatasetName, TrainConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Checkpoints written by `convkit train` (e.g. runs/lenet5-mnist/best.safetensors); several
    /// are evaluated as an ensemble, e.g. a run's snapshots: RUN/snapshot-*.safetensors.
    #[arg(value_name = "CHECKPOINT")]
    pub checkpoints: Vec<PathBuf>,
    /// A checkpoint (the same as giving it without the flag; may be repeated).
    #[arg(long = "checkpoint", value_name = "CHECKPOINT")]
    pub checkpoint_flags: Vec<PathBuf>,
    /// Evaluate on this dataset's test set instead of the checkpoint's own (needed for weights
    /// made by `convkit import`, which have none).
    #[arg(long, value_parser = names::<DatasetName>(DATASETS))]
    pub dataset: Option<DatasetName>,
    /// Folder holding the dataset files (default: the one the checkpoint's run trained on, else
    /// the dataset's usual place).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Images per evaluation batch.
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
    /// Test-time augmentation of a single checkpoint: average the logits over mirrored (mirror)
    /// and also 1-pixel shifted (mirror-translate) copies of each image.
    #[arg(long, value_parser = names::<TtaName>(&["none", "mirror", "mirror-translate"]), default_value = "none")]
    pub tta: TtaName,
}

/// `top-1 X% (correct/total), top-5 Y%, loss Z`.
fn summary(report: &EvalReport) -> String {
    format!(
        "top-1 {:.2}% ({}/{}), top-5 {:.2}%, loss {:.4}",
        100.0 * report.accuracy(),
        report.confusion.correct(),
        report.confusion.total(),
        100.0 * report.top5_accuracy(),
        report.loss
    )
}

/// The data folder that the run which wrote `checkpoint` trained on, if it trained on `dataset`:
/// from the `config.toml` every run folder holds beside its checkpoints.
fn recorded_data_dir(checkpoint: &Path, dataset: DatasetName) -> Option<PathBuf> {
    let config = TrainConfig::load(&run_folder(checkpoint).join("config.toml")).ok()?;
    (config.data.dataset == dataset)
        .then_some(config.data.data_dir)
        .flatten()
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let paths: Vec<PathBuf> = args
        .checkpoints
        .iter()
        .chain(&args.checkpoint_flags)
        .cloned()
        .collect();
    if paths.is_empty() {
        bail!("give the checkpoint to evaluate (several for an ensemble)");
    }
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let members = paths
        .into_iter()
        .map(|path| Ok((path.clone(), load_model(&path)?)))
        .collect::<anyhow::Result<Vec<(PathBuf, LoadedModel)>>>()?;
    check_compatible(&members)?;
    let first = &members[0].1;
    let dataset = match args.dataset {
        Some(dataset) => dataset,
        None if first.record.dataset == IMPORTED => bail!(
            "{} holds imported weights, trained on no dataset convkit knows: name the test set with --dataset",
            members[0].0.display()
        ),
        None => DatasetName::parse(&first.record.dataset).map_err(|e| anyhow!(e))?,
    };
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| recorded_data_dir(&members[0].0, dataset));
    let test_set = Arc::new(
        dataset
            .load(data_dir.as_deref(), Split::Test)
            .map_err(cli_error)?,
    );
    let batch_size = args.batch_size;
    if members.len() > 1 && args.tta != TtaName::None {
        bail!(
            "--tta evaluates one checkpoint; an ensemble averages its members' plain predictions"
        );
    }
    let report = if members.len() == 1 {
        evaluate_tta(
            first.model.as_ref(),
            test_set,
            first.record.normalize.clone(),
            batch_size,
            args.tta.tta(),
        )?
    } else {
        let (reports, ensemble) = evaluate_ensemble(
            &members,
            test_set,
            first.record.normalize.clone(),
            batch_size,
        )?;
        println!(
            "ensemble of {} checkpoints on the {} test set ({} images)",
            members.len(),
            dataset.as_str(),
            ensemble.confusion.total()
        );
        for ((path, member), report) in members.iter().zip(&reports) {
            println!(
                "  {} ({}): {}",
                path.display(),
                member.record.name,
                summary(report)
            );
        }
        println!("ensemble (mean probability): {}", summary(&ensemble));
        ensemble
    };
    if members.len() == 1 {
        let tta = match args.tta {
            TtaName::None => String::new(),
            name => format!(
                ", TTA {}",
                serde_json::to_value(name)?.as_str().unwrap_or("")
            ),
        };
        println!(
            "{} on {} test set ({} images{tta})",
            first.record.name,
            dataset.as_str(),
            report.confusion.total()
        );
    }
    println!(
        "test accuracy: {:.2}% ({}/{}), loss {:.4}",
        100.0 * report.accuracy(),
        report.confusion.correct(),
        report.confusion.total(),
        report.loss
    );
    println!("top-5 accuracy: {:.2}%", 100.0 * report.top5_accuracy());
    println!(
        "confusion matrix (rows: true class, columns: predicted):\n{}",
        report.confusion
    );
    Ok(())
}
