//! `convkit lr-find`: the learning-rate range test on a run's model and data (the same flags as
//! `convkit train`), its plot, and the suggested rates.
use crate::config_flags::cli_error;
use crate::train_args::{install_step, RunArgs};
use anyhow::Context;
use clap::Args;
use convkit_train::lr_find::{draw_lr_find, LrFindConfig};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct LrFindArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The first learning rate.
    #[arg(long, default_value_t = 1e-7)]
    pub start_lr: f64,
    /// The rate the last step would reach.
    #[arg(long, default_value_t = 10.0)]
    pub end_lr: f64,
    /// Steps from --start-lr to --end-lr (the test stops earlier once the loss diverges).
    #[arg(long, default_value_t = 100)]
    pub iterations: usize,
    /// Where to draw the loss against the rate.
    #[arg(long, default_value = "lr-find.png")]
    pub out: PathBuf,
}

pub fn run(args: LrFindArgs) -> anyhow::Result<()> {
    let settings = LrFindConfig {
        start_lr: args.start_lr,
        end_lr: args.end_lr,
        iterations: args.iterations,
        ..LrFindConfig::default()
    };
    let mut trainer = args.run.fresh_trainer(true)?;
    install_step(&mut trainer);
    let found = trainer.lr_find(&settings).map_err(cli_error)?;
    let png = draw_lr_find(&found)?;
    std::fs::write(&args.out, png).with_context(|| format!("writing {}", args.out.display()))?;
    let steps = found.lrs.len();
    match found.diverged_at {
        Some(_) => println!("{steps} steps, diverged at lr {:.3e}", found.lrs[steps - 1]),
        None => println!(
            "{steps} steps up to lr {:.3e} without diverging",
            found.lrs[steps - 1]
        ),
    }
    println!("suggested learning rate: {:.3e} (valley)", found.valley);
    println!("steepest descent at:     {:.3e}", found.steepest);
    println!(
        "plot: {} (loss against lr; red: valley, green: steepest)",
        args.out.display()
    );
    Ok(())
}
