//! Checkpoints: a module's state_dict in a safetensors file, with JSON metadata, and the optimiser
//! state in a sibling file.
//!
//! `PATH` (e.g. `lenet.safetensors`) holds every parameter and buffer under its PyTorch name (f32)
//! and the safetensors `__metadata__` entry `{"convkit": "<JSON of CheckpointMeta>"}`. The optimiser
//! state, when saved, goes to `PATH` with the extension `.optim.safetensors` (`lenet.optim.safetensors`),
//! under the names of [`Optimizer::state`]. Every file is written to a temporary file beside it and
//! renamed into place, so a crash never destroys the last good checkpoint. The optimiser file is
//! renamed first: a crash between the two renames leaves a new optimiser state beside the old model,
//! which [`Checkpoint::load_optimizer`] accepts as long as the parameters' shapes agree.
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
pub const FORMAT_VERSION: u32 = 1;
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
        }
    }
}

/// `PATH` with the extension `.optim.safetensors`: where [`save`] puts the optimiser state.
pub fn optimizer_path(path: &Path) -> PathBuf {
    path.with_extension("optim.safetensors")
}

/// Saves `module`'s state_dict and `meta` to `path`, and the optimiser state (if given) to
/// [`optimizer_path`]`(path)`, each written atomically.
///
/// # Errors
/// [`Error::Io`] naming the file that could not be written; the previous files stay intact.
pub fn save(
    path: impl AsRef<Path>,
    module: &dyn Module,
    meta: &CheckpointMeta,
    optimizer: Option<&dyn Optimizer>,
) -> Result<()> {
    let path = path.as_ref();
    if let Some(optimizer) = optimizer {
        write_safetensors(&optimizer_path(path), &optimizer.state(), HashMap::new())?;
    }
    let json = serde_json::to_string(meta).expect("metadata serialises to JSON");
    write_safetensors(
        path,
        &module.named_tensors(),
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
        Ok(Checkpoint {
            path,
            meta,
            tensors: file.tensors,
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

    /// Reads the sibling optimiser file and restores `optimizer`'s state from it.
    ///
    /// # Errors
    /// [`Error::Io`] when the file is absent or unreadable, [`Error::Format`] when corrupt,
    /// [`Error::StateMismatch`] when it does not fit the optimiser.
    pub fn load_optimizer(&self, optimizer: &mut dyn Optimizer) -> Result<()> {
        let path = optimizer_path(&self.path);
        let file = read_safetensors(&path)?;
        optimizer.load_state(&file.tensors).map_err(|e| match e {
            Error::StateMismatch {
                target, problems, ..
            } => Error::StateMismatch {
                source_name: path.display().to_string(),
                target,
                problems,
            },
            other => other,
        })
    }
}
