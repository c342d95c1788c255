//! `convkit`: train, evaluate and use convolutional networks from the command line.
mod adversarial_args;
mod allocator;
mod commands;
mod config_flags;
mod data_args;
mod image_input;
mod model_args;
mod optim_args;
mod search_space;
mod threads;
mod train_args;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "convkit", version, about = "Train, evaluate and use convolutional neural networks", long_about = None)]
struct Cli {
    /// Worker threads for the kernels, at least 1 (default: RAYON_NUM_THREADS, else one per
    /// core).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on a dataset and report test accuracy after every epoch.
    Train(Box<commands::train::TrainArgs>),
    /// Fine-tune pretrained weights (a checkpoint or a PyTorch state_dict) on a dataset: a new
    /// classifier, trained alone first, then the whole network with lower rates for the body.
    Finetune(Box<commands::finetune::FinetuneArgs>),
    /// Evaluate a saved checkpoint, or an ensemble of several, on the test set: accuracy, loss and
    /// confusion matrix.
    Eval(commands::eval::EvalArgs),
    /// The learning-rate range test: loss against an exponentially growing rate, a plot, and
    /// the suggested rate (what `train --lr auto` uses).
    LrFind(Box<commands::lr_find::LrFindArgs>),
    /// Curves of several runs in one chart: a panel per metric, a line per run.
    Plot(commands::plot::PlotArgs),
    /// Random hyper-parameter search: short trials scored on a validation split, ranked.
    Search(Box<commands::search::SearchArgs>),
    /// Classify image files (PNG/JPEG) with a saved checkpoint and print the top-5 classes.
    Predict(commands::predict::PredictArgs),
    /// Measure training and inference throughput on the reference workloads.
    Bench(commands::bench::BenchArgs),
    /// Write a grid of augmented training samples to a PNG to see what a transform pipeline does.
    Augment(commands::augment::AugmentArgs),
    /// The initialisation experiment: activation statistics per layer of a deep MLP, and histograms.
    InitStats(commands::init_stats::InitStatsArgs),
    /// Layer-by-layer table of a zoo model: output shapes, parameters, multiply-adds, memory.
    Summary(commands::summary::SummaryArgs),
    /// Load a PyTorch state_dict (.pth or safetensors) into a zoo model and save a checkpoint.
    Import(commands::weights::ImportArgs),
    /// Write a checkpoint's weights as a PyTorch state_dict (safetensors) for load_state_dict.
    Export(commands::weights::ExportArgs),
    /// Robust accuracy of a checkpoint under adversarial attacks over a list of ε, with a curve,
    /// example grid, CSV and gradient-masking checks.
    Attack(Box<commands::attack::AttackArgs>),
    /// Look inside a trained model: filters, activations, saliency maps.
    Inspect(commands::inspect::InspectArgs),
}

fn run(cli: Cli) -> anyhow::Result<()> {
    refuse_mpi_launch_without_support(&cli.command)?;
    threads::configure(cli.threads)?;
    match cli.command {
        Command::Train(args) => commands::train::run(*args),
        Command::Finetune(args) => commands::finetune::run(*args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Plot(args) => commands::plot::run(args),
        Command::Search(args) => commands::search::run(*args),
        Command::LrFind(args) => commands::lr_find::run(*args),
        Command::Predict(args) => commands::predict::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Augment(args) => commands::augment::run(args),
        Command::InitStats(args) => commands::init_stats::run(args),
        Command::Summary(args) => commands::summary::run(args),
        Command::Import(args) => commands::weights::run_import(args),
        Command::Export(args) => commands::weights::run_export(args),
        Command::Attack(args) => commands::attack::run(*args),
        Command::Inspect(args) => commands::inspect::run(args),
    }
}

/// Started by mpiexec as one of several ranks, only a `train` built with MPI support can work
/// together; anything else would run the same command once per rank (writing the same folders).
fn refuse_mpi_launch_without_support(command: &Command) -> anyhow::Result<()> {
    let Some(launch) = convkit_distributed::launch::detect().filter(|l| l.size > 1) else {
        return Ok(());
    };
    if !cfg!(feature = "mpi") {
        anyhow::bail!(
            "{}",
            convkit_distributed::launch::built_without_mpi(&launch)
        );
    }
    if !matches!(command, Command::Train(_)) {
        anyhow::bail!(
            "rank {} of {}: only `convkit train` runs on several ranks; start this command without mpiexec",
            launch.rank,
            launch.size
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    allocator::keep_freed_memory();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
