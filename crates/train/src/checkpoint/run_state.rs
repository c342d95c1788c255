//! The state that continues a run exactly, kept in the metadata of `last.safetensors` (the
//! optimiser's tensors are in the same file). Data order, augmentation, mixup and dropout draw
//! from generators derived from the seed and the epoch number, so they need no state of their own.
use super::{run_folder, CheckpointKind};
use crate::config::TrainConfig;
use crate::early_stopping::EarlyStopping;
use crate::error::{Error, Result};
use crate::metrics::EpochMetrics;
use convkit_nn::checkpoint::Checkpoint;
use convkit_nn::schedule::SchedulerState;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The run-state file of format 1, which `--resume` read before checkpoints held the state.
const LEGACY_RESUME_FILE: &str = "resume.safetensors";

/// Where a run stands after a finished epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunState {
    /// The run's configuration (after its recipe).
    pub config: TrainConfig,
    /// Epochs completed.
    pub epoch: usize,
    pub scheduler: Option<SchedulerState>,
    pub stopping: EarlyStopping,
    /// One row per completed epoch.
    pub history: Vec<EpochMetrics>,
    /// Early stopping ended the run.
    pub stopped_early: bool,
    /// Snapshots saved so far.
    pub snapshots: usize,
}

/// A run read back from its folder.
pub struct SavedRun {
    /// The run folder.
    pub dir: PathBuf,
    pub run_id: String,
    pub state: RunState,
    /// `last.safetensors`, read: weights and optimiser tensors.
    pub checkpoint: Checkpoint,
}

impl SavedRun {
    /// Reads the run that `path` names: a run folder, or any checkpoint inside one (the run
    /// continues from its `last.safetensors` all the same).
    ///
    /// # Errors
    /// A folder where no epoch finished, a folder of the previous format, a corrupt file, a file
    /// without run state, or a checkpoint of another run than the folder's.
    pub fn load(path: &Path) -> Result<SavedRun> {
        let dir = run_folder(path);
        let last = dir.join(CheckpointKind::Last.file_name());
        if !last.is_file() {
            return Err(Error::Resume(missing_state_message(path, &dir)));
        }
        let checkpoint = Checkpoint::load(&last)?;
        let meta = checkpoint.meta();
        let no_state = || {
            Error::Resume(if dir.join(LEGACY_RESUME_FILE).is_file() {
                legacy_message(path, &dir)
            } else {
                format!(
                    "{}: holds no run state (it was saved for inference only); nothing to resume",
                    last.display()
                )
            })
        };
        let run_id = meta.run_id.clone().ok_or_else(no_state)?;
        let json = meta.run_state.clone().ok_or_else(no_state)?;
        let state: RunState = serde_json::from_value(json).map_err(|e| Error::Format {
            path: last.clone(),
            msg: format!("unreadable run state: {e}"),
        })?;
        if path.is_file() && path != last {
            let given = Checkpoint::load(path)?;
            if given.meta().run_id.as_deref() != Some(run_id.as_str()) {
                return Err(Error::Resume(format!(
                    "{} belongs to run {}, but its folder holds run {run_id}: refusing to mix two runs",
                    path.display(),
                    given.meta().run_id.as_deref().unwrap_or("(none)")
                )));
            }
        }
        Ok(SavedRun {
            dir,
            run_id,
            state,
            checkpoint,
        })
    }
}

/// Why `dir` (named by the user as `path`) has nothing to resume, and what to do instead.
fn missing_state_message(path: &Path, dir: &Path) -> String {
    let (shown, folder) = (path.display(), dir.display());
    if dir.join(LEGACY_RESUME_FILE).is_file() {
        legacy_message(path, dir)
    } else if dir.join("config.toml").is_file() {
        format!(
            "cannot resume from {shown}: no epoch of the run in {folder} finished, so there is nothing to continue; start it again with: convkit train --config {folder}/config.toml"
        )
    } else if is_empty_but_for_temporaries(dir) {
        format!(
            "cannot resume from {shown}: no epoch of the run in {folder} finished (it was stopped while starting, before it wrote its config.toml), so there is nothing to continue; start it again with the same options"
        )
    } else {
        format!(
            "cannot resume from {shown}: {folder} is not a run folder of `convkit train` (it holds no last.safetensors)"
        )
    }
}

/// Whether `dir` holds nothing but the temporary files of interrupted saves.
fn is_empty_but_for_temporaries(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .all(|e| e.path().extension().is_some_and(|x| x == "tmp"))
    })
}

/// What to say of a run folder of the previous format (its state in `resume.safetensors`).
fn legacy_message(path: &Path, dir: &Path) -> String {
    let (shown, folder) = (path.display(), dir.display());
    format!(
        "cannot resume from {shown}: {folder} is a run folder of convkit's previous checkpoint format (format 1, with {LEGACY_RESUME_FILE}); this version cannot continue it. Its checkpoints still load for eval, predict and export; to go on training from its weights, start a new run with --init-from {folder}/last.safetensors"
    )
}
