//! Checkpoints: one file holding a module's state_dict under its PyTorch names, typed metadata and,
//! when the run can be continued, the optimiser state and the run's own state.
//!
//! `PATH` (e.g. `lenet.safetensors`) holds every parameter and buffer under its PyTorch name (f32),
//! the optimiser state (when saved) under `optimizer.<name of Optimizer::state>`, and the safetensors
//! `__metadata__` entry `{"convkit": "<JSON of CheckpointMeta>"}`. The file is written to a
//! temporary file beside it, synced, renamed into place and the folder synced, so a crash never
//! destroys the last good checkpoint. Files of format 1 (optimiser state in a sibling
//! `PATH.optim.safetensors`) are still read.
//!
//! ```no_run
//! use convkit_nn::checkpoint::{self, Checkpoint, CheckpointMeta};
//! # fn demo(model: &dyn convkit_nn::Module, opt: &mut dyn convkit_nn::optim::Optimizer) -> convkit_nn::Result<()> {
//! let meta = CheckpointMeta { epoch: 3, ..CheckpointMeta::new("lenet5") };
//! checkpoint::save("lenet.safetensors", model, &meta, Some(&*opt))?;
//! let ckpt = Checkpoint::load("lenet.safetensors")?;
//! ckpt.load_into(model)?;
//! ckpt.load_optimizer(opt)?;
//! # Ok(()) }
//! ```
use crate::error::{Error, Result, StateProblem};
use crate::io::{read_safetensors, write_safetensors};
use crate::module::Module;
use crate::optim::Optimizer;
use convkit_tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The version of the checkpoint layout this crate writes; it reads this one and older.
pub const FORMAT_VERSION: u32 = 2;
/// The prefix of the optimiser's tensors inside a checkpoint (format 2 and later).
pub const OPTIMIZER_PREFIX: &str = "optimizer.";
/// The `__metadata__` key holding the JSON of [`CheckpointMeta`].
pub const METADATA_KEY: &str = "convkit";

/// Per-channel input normalisation, `x' = (x − mean) / std` (empty when none is applied).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

/// What a checkpoint records besides tensors: enough to rebuild the model and use it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub format_version: u32,
    /// The model's name in the zoo (`"lenet5"`).
    pub model: String,
    /// The model's constructor settings, as the model crate serialises them.
    pub config: serde_json::Value,
    pub class_names: Vec<String>,
    pub normalization: Normalization,
    /// Epochs completed.
    pub epoch: usize,
    /// Named results at this epoch (`"val_accuracy"`, `"train_loss"`, ...).
    pub metrics: BTreeMap<String, f64>,
    /// The identity of the training run that wrote the file, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// What a training run needs to continue from this file (interpreted by the training crate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_state: Option<serde_json::Value>,
}

impl CheckpointMeta {
    /// Metadata for `model` at the current format version, everything else empty.
    pub fn new(model: impl Into<String>) -> CheckpointMeta {
        CheckpointMeta {
            format_version: FORMAT_VERSION,
            model: model.into(),
            config: serde_json::Value::Null,
            class_names: Vec::new(),
            normalization: Normalization::default(),
            epoch: 0,
            metrics: BTreeMap::new(),
            run_id: None,
            run_state: None,
        }
    }
}

/// `PATH` with the extension `.optim.safetensors`: where format 1 put the optimiser state.
pub fn optimizer_path(path: &Path) -> PathBuf {
    path.with_extension("optim.safetensors")
}

/// Saves `module`'s state_dict, `meta` and the optimiser state (if given) to `path`, atomically
/// and durably.
///
/// # Errors
/// [`Error::Io`] naming the file that could not be written; the previous file stays intact.
pub fn save(
    path: impl AsRef<Path>,
    module: &dyn Module,
    meta: &CheckpointMeta,
    optimizer: Option<&dyn Optimizer>,
) -> Result<()> {
    let mut tensors = module.named_tensors();
    if let Some(optimizer) = optimizer {
        let state = optimizer.state().into_iter();
        tensors.extend(state.map(|(name, t)| (format!("{OPTIMIZER_PREFIX}{name}"), t)));
    }
    let meta = CheckpointMeta {
        format_version: FORMAT_VERSION,
        ..meta.clone()
    };
    let json = serde_json::to_string(&meta).expect("metadata serialises to JSON");
    write_safetensors(
        path.as_ref(),
        &tensors,
        HashMap::from([(METADATA_KEY.to_string(), json)]),
    )
}

