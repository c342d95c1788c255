//! Saving a trained model with everything `eval` and `predict` need, and rebuilding it from disk.
use crate::metrics_log::EpochMetrics;
use anyhow::Context;
use convkit_data::Normalize;
use convkit_models::{build_model, ModelSpec};
use convkit_nn::checkpoint::{self, Checkpoint, CheckpointMeta, Normalization};
use convkit_nn::optim::Optimizer;
use convkit_nn::Module;
use convkit_tensor::seeded_rng;
use std::collections::BTreeMap;
use std::path::Path;

/// A model being trained, with what a checkpoint records about it.
pub struct TrainedModel<'a> {
    pub model: &'a dyn Module,
    pub model_name: &'a str,
    pub spec: &'a ModelSpec,
    pub dataset: &'a str,
    pub class_names: &'a [String],
    pub normalize: &'a Normalize,
}

/// Writes the checkpoint (atomically, through a temporary file) with the epoch's metrics (none for
/// a mid-epoch snapshot) and the optimiser state (when given) beside it.
pub fn save_checkpoint(
    path: &Path,
    trained: &TrainedModel,
    epoch: usize,
    metrics: Option<&EpochMetrics>,
    optimizer: Option<&dyn Optimizer>,
) -> anyhow::Result<()> {
    let mut meta = CheckpointMeta::new(trained.model_name);
    meta.config = serde_json::json!({ "spec": trained.spec, "dataset": trained.dataset });
    meta.class_names = trained.class_names.to_vec();
    meta.normalization = Normalization {
        mean: trained.normalize.mean.clone(),
        std: trained.normalize.std.clone(),
    };
    meta.epoch = epoch;
    if let Some(m) = metrics {
        meta.metrics = BTreeMap::from([
            ("train_loss".to_string(), m.train_loss),
            ("train_accuracy".to_string(), m.train_accuracy),
        ]);
        for (prefix, cells) in [("val", m.validation), ("test", m.test)] {
            if let Some((loss, accuracy)) = cells {
                meta.metrics.insert(format!("{prefix}_loss"), loss);
                meta.metrics.insert(format!("{prefix}_accuracy"), accuracy);
            }
        }
    }
    checkpoint::save(path, trained.model, &meta, optimizer)
        .with_context(|| format!("saving checkpoint {}", path.display()))
}

/// A model rebuilt from a checkpoint, with its weights loaded.
pub struct LoadedModel {
    pub model: Box<dyn Module>,
    pub model_name: String,
    pub spec: ModelSpec,
    pub dataset: String,
    pub class_names: Vec<String>,
    pub normalize: Normalize,
}

/// Reads a checkpoint, rebuilds its model by name and loads the weights, checking every name and shape.
///
/// # Errors
/// A missing, truncated or corrupt file; metadata that doesn't describe a known model; tensors that
/// don't fit the model (each mismatch listed).
pub fn load_checkpoint(path: &Path) -> anyhow::Result<LoadedModel> {
    let ckpt = Checkpoint::load(path)?;
    let meta = ckpt.meta();
    let spec: ModelSpec = serde_json::from_value(meta.config["spec"].clone())
        .with_context(|| format!("{}: the metadata holds no valid model spec", path.display()))?;
    let dataset = meta.config["dataset"]
        .as_str()
        .with_context(|| format!("{}: the metadata names no dataset", path.display()))?
        .to_string();
    let model = build_model(&meta.model, &spec, &mut seeded_rng(0))
        .with_context(|| format!("{}", path.display()))?;
    ckpt.load_into(model.as_ref())?;
    let normalize = Normalize {
        mean: meta.normalization.mean.clone(),
        std: meta.normalization.std.clone(),
    };
    Ok(LoadedModel {
        model,
        model_name: meta.model.clone(),
        spec,
        dataset,
        class_names: meta.class_names.clone(),
        normalize,
    })
}
