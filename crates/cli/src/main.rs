//! `convkit`: train, evaluate and use convolutional networks from the command line.
mod allocator;
mod checkpoint_io;
mod commands;
mod curves;
mod data_args;
mod datasets;
mod early_stopping;
mod ensemble;
mod evaluate;
mod image_input;
mod metrics_log;
mod model_args;
mod optim_args;
mod recipe;
mod run_state;
mod search_space;
mod tensors;
mod trainer;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "convkit", version, about = "Train, evaluate and use convolutional neural networks", long_about = None)]
struct Cli {
    /// Worker threads for the kernels (default: RAYON_NUM_THREADS, else one per core).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on a dataset and report test accuracy after every epoch.
    Train(Box<commands::train::TrainArgs>),
    /// Evaluate a saved checkpoint, or an ensemble of several, on the test set: accuracy, loss and
    /// confusion matrix.
    Eval(commands::eval::EvalArgs),
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
    /// Look inside a trained model: filters, activations, saliency maps.
    Inspect(commands::inspect::InspectArgs),
}

/// The ids of the options that `matches` got from the command line (not from defaults).
fn explicit_options(matches: Option<&ArgMatches>) -> Vec<String> {
    let Some(matches) = matches else {
        return Vec::new();
    };
    matches
        .ids()
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect()
}

fn run(cli: Cli, matches: &ArgMatches) -> anyhow::Result<()> {
    if let Some(threads) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()?;
    }
    match cli.command {
        Command::Train(args) => commands::train::run(
            *args,
            &explicit_options(matches.subcommand_matches("train")),
        ),
        Command::Eval(args) => commands::eval::run(args),
        Command::Search(args) => commands::search::run(*args),
        Command::Predict(args) => commands::predict::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Augment(args) => commands::augment::run(args),
        Command::InitStats(args) => commands::init_stats::run(args),
        Command::Summary(args) => commands::summary::run(args),
        Command::Import(args) => commands::weights::run_import(args),
        Command::Export(args) => commands::weights::run_export(args),
        Command::Inspect(args) => commands::inspect::run(args),
    }
}

fn main() -> ExitCode {
    allocator::keep_freed_memory();
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match run(cli, &matches) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
