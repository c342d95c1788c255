//! `convkit plot`: the curves of several runs in one chart (one panel per metric, a line per run),
//! read from their folders' `metrics.csv` and `batches.csv`.
use anyhow::Context;
use clap::Args;
use convkit_train::compare::{draw_runs, CompareOptions, RunMetric, RunToCompare};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PlotArgs {
    /// Run folders (written by `convkit train`).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Panels, comma-separated: train-loss, train-error, train-accuracy, val-loss, val-error,
    /// val-accuracy, test-loss, test-error, test-accuracy (per epoch; errors and accuracies in %),
    /// batch-loss (every batch).
    #[arg(long, value_delimiter = ',', default_value = "train-loss,test-error")]
    pub metric: Vec<RunMetric>,
    /// Legend labels, comma-separated, one per run [default: the folders' names].
    #[arg(long, value_delimiter = ',')]
    pub label: Vec<String>,
    /// Loss axes on a log scale.
    #[arg(long)]
    pub log_loss: bool,
    /// Batch losses averaged over this many consecutive batches.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub smooth: u64,
    /// The PNG to write.
    #[arg(long, default_value = "runs.png")]
    pub out: PathBuf,
}

pub fn run(args: PlotArgs) -> anyhow::Result<()> {
    if !args.label.is_empty() && args.label.len() != args.runs.len() {
        anyhow::bail!(
            "--label: {} labels for {} runs (give one per run, or none)",
            args.label.len(),
            args.runs.len()
        );
    }
    let runs: Vec<RunToCompare> = args
        .runs
        .iter()
        .enumerate()
        .map(|(i, dir)| RunToCompare {
            label: args.label.get(i).cloned().unwrap_or_else(|| {
                let name = dir.file_name().unwrap_or(dir.as_os_str());
                name.to_string_lossy().into_owned()
            }),
            dir: dir.clone(),
        })
        .collect();
    let options = CompareOptions {
        log_loss: args.log_loss,
        smooth: args.smooth as usize,
    };
    let png = draw_runs(&runs, &args.metric, options)?;
    std::fs::write(&args.out, png).with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {}", args.out.display());
    Ok(())
}
