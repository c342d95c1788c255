//! convkit's checkpoints: the weights under PyTorch names, typed metadata (model name and spec,
//! dataset, classes, normalisation, epoch, format version, run id) and, in `last.safetensors`,
//! the run state that `--resume` continues from (optimiser tensors in the same file, schedule
//! position, early stopping, metrics so far). One file per checkpoint, written durably (temporary
//! file, fsync, rename, fsync of the folder) by [`convkit_nn::checkpoint`].
mod run_state;

pub use run_state::{RunState, SavedRun};

use crate::error::{Error, Result};
use crate::metrics::EpochMetrics;
use convkit_data::Normalize;
use convkit_models::{build_model, ModelSpec};
use convkit_nn::checkpoint::{self, Checkpoint, CheckpointMeta, Normalization};
use convkit_nn::optim::Optimizer;
use convkit_nn::Module;
use convkit_tensor::seeded_rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The dataset name of checkpoints made by `convkit import` (no dataset of their own).
pub const IMPORTED: &str = "imported";

/// Which checkpoint of a run a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointKind {
    /// `last.safetensors`: after every epoch, with the run state.
    Last,
    /// `best.safetensors`: the epoch with the best selection accuracy.
    Best,
    /// `epoch-<k>.safetensors` (the checkpoint policy's `every`).
    Epoch(usize),
    /// `snapshot-<k>.safetensors`: the end of a schedule cycle.
    Snapshot(usize),
}

impl CheckpointKind {
    /// The file name inside the run folder.
    pub fn file_name(self) -> String {
        match self {
            CheckpointKind::Last => "last.safetensors".into(),
            CheckpointKind::Best => "best.safetensors".into(),
            CheckpointKind::Epoch(k) => format!("epoch-{k}.safetensors"),
            CheckpointKind::Snapshot(k) => format!("snapshot-{k}.safetensors"),
        }
    }
}

/// What a checkpoint says about its model, beyond the weights.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRecord {
    /// The zoo name (`"lenet5"`).
    pub name: String,
    pub spec: ModelSpec,
    /// The dataset it was trained on (`"mnist"`), or [`IMPORTED`].
    pub dataset: String,
    pub class_names: Vec<String>,
    pub normalize: Normalize,
}

/// The part of the metadata's `config` that this crate types.
#[derive(Serialize, Deserialize)]
struct ModelConfig {
    spec: ModelSpec,
    dataset: String,
}

/// Everything [`save`] writes besides the record and the weights.
#[derive(Default)]
pub struct SaveOptions<'a> {
    pub epoch: usize,
    /// The epoch's results, recorded in the metadata.
    pub metrics: Option<&'a EpochMetrics>,
    /// The run's identity.
    pub run_id: Option<&'a str>,
    /// The state to continue the run from, with the optimiser.
    pub run: Option<(&'a RunState, &'a dyn Optimizer)>,
}

fn metrics_map(m: &EpochMetrics) -> BTreeMap<String, f64> {
    let mut map = BTreeMap::from([
        ("train_loss".to_string(), m.train_loss),
        ("train_accuracy".to_string(), m.train_accuracy),
    ]);
    for (prefix, cells) in [("val", m.validation), ("test", m.test)] {
        if let Some((loss, accuracy)) = cells {
            map.insert(format!("{prefix}_loss"), loss);
            map.insert(format!("{prefix}_accuracy"), accuracy);
        }
    }
    map
}

