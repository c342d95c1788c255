//! `convkit train`'s data options: augmentation, mixup, loader worker threads, validation split.
use anyhow::{bail, Context};
use clap::Args;
use convkit_data::transforms::Pipeline;
use convkit_data::{DataLoader, Dataset};
use serde::{Deserialize, Serialize};

#[derive(Args, Debug, Clone, Serialize, Deserialize)]
pub struct DataArgs {
    /// Augmentation applied to training images, comma-separated, each with optional parameters
    /// (e.g. crop:padding=2,flip,jitter; see `convkit augment --help`). Validation and test
    /// images are never augmented; `none` turns off the dataset recipe's augmentation.
    #[arg(long)]
    pub augment: Option<String>,
    /// Threads preparing training batches ahead of the model; batches don't depend on this number.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Fraction of the training set held out for validation (drawn with the run's seed); the best
    /// checkpoint is then chosen by validation accuracy instead of test accuracy.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub val_fraction: f64,
    /// Mixup: blend each training image with another at a Beta(α, α) ratio and train on the blended
    /// (soft) targets.
    #[arg(long, value_name = "ALPHA", allow_negative_numbers = true)]
    pub mixup: Option<f32>,
}

impl DataArgs {
    /// Checks the augmentation names and parameters, the mixup strength, the validation fraction
    /// and the worker count, so that a bad value stops the run before any data is loaded.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(spec) = &self.augment {
            Pipeline::parse(spec).context("--augment")?;
        }
        if let Some(alpha) = self.mixup {
            if !(alpha.is_finite() && alpha > 0.0) {
                bail!("--mixup: alpha must be a positive number, got {alpha}");
            }
        }
        if !(0.0..1.0).contains(&self.val_fraction) {
            bail!(
                "--val-fraction must be at least 0 and below 1, got {}",
                self.val_fraction
            );
        }
        if self.workers == 0 {
            bail!("--workers must be at least 1");
        }
        Ok(())
    }

    /// The training set and, when `--val-fraction` is above zero, the held-out validation set.
    pub fn split(
        &self,
        train_set: Dataset,
        seed: u64,
    ) -> anyhow::Result<(Dataset, Option<Dataset>)> {
        if self.val_fraction == 0.0 {
            return Ok((train_set, None));
        }
        let (train, validation) = train_set.split(self.val_fraction, seed)?;
        Ok((train, Some(validation)))
    }

    /// `loader` with the worker count, augmentation and mixup these options ask for.
    pub fn configure(&self, loader: DataLoader) -> anyhow::Result<DataLoader> {
        let mut loader = loader.with_workers(self.workers)?;
        if let Some(spec) = &self.augment {
            loader = loader
                .with_transforms(Pipeline::parse(spec)?)
                .context("--augment")?;
        }
        if let Some(alpha) = self.mixup {
            loader = loader.with_mixup(alpha)?;
        }
        Ok(loader)
    }
}
