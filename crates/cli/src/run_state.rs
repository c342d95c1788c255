//! What `convkit train --resume` needs to continue a run exactly, saved in the run folder after
//! every epoch as one file, `resume.safetensors` (written to a temporary file and renamed, so the
//! last good state survives a crash at any point): the model's tensors (`model.<name>`), the
//! optimiser state (`optimizer.<name>`) and, in the metadata, the run's arguments, the epochs
//! completed, the schedule position, the early-stopping state and the metrics so far. Data order,
//! augmentation, mixup and dropout draw from generators derived from the seed and the epoch
//! number, so they need no state of their own.
use crate::commands::train::TrainArgs;
use crate::early_stopping::EarlyStopping;
use crate::metrics_log::EpochMetrics;
use anyhow::{bail, Context};
use convkit_nn::io::{read_safetensors, write_safetensors};
use convkit_nn::optim::Optimizer;
use convkit_nn::schedule::SchedulerState;
use convkit_nn::{checkpoint, Module};
use convkit_tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The file in a run folder that `--resume` reads.
pub const RESUME_FILE: &str = "resume.safetensors";
const METADATA_KEY: &str = "convkit_resume";
pub const FORMAT_VERSION: u32 = 1;
const MODEL_PREFIX: &str = "model.";
const OPTIMIZER_PREFIX: &str = "optimizer.";

/// Options that may differ when a run is resumed: they don't change what the finished epochs
/// computed (`--epochs` may be raised to train a finished run further).
const CHANGEABLE: [&str; 5] = ["epochs", "stop_after", "workers", "data_dir", "out_dir"];

/// The metadata part of the state.
#[derive(Serialize, Deserialize)]
pub struct RunState {
    pub format_version: u32,
    pub args: TrainArgs,
    /// Epochs completed.
    pub epoch: usize,
    pub scheduler: Option<SchedulerState>,
    pub stopping: EarlyStopping,
    /// One row per completed epoch.
    pub history: Vec<EpochMetrics>,
    /// Early stopping ended the run.
    pub stopped_early: bool,
}

/// Writes the state of `dir`'s run after an epoch.
pub fn save(
    dir: &Path,
    state: &RunState,
    model: &dyn Module,
    optimizer: &dyn Optimizer,
) -> anyhow::Result<()> {
    let prefixed = |prefix: &str, tensors: Vec<(String, Tensor)>| {
        tensors
            .into_iter()
            .map(move |(name, t)| (format!("{prefix}{name}"), t))
            .collect::<Vec<_>>()
    };
    let mut tensors = prefixed(MODEL_PREFIX, model.named_tensors());
    tensors.extend(prefixed(OPTIMIZER_PREFIX, optimizer.state()));
    let json = serde_json::to_string(state).context("serialising the run state")?;
    let path = dir.join(RESUME_FILE);
    write_safetensors(
        &path,
        &tensors,
        HashMap::from([(METADATA_KEY.into(), json)]),
    )
    .with_context(|| format!("saving the run state {}", path.display()))
}

/// A run state read back from disk.
pub struct SavedRun {
    /// The run folder.
    pub dir: PathBuf,
    pub state: RunState,
    path: PathBuf,
    tensors: Vec<(String, Tensor)>,
}

impl SavedRun {
    /// Reads the state of the run in `path`: a run folder, its `resume.safetensors`, or any
    /// checkpoint inside it (`best.safetensors`: the run continues from its last epoch all the same).
    ///
    /// # Errors
    /// No state file (not a run folder of this version), a corrupt one, or one from a newer version.
    pub fn load(path: &Path) -> anyhow::Result<SavedRun> {
        let dir = if path.is_dir() {
            path.to_path_buf()
        } else {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        };
        let file_path = dir.join(RESUME_FILE);
        if !file_path.is_file() {
            bail!(
                "cannot resume from {}: {} holds no {RESUME_FILE} (not a run folder of `convkit train`, or no epoch finished yet)",
                path.display(),
                dir.display()
            );
        }
        let file = read_safetensors(&file_path)?;
        let json = file
            .metadata
            .get(METADATA_KEY)
            .with_context(|| format!("{}: no run state in the metadata", file_path.display()))?;
        let state: RunState = serde_json::from_str(json)
            .with_context(|| format!("{}: unreadable run state", file_path.display()))?;
        if state.format_version > FORMAT_VERSION {
            bail!(
                "{}: run state format {} is newer than this build reads ({FORMAT_VERSION})",
                file_path.display(),
                state.format_version
            );
        }
        Ok(SavedRun {
            dir,
            state,
            path: file_path,
            tensors: file.tensors,
        })
    }

    fn part(&self, prefix: &str) -> Vec<(String, Tensor)> {
        self.tensors
            .iter()
            .filter_map(|(name, t)| Some((name.strip_prefix(prefix)?.to_string(), t.clone())))
            .collect()
    }

    /// Loads the saved weights into `model`.
    ///
    /// # Errors
    /// Tensors that don't fit the model, each listed.
    pub fn restore_model(&self, model: &dyn Module) -> anyhow::Result<()> {
        let source = self.path.display().to_string();
        checkpoint::load_state_dict(model, &self.part(MODEL_PREFIX), &source)?;
        Ok(())
    }

    /// Loads the saved optimiser state into `optimizer`.
    ///
    /// # Errors
    /// State that doesn't fit the optimiser.
    pub fn restore_optimizer(&self, optimizer: &mut dyn Optimizer) -> anyhow::Result<()> {
        optimizer
            .load_state(&self.part(OPTIMIZER_PREFIX))
            .with_context(|| format!("restoring the optimiser from {}", self.path.display()))
    }

    /// The arguments of the resumed run: the saved ones, with the [`CHANGEABLE`] options taken
    /// from `given` where the command line set them (`explicit` lists the options it set).
    ///
    /// # Errors
    /// An option set on the command line to another value than the run was started with.
    pub fn resumed_args(
        &self,
        given: &TrainArgs,
        explicit: &[String],
    ) -> anyhow::Result<TrainArgs> {
        let mut merged = serde_json::to_value(&self.state.args)?;
        let given_json = serde_json::to_value(given)?;
        for id in explicit {
            let (Some(new), Some(old)) = (given_json.get(id), merged.get(id)) else {
                continue; // --resume, --stop-after: not part of the saved arguments
            };
            if CHANGEABLE.contains(&id.as_str()) {
                merged[id] = new.clone();
            } else if new != old {
                bail!(
                    "--{} {} does not match the run being resumed ({} was started with --{} {}); leave it out, or start a new run",
                    id.replace('_', "-"),
                    new,
                    self.dir.display(),
                    id.replace('_', "-"),
                    old
                );
            }
        }
        let mut args: TrainArgs = serde_json::from_value(merged)?;
        args.resume = given.resume.clone();
        args.stop_after = given.stop_after;
        Ok(args)
    }
}