/// Writes `model` with `record` and `options` to `path`, atomically and durably.
///
/// # Errors
/// [`Error::Nn`] wrapping the I/O error that names the path; the previous file stays intact.
pub fn save(
    path: &Path,
    model: &dyn Module,
    record: &ModelRecord,
    options: &SaveOptions,
) -> Result<()> {
    let config = ModelConfig {
        spec: record.spec.clone(),
        dataset: record.dataset.clone(),
    };
    let meta = CheckpointMeta {
        config: serde_json::to_value(config).expect("a model config serialises"),
        class_names: record.class_names.clone(),
        normalization: Normalization {
            mean: record.normalize.mean.clone(),
            std: record.normalize.std.clone(),
        },
        epoch: options.epoch,
        metrics: options.metrics.map(metrics_map).unwrap_or_default(),
        run_id: options.run_id.map(str::to_string),
        run_state: options
            .run
            .map(|(state, _)| serde_json::to_value(state).expect("a run state serialises")),
        ..CheckpointMeta::new(record.name.as_str())
    };
    let optimizer = options.run.map(|(_, optimizer)| optimizer);
    checkpoint::save(path, model, &meta, optimizer)?;
    Ok(())
}

/// A model rebuilt from a checkpoint, with its weights loaded.
pub struct LoadedModel {
    pub model: Box<dyn Module>,
    pub record: ModelRecord,
    /// The checkpoint as read (metadata, run state, optimiser tensors).
    pub checkpoint: Checkpoint,
}

/// Reads the model record of a checkpoint's metadata. An empty normalisation (no normalisation
/// applied) becomes the identity, mean 0 and std 1 per input channel.
///
/// # Errors
/// [`Error::Format`] naming the path when the metadata holds no valid model spec or dataset, or a
/// spec above convkit's limits.
pub fn model_record(path: &Path, meta: &CheckpointMeta) -> Result<ModelRecord> {
    let format = |msg: String| Error::Format {
        path: path.to_path_buf(),
        msg,
    };
    let config: ModelConfig = serde_json::from_value(meta.config.clone()).map_err(|e| {
        format(format!(
            "the metadata holds no valid model spec and dataset: {e}"
        ))
    })?;
    // The spec's sizes are checked before anything is allocated for them.
    config.spec.check().map_err(|e| format(e.to_string()))?;
    let channels = config.spec.in_channels;
    let Normalization { mean, std } = &meta.normalization;
    let normalize = if mean.is_empty() && std.is_empty() {
        Normalize {
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        }
    } else {
        Normalize {
            mean: mean.clone(),
            std: std.clone(),
        }
    };
    Ok(ModelRecord {
        name: meta.model.clone(),
        spec: config.spec,
        dataset: config.dataset,
        class_names: meta.class_names.clone(),
        normalize,
    })
}

/// Reads a checkpoint, rebuilds its model by name and loads the weights, checking every name and
/// shape.
///
/// # Errors
/// A missing, truncated or corrupt file; metadata that doesn't describe a known model; tensors
/// that don't fit the model (each mismatch listed); a normalisation that does not give one finite
/// mean and one positive std per input channel.
pub fn load_model(path: &Path) -> Result<LoadedModel> {
    let checkpoint = Checkpoint::load(path)?;
    let record = model_record(path, checkpoint.meta())?;
    let model =
        build_model(&record.name, &record.spec, &mut seeded_rng(0)).map_err(|e| Error::Format {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })?;
    checkpoint.load_into(model.as_ref())?;
    check_normalize(path, &record)?;
    Ok(LoadedModel {
        model,
        record,
        checkpoint,
    })
}

/// Checks that a record's normalisation gives one finite mean and one positive std per input
/// channel (what evaluating and predicting index).
fn check_normalize(path: &Path, record: &ModelRecord) -> Result<()> {
    let Normalize { mean, std } = &record.normalize;
    let channels = record.spec.in_channels;
    let fits = mean.len() == channels
        && std.len() == channels
        && mean.iter().all(|m| m.is_finite())
        && std.iter().all(|s| s.is_finite() && *s > 0.0);
    if fits {
        return Ok(());
    }
    Err(Error::Format {
        path: path.to_path_buf(),
        msg: format!(
            "the normalisation (mean {mean:?}, std {std:?}) does not give one finite mean and one positive std for each of the model's {channels} input channels"
        ),
    })
}

/// The run folder of `path`: `path` itself if it is a folder, else the folder holding it.
pub fn run_folder(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.to_path_buf()
    } else {
        match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}