/// Copies `tensors` into `module`'s parameters and buffers after checking that the names and shapes
/// match exactly; nothing is written unless everything matches. `source` names where the tensors
/// came from in the error (a path, say). Also loads PyTorch state_dicts converted to safetensors.
///
/// # Errors
/// [`Error::StateMismatch`] listing every missing tensor, unexpected tensor and shape mismatch.
pub fn load_state_dict(
    module: &dyn Module,
    tensors: &[(String, Tensor)],
    source: &str,
) -> Result<()> {
    let targets = module.named_tensors();
    let shapes = |list: &[(String, Tensor)]| {
        list.iter()
            .map(|(n, t)| (n.clone(), t.dims().to_vec()))
            .collect::<Vec<_>>()
    };
    let problems = StateProblem::compare(&shapes(&targets), &shapes(tensors));
    if !problems.is_empty() {
        return Err(Error::StateMismatch {
            source_name: source.to_string(),
            target: "the model".into(),
            problems,
        });
    }
    for (name, target) in &targets {
        let (_, value) = tensors
            .iter()
            .find(|(n, _)| n == name)
            .expect("checked above");
        target.data_mut().copy_from_slice(&value.data());
    }
    Ok(())
}

/// A checkpoint read from disk: its metadata and tensors.
pub struct Checkpoint {
    path: PathBuf,
    meta: CheckpointMeta,
    tensors: Vec<(String, Tensor)>,
    /// The optimiser's tensors (format 2; empty when none was saved or for format 1).
    optimizer: Vec<(String, Tensor)>,
}

impl Checkpoint {
    /// Reads the checkpoint at `path` (not the optimiser file; see [`Checkpoint::load_optimizer`]).
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be read; [`Error::Format`] naming the path when it is truncated or
    /// corrupt, lacks convkit metadata, or has a newer format version.
    pub fn load(path: impl AsRef<Path>) -> Result<Checkpoint> {
        let path = path.as_ref().to_path_buf();
        let file = read_safetensors(&path)?;
        let format = |msg: String| Error::Format {
            path: path.clone(),
            msg,
        };
        let json = file
            .metadata
            .get(METADATA_KEY)
            .ok_or_else(|| format(format!("no {METADATA_KEY:?} metadata")))?;
        let meta: CheckpointMeta = serde_json::from_str(json)
            .map_err(|e| format(format!("bad {METADATA_KEY:?} metadata: {e}")))?;
        if meta.format_version > FORMAT_VERSION {
            return Err(format(format!(
                "format version {} is newer than this build reads ({FORMAT_VERSION})",
                meta.format_version
            )));
        }
        let (optimizer, tensors): (Vec<_>, Vec<_>) = file
            .tensors
            .into_iter()
            .partition(|(name, _)| name.starts_with(OPTIMIZER_PREFIX));
        let optimizer = optimizer
            .into_iter()
            .map(|(name, t)| (name[OPTIMIZER_PREFIX.len()..].to_string(), t))
            .collect();
        Ok(Checkpoint {
            path,
            meta,
            tensors,
            optimizer,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn meta(&self) -> &CheckpointMeta {
        &self.meta
    }

    /// The state_dict, in file order.
    pub fn tensors(&self) -> &[(String, Tensor)] {
        &self.tensors
    }

    /// Copies the checkpoint's tensors into `module` (see [`load_state_dict`]).
    ///
    /// # Errors
    /// [`Error::StateMismatch`] naming the path and listing every problem.
    pub fn load_into(&self, module: &dyn Module) -> Result<()> {
        load_state_dict(module, &self.tensors, &self.path.display().to_string())
    }

    /// Whether the file holds optimiser state (format 1: whether its sibling file exists).
    pub fn has_optimizer(&self) -> bool {
        !self.optimizer.is_empty()
            || (self.meta.format_version < 2 && optimizer_path(&self.path).is_file())
    }

    /// Restores `optimizer`'s state from the checkpoint (format 1: from the sibling file).
    ///
    /// # Errors
    /// [`Error::Format`] when the checkpoint holds no optimiser state, [`Error::Io`] when a format-1
    /// sibling file is absent or unreadable, [`Error::StateMismatch`] when it does not fit the
    /// optimiser.
    pub fn load_optimizer(&self, optimizer: &mut dyn Optimizer) -> Result<()> {
        let (source, tensors) = if self.meta.format_version < 2 {
            let path = optimizer_path(&self.path);
            (path.clone(), read_safetensors(&path)?.tensors)
        } else if self.optimizer.is_empty() {
            return Err(Error::Format {
                path: self.path.clone(),
                msg: "holds no optimiser state (it was saved for inference only)".into(),
            });
        } else {
            (self.path.clone(), self.optimizer.clone())
        };
        optimizer.load_state(&tensors).map_err(|e| match e {
            Error::StateMismatch {
                target, problems, ..
            } => Error::StateMismatch {
                source_name: source.display().to_string(),
                target,
                problems,
            },
            other => other,
        })
    }
}
