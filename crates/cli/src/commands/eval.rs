//! `convkit eval`: test accuracy (top-1 and top-5), loss and confusion matrix of a saved checkpoint.
use crate::checkpoint_io::load_checkpoint;
use crate::datasets::DatasetName;
use crate::evaluate::evaluate;
use clap::Args;
use convkit_data::Split;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Checkpoint written by `convkit train` (e.g. runs/lenet5-mnist/best.safetensors).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Folder holding the dataset files (default: the copy embedded in the repo).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let loaded = load_checkpoint(&args.checkpoint)?;
    let dataset = DatasetName::parse(&loaded.dataset)?;
    let test_set = Arc::new(dataset.load(args.data_dir.as_deref(), Split::Test)?);
    let report = evaluate(
        loaded.model.as_ref(),
        test_set,
        loaded.normalize.clone(),
        args.batch_size.max(1),
    )?;
    println!(
        "{} on {} test set ({} images)",
        loaded.model_name,
        loaded.dataset,
        report.confusion.total()
    );
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
