//! The data part of a [`super::TrainConfig`]: which dataset, how much of it, the validation split,
//! augmentation, mixup and loader threads.
use crate::datasets::DatasetName;
use crate::error::{Error, Result};
use convkit_data::transforms::Pipeline;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    pub dataset: DatasetName,
    /// Folder holding the dataset files [default: the dataset's usual place; see
    /// [`DatasetName::resolve_dir`]].
    pub data_dir: Option<PathBuf>,
    /// Only these classes (of training and test sets), relabelled `0..k` in this order.
    pub classes: Option<Vec<usize>>,
    /// Train on only the first N training images (after the class selection, before the
    /// validation split).
    pub train_limit: Option<usize>,
    /// Fraction of the training set held out for validation (drawn with the run's seed); the best
    /// checkpoint is then chosen by validation accuracy.
    pub val_fraction: f64,
    /// Augmentation of training images, comma-separated with parameters after colons
    /// (`crop:padding=2,flip`); `none` for none [default: the dataset recipe's, else none].
    pub augment: Option<String>,
    /// Mixup strength α: blend images at a Beta(α, α) ratio and train on soft targets.
    pub mixup: Option<f32>,
    /// Label smoothing ε: train on targets `(1 − ε)·one-hot + ε/classes` (after mixup, if any).
    pub label_smoothing: Option<f32>,
    /// Threads preparing training batches; batches don't depend on this number.
    pub workers: usize,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            dataset: DatasetName::Mnist,
            data_dir: None,
            classes: None,
            train_limit: None,
            val_fraction: 0.0,
            augment: None,
            mixup: None,
            label_smoothing: None,
            workers: 1,
        }
    }
}

impl DataConfig {
    /// The augmentation pipeline, `None` when there is none (unset or `none`).
    ///
    /// # Errors
    /// [`Error::Config`] for an unknown transform or parameter.
    pub fn pipeline(&self) -> Result<Option<Pipeline>> {
        match self.augment.as_deref() {
            None | Some("none") => Ok(None),
            Some(spec) => Pipeline::parse(spec)
                .map(Some)
                .map_err(|e| Error::config("data.augment", e.to_string())),
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        self.pipeline()?;
        if let Some(alpha) = self.mixup {
            if !(alpha.is_finite() && alpha > 0.0) {
                return Err(Error::config(
                    "data.mixup",
                    format!("alpha must be a positive number, got {alpha}"),
                ));
            }
        }
        if let Some(epsilon) = self.label_smoothing {
            if !(0.0..=1.0).contains(&epsilon) {
                return Err(Error::config(
                    "data.label_smoothing",
                    format!("must be in [0, 1], got {epsilon}"),
                ));
            }
        }
        if !(0.0..1.0).contains(&self.val_fraction) {
            return Err(Error::config(
                "data.val_fraction",
                format!("must be at least 0 and below 1, got {}", self.val_fraction),
            ));
        }
        convkit_tensor::limits::check_threads("threads preparing batches", self.workers)
            .map_err(|e| Error::config("data.workers", e.to_string()))?;
        if self.classes.as_ref().is_some_and(Vec::is_empty) {
            return Err(Error::config("data.classes", "needs at least one class"));
        }
        if self.train_limit == Some(0) {
            return Err(Error::config(
                "data.train_limit",
                "must be at least 1 (a run needs training images)",
            ));
        }
        Ok(())
    }
}
