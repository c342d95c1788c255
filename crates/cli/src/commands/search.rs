//! `convkit search`: random hyper-parameter search. Each of N trials draws its hyper-parameters
//! (see [`SearchSpace`]), trains a short quiet run on the training set minus a held-out
//! validation split (the same split for every trial: it comes from --seed), and is scored by
//! its last epoch's validation accuracy; the test set is never loaded. Prints the trials ranked,
//! best first, and writes them to search.csv in the search folder, beside each trial's run folder.
use crate::config_flags::{cli_error, names, DATASETS};
use crate::search_space::{SearchSpace, Trial};
use crate::train_args::{install_step, RunArgs};
use anyhow::{bail, Context};
use clap::{Args, Parser};
use convkit_train::run_dir::new_run_dir;
use convkit_train::{recipe, DatasetName, TrainConfig, Trainer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Number of trials.
    #[arg(long, default_value_t = 10)]
    pub trials: usize,
    /// Epochs per trial.
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Model architecture (`convkit summary --list` shows the zoo).
    #[arg(long, default_value = "lenet5")]
    pub model: String,
    #[arg(long, value_parser = names::<DatasetName>(DATASETS), default_value = "mnist")]
    pub dataset: DatasetName,
    /// Folder holding the dataset files (default: the dataset's usual place).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Train each trial on only the first N training images (before the validation split).
    #[arg(long, value_name = "N")]
    pub subset: Option<usize>,
    /// Fraction of the training images held out for validation.
    #[arg(long, default_value_t = 0.1)]
    pub val_fraction: f64,
    /// Seed of the draws, and of every trial's initialisation, shuffling and validation split: the
    /// same seed repeats the search.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[command(flatten)]
    pub space: SearchSpace,
    /// Where the search folder goes.
    #[arg(long, default_value = "runs")]
    pub out_dir: PathBuf,
    /// Further `convkit train` options for every trial, after `--` (e.g. `-- --augment flip`).
    #[arg(last = true)]
    pub train_options: Vec<String>,
}

/// `convkit train`'s options parsed on their own (a trial's arguments).
#[derive(Parser)]
#[command(no_binary_name = true)]
struct TrialCli {
    #[command(flatten)]
    args: RunArgs,
}

/// A finished (or failed) trial.
struct Outcome {
    number: usize,
    trial: Trial,
    /// Validation `(loss, accuracy)`, train loss; the error when training failed.
    result: Result<((f64, f64), f64), String>,
    seconds: f64,
}

impl SearchArgs {
    /// The configuration every trial starts from, trials writing into `folder`.
    fn base_config(&self, folder: &Path) -> TrainConfig {
        let mut config = TrainConfig {
            model: self.model.clone(),
            epochs: self.epochs,
            seed: self.seed,
            out_dir: folder.to_path_buf(),
            evaluate_test: false,
            ..TrainConfig::default()
        };
        config.data.dataset = self.dataset;
        config.data.data_dir = self.data_dir.clone();
        config.data.train_limit = self.subset;
        config.data.val_fraction = self.val_fraction;
        config
    }

    /// The train options after `--`.
    fn extra_options(&self) -> anyhow::Result<RunArgs> {
        let cli = TrialCli::try_parse_from(&self.train_options)
            .map_err(|e| anyhow::anyhow!("the trial's train options: {e}"))?;
        Ok(cli.args)
    }
}

/// The configuration of trial `number`: the base with the trial's hyper-parameters, the train
/// options after `--` (they win), then the dataset's recipe for what is still unset (as `convkit
/// train` does).
fn trial_config(base: &TrainConfig, trial: &Trial, extra: &RunArgs, number: usize) -> TrainConfig {
    let mut config = base.clone();
    trial.apply(&mut config);
    extra.apply(&mut config);
    config.run_name = Some(format!("trial-{number:02}"));
    recipe::apply(&mut config);
    config
}

/// Trains one quiet trial; its last validation (loss, accuracy) and training loss.
fn run_trial(config: TrainConfig) -> Result<((f64, f64), f64), String> {
    let outcome = Trainer::new(config)
        .and_then(|mut trainer| {
            install_step(&mut trainer);
            trainer.fit()
        })
        .map_err(|e| format!("{:#}", cli_error(e)))?;
    let last = outcome.last();
    let validation = last.validation.expect("trials hold out validation");
    Ok((validation, last.train_loss))
}

