//! `convkit finetune`: `convkit train`'s flags plus the `[finetune]` options (see
//! `convkit_train::config::FinetuneConfig`), then the library's `fit`; it prints what the run
//! freezes when, its learning-rate multiples and what the body's batch norms do.
use super::train::{add_primary_callbacks, report, TrainArgs};
use crate::config_flags::cli_error;
use anyhow::bail;
use clap::Args;
use convkit_train::config::FinetuneConfig;
use convkit_train::Trainer;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct FinetuneArgs {
    #[command(flatten)]
    pub train: TrainArgs,
    /// The pretrained weights: a convkit checkpoint, or a PyTorch state_dict (.pth/.pt, or
    /// safetensors) of the --model architecture, for any number of classes: the classifier is
    /// re-initialised for the dataset's classes.
    #[arg(
        long,
        value_name = "CHECKPOINT_OR_PTH",
        required_unless_present = "resume"
    )]
    pub from: Option<PathBuf>,
    /// Epochs at the start that train the new classifier alone, the body frozen; --epochs counts
    /// them too [default: 1; 0 with --linear-probe].
    #[arg(long, value_name = "N")]
    pub freeze_epochs: Option<usize>,
    /// Keep every parameter before this layer (a state_dict module name such as layer3 or fc1)
    /// frozen for the whole run.
    #[arg(long, value_name = "LAYER")]
    pub freeze_until: Option<String>,
    /// Discriminative learning rates (fastai): the first stage of the body trains at --lr /
    /// this, the rates growing geometrically stage by stage up to --lr for the classifier.
    #[arg(
        long,
        value_name = "RATIO",
        allow_negative_numbers = true,
        conflicts_with = "layer_decay"
    )]
    pub lr_mult: Option<f32>,
    /// Layer-wise decay (timm): each block of the body trains at --lr × this^k, k blocks below
    /// the classifier.
    #[arg(long, value_name = "DECAY", allow_negative_numbers = true)]
    pub layer_decay: Option<f32>,
    /// Compute the body's features once and train only a linear classifier on them.
    #[arg(long)]
    pub linear_probe: bool,
    /// Train the body's batch norms (fastai): batch statistics, running statistics updated,
    /// affine parameters trained even when frozen. By default (Keras) they stay in inference
    /// mode, frozen or not.
    #[arg(long)]
    pub train_bn: bool,
}

impl FinetuneArgs {
    /// The `[finetune]` section these flags give (`None` without --from).
    fn config(&self) -> Option<FinetuneConfig> {
        Some(FinetuneConfig {
            from: self.from.clone()?,
            freeze_epochs: self.freeze_epochs,
            freeze_until: self.freeze_until.clone(),
            lr_mult: self.lr_mult,
            layer_decay: self.layer_decay,
            train_bn: self.train_bn,
            linear_probe: self.linear_probe,
        })
    }

    fn trainer(&self) -> anyhow::Result<Trainer> {
        let finetune = self.config();
        if self.train.resume.is_some() {
            if finetune.is_some() || self.freeze_epochs.is_some() || self.linear_probe {
                bail!(
                    "--resume continues the run with its own fine-tuning options; leave them out"
                );
            }
            return self.train.trainer(true);
        }
        self.train
            .trainer_with(true, |config| config.finetune = finetune)
    }
}

/// `convkit finetune`.
pub fn run(args: FinetuneArgs) -> anyhow::Result<()> {
    let mut trainer = args.trainer()?;
    let Some(plan) = trainer.finetune_plan() else {
        bail!(
            "{}: not a fine-tuning run (use convkit train --resume)",
            trainer.config().out_dir.display()
        );
    };
    let config = trainer.config();
    let from = config
        .finetune
        .as_ref()
        .map(|f| f.from.display().to_string())
        .unwrap_or_default();
    println!(
        "fine-tuning {} from {from}: the classifier '{}' re-initialised for {} classes",
        config.model,
        plan.head,
        trainer.record().spec.num_classes
    );
    for line in plan.describe(config.epochs) {
        println!("  {line}");
    }
    add_primary_callbacks(&mut trainer, &args.train);
    let outcome = trainer.fit().map_err(cli_error)?;
    report(&outcome);
    Ok(())
}
