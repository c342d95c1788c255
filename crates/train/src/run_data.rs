//! The data of a run: the training set (limited, minus the validation split), the validation and
//! test sets, their normalisation, and the training loader.
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use convkit_data::{DataLoader, Dataset, LoaderConfig, Normalize, Split};
use convkit_models::ModelSpec;
use std::sync::Arc;

pub struct RunData {
    pub train: Arc<Dataset>,
    pub validation: Option<Arc<Dataset>>,
    /// `None` when the configuration does not evaluate on the test set.
    pub test: Option<Arc<Dataset>>,
    pub normalize: Normalize,
}

impl RunData {
    /// Loads what `config` names.
    ///
    /// # Errors
    /// Missing or corrupt dataset files; a training set left empty.
    pub fn load(config: &TrainConfig) -> Result<RunData> {
        let data = &config.data;
        let dataset = data.dataset;
        let full = select(
            dataset.load(data.data_dir.as_deref(), Split::Train)?,
            config,
        )?;
        let limited = limit(full, data.train_limit)?;
        let (train, validation) = if data.val_fraction > 0.0 {
            let (train, validation) = limited.split(data.val_fraction, config.seed)?;
            (train, Some(Arc::new(validation)))
        } else {
            (limited, None)
        };
        if train.is_empty() {
            return Err(Error::config(
                "data",
                format!("the {} training set holds no images", dataset.as_str()),
            ));
        }
        let test = if config.evaluate_test {
            let test = dataset.load(data.data_dir.as_deref(), Split::Test)?;
            Some(Arc::new(select(test, config)?))
        } else {
            None
        };
        Ok(RunData {
            train: Arc::new(train),
            validation,
            test,
            normalize: dataset.normalize(),
        })
    }

    /// What the model must fit: the training images' shape and classes.
    pub fn spec(&self) -> ModelSpec {
        ModelSpec {
            in_channels: self.train.channels(),
            num_classes: self.train.num_classes(),
            input_size: (self.train.height(), self.train.width()),
        }
    }

    /// The shuffled, augmented training loader of `config`.
    ///
    /// # Errors
    /// Loader settings that cannot work with these images (a crop larger than the image, ...).
    pub fn train_loader(&self, config: &TrainConfig) -> Result<DataLoader> {
        let loader_config = LoaderConfig {
            batch_size: config.batch_size(),
            shuffle: true,
            drop_last: false,
            seed: config.seed,
            normalize: Some(self.normalize.clone()),
        };
        let mut loader = DataLoader::new(self.train.clone(), loader_config)?
            .with_workers(config.data.workers)?;
        if let Some(pipeline) = config.data.pipeline()? {
            loader = loader
                .with_transforms(pipeline)
                .map_err(|e| Error::config("data.augment", e.to_string()))?;
        }
        if let Some(alpha) = config.data.mixup {
            loader = loader.with_mixup(alpha)?;
        }
        if let Some(epsilon) = config.data.label_smoothing {
            loader = loader.with_label_smoothing(epsilon)?;
        }
        Ok(loader)
    }
}

/// The classes of `dataset` that `config` selects (all without a selection).
fn select(dataset: Dataset, config: &TrainConfig) -> Result<Dataset> {
    match &config.data.classes {
        None => Ok(dataset),
        Some(classes) => dataset
            .select_classes(classes)
            .map_err(|e| Error::config("data.classes", e.to_string())),
    }
}

/// The first `n` images of `dataset` (all of them when `n` is `None` or not smaller).
fn limit(dataset: Dataset, n: Option<usize>) -> Result<Dataset> {
    let Some(n) = n.filter(|&n| n < dataset.len()) else {
        return Ok(dataset);
    };
    let dims = [dataset.channels(), dataset.height(), dataset.width()];
    let images = dataset.images()[..n * dataset.image_len()].to_vec();
    Ok(Dataset::new(
        images,
        dataset.labels()[..n].to_vec(),
        dims,
        dataset.class_names().to_vec(),
    )?)
}