pub fn run(args: SearchArgs) -> anyhow::Result<()> {
    if args.trials == 0 || args.epochs == 0 {
        bail!("--trials and --epochs must be at least 1");
    }
    if args.subset == Some(0) {
        bail!("--subset must be at least 1: the trials need training images");
    }
    if !(args.val_fraction > 0.0 && args.val_fraction < 1.0) {
        bail!(
            "--val-fraction must be above 0 and below 1 (trials are scored on the validation split, never on the test set), got {}",
            args.val_fraction
        );
    }
    args.space.validate()?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let trials: Vec<Trial> = (0..args.trials)
        .map(|_| args.space.sample(&mut rng))
        .collect();
    // Every trial's configuration is checked before the search folder is made and the first
    // trial trains.
    let (base, extra) = (args.base_config(&args.out_dir), args.extra_options()?);
    let mut configs: Vec<TrainConfig> = (1..)
        .zip(&trials)
        .map(|(number, trial)| trial_config(&base, trial, &extra, number))
        .collect();
    for config in &configs {
        config.validate().map_err(cli_error)?;
    }
    let folder = new_run_dir(
        &args.out_dir,
        &format!("search-{}-{}", args.model, args.dataset.as_str()),
    )?;
    // Trials go into the search folder (unless the train options after `--` say otherwise).
    for config in configs.iter_mut().filter(|c| c.out_dir == args.out_dir) {
        config.out_dir = folder.clone();
    }
    println!(
        "search: {} trials of {} epoch(s) of {} on {}; folder {}",
        args.trials,
        args.epochs,
        args.model,
        args.dataset.as_str(),
        folder.display()
    );
    let mut outcomes = Vec::new();
    for (number, (trial, config)) in (1..).zip(trials.into_iter().zip(configs)) {
        let start = Instant::now();
        let result = run_trial(config);
        let outcome = Outcome {
            number,
            trial,
            result,
            seconds: start.elapsed().as_secs_f64(),
        };
        println!("trial {number}/{}: {}", args.trials, describe(&outcome));
        outcomes.push(outcome);
    }
    // Best validation accuracy first, then lower validation loss; failed trials last.
    let key = |o: &Outcome| {
        o.result
            .as_ref()
            .map_or((f64::NEG_INFINITY, f64::INFINITY), |&((loss, acc), _)| {
                (acc, loss)
            })
    };
    outcomes.sort_by(|a, b| {
        let ((acc_a, loss_a), (acc_b, loss_b)) = (key(a), key(b));
        acc_b
            .total_cmp(&acc_a)
            .then(loss_a.total_cmp(&loss_b))
            .then(a.number.cmp(&b.number))
    });
    let table = table(&outcomes);
    print!("{table}");
    let csv_path = folder.join("search.csv");
    std::fs::write(&csv_path, csv(&outcomes))
        .with_context(|| format!("writing {}", csv_path.display()))?;
    println!("wrote {}", csv_path.display());
    // A search without one result found nothing: the command failed.
    if outcomes.iter().all(|o| o.result.is_err()) {
        let first = outcomes
            .iter()
            .min_by_key(|o| o.number)
            .and_then(|o| o.result.as_ref().err());
        bail!(
            "all {} trials failed (trial 1: {})",
            outcomes.len(),
            first.map_or("", String::as_str)
        );
    }
    Ok(())
}

fn momentum(trial: &Trial) -> String {
    trial.momentum.map_or("-".to_string(), |m| m.to_string())
}

fn optimizer(trial: &Trial) -> String {
    format!("{:?}", trial.optimizer).to_lowercase()
}

/// One line about a finished trial.
fn describe(o: &Outcome) -> String {
    let t = &o.trial;
    let setting = format!(
        "{} lr {:.3e} wd {:.1e} momentum {} batch {}",
        optimizer(t),
        t.lr,
        t.weight_decay,
        momentum(t),
        t.batch_size
    );
    match &o.result {
        Ok(((loss, acc), _)) => format!(
            "{setting}: validation acc {:.2}% loss {loss:.4} ({:.1} s)",
            100.0 * acc,
            o.seconds
        ),
        Err(e) => format!("{setting}: failed: {e}"),
    }
}

/// The ranked table.
fn table(outcomes: &[Outcome]) -> String {
    let mut out = format!(
        "{:>4} {:>5} {:>9} {:>10} {:>12} {:>8} {:>5} {:>8} {:>9}\n",
        "rank",
        "trial",
        "optimizer",
        "lr",
        "weight_decay",
        "momentum",
        "batch",
        "val_acc",
        "val_loss"
    );
    for (rank, o) in (1..).zip(outcomes) {
        let t = &o.trial;
        let (acc, loss) = match &o.result {
            Ok(((loss, acc), _)) => (format!("{:.2}%", 100.0 * acc), format!("{loss:.4}")),
            Err(_) => ("failed".to_string(), "-".to_string()),
        };
        writeln!(
            out,
            "{rank:>4} {:>5} {:>9} {:>10.3e} {:>12.1e} {:>8} {:>5} {acc:>8} {loss:>9}",
            o.number,
            optimizer(t),
            t.lr,
            t.weight_decay,
            momentum(t),
            t.batch_size
        )
        .expect("writing to a String");
    }
    out
}

/// search.csv: the ranked trials with full-precision values.
fn csv(outcomes: &[Outcome]) -> String {
    let mut out = String::from(
        "rank,trial,optimizer,lr,weight_decay,momentum,batch_size,val_accuracy,val_loss,train_loss,seconds,error\n",
    );
    for (rank, o) in (1..).zip(outcomes) {
        let t = &o.trial;
        let (acc, loss, train_loss, error) = match &o.result {
            Ok(((loss, acc), train_loss)) => (
                acc.to_string(),
                loss.to_string(),
                train_loss.to_string(),
                String::new(),
            ),
            // Commas and quotes would break the row.
            Err(e) => (
                String::new(),
                String::new(),
                String::new(),
                e.replace([',', '"', '\n'], " "),
            ),
        };
        writeln!(
            out,
            "{rank},{},{},{},{},{},{},{acc},{loss},{train_loss},{:.2},{error}",
            o.number,
            optimizer(t),
            t.lr,
            t.weight_decay,
            t.momentum.map_or(String::new(), |m| m.to_string()),
            t.batch_size,
            o.seconds
        )
        .expect("writing to a String");
    }
    out
}
