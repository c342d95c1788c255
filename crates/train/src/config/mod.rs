//! [`TrainConfig`]: everything a training run is, as one plain serde struct with defaults,
//! validation that names the field, and TOML in and out. Options left `None` are filled by the
//! dataset's recipe ([`crate::recipe`]) or take the documented default when the run starts.
mod adversarial;
mod data;
mod diff;
mod finetune;
mod optim;
mod schedule;
mod toml_io;
mod whitening;

pub use adversarial::{AdversarialConfig, AdversarialMethod};
pub use data::DataConfig;
pub use diff::differences;
pub use finetune::FinetuneConfig;
pub use optim::{ClipConfig, OptimizerConfig, OptimizerName, ParamGroupConfig};
pub use schedule::{AnnealName, CyclicModeName, IntervalName, ScheduleConfig, ScheduleName};
pub use whitening::WhiteningConfig;

use crate::error::{Error, Result};
use convkit_data::transforms::Tta;
use convkit_models::model_names;
use convkit_nn::reinit::Scheme;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The batch size when neither the configuration nor the dataset's recipe sets one.
pub const DEFAULT_BATCH_SIZE: usize = 64;

/// A training run: model, data, optimisation, schedule and what to save, all in one place.
/// `convkit train` fills it from flags (or `--config FILE.toml`), and every run folder holds the
/// `config.toml` that repeats the run exactly.
///
/// ```
/// use convkit_train::TrainConfig;
/// let config = TrainConfig { epochs: 2, ..TrainConfig::default() };
/// config.validate().unwrap();
/// let text = config.to_toml().unwrap();
/// assert_eq!(TrainConfig::from_toml(&text).unwrap(), config);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// The zoo model's name (`convkit summary --list`); its input and classes follow the dataset.
    pub model: String,
    pub epochs: usize,
    /// Images per step [default: the dataset recipe's, else 64].
    pub batch_size: Option<usize>,
    /// Seed of initialisation, data order, augmentation and dropout: the same seed and thread
    /// count give the same run, bit for bit.
    pub seed: u64,
    /// Stop when the selection accuracy (validation, else test) has not improved for this many
    /// epochs.
    pub early_stop: Option<usize>,
    /// Snapshot ensemble (Huang et al.): this many cycles of cosine annealing restarted at the
    /// learning rate, saving `snapshot-<k>.safetensors` at the end of each.
    pub snapshots: Option<usize>,
    /// Start from these weights (a PyTorch state_dict, `.pth` or safetensors) instead of a fresh
    /// initialisation.
    pub init_from: Option<PathBuf>,
    /// Redraw every conv and linear weight from one of the course's initialisations (biases
    /// zeroed) instead of each layer's own default.
    pub weight_init: Option<Scheme>,
    /// Start every residual block of a ResNet as its shortcut: the weight of its last batch norm
    /// zeroed (torchvision's `zero_init_residual`).
    pub zero_init_residual: bool,
    /// Where run folders go; each run gets a new folder inside.
    pub out_dir: PathBuf,
    /// The run folder's name inside `out_dir` [default: `<model>-<dataset>`, with `-2`, `-3`, ...
    /// when taken].
    pub run_name: Option<String>,
    /// Evaluate on the test set after every epoch (hyper-parameter searches turn it off).
    pub evaluate_test: bool,
    pub data: DataConfig,
    pub optimizer: OptimizerConfig,
    pub schedule: ScheduleConfig,
    pub clip: ClipConfig,
    pub checkpoint: CheckpointPolicy,
    /// Train on adversarial examples (needs `convkit_attack::AdversarialStep` as the step).
    pub adversarial: Option<AdversarialConfig>,
    /// Fine-tune pretrained weights with a new head (see [`FinetuneConfig`]).
    pub finetune: Option<FinetuneConfig>,
    /// Initialise a first convolution from the training images' patches (see
    /// [`WhiteningConfig`]); a fresh run only.
    pub whitening: Option<WhiteningConfig>,
    /// Test-time augmentation of a last evaluation of the test set when the run ends (the
    /// evaluations after each epoch stay plain).
    pub tta: TtaName,
}

/// Which views of the test images the final evaluation averages (`convkit_data::transforms::Tta`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TtaName {
    /// No final evaluation besides the last epoch's.
    #[default]
    None,
    /// The images and their mirror images.
    Mirror,
    /// airbench's: mirror, and mirrored 1-pixel translations.
    MirrorTranslate,
}

impl TtaName {
    /// The augmentation it names.
    pub fn tta(self) -> Tta {
        match self {
            TtaName::None => Tta::None,
            TtaName::Mirror => Tta::Mirror,
            TtaName::MirrorTranslate => Tta::MirrorTranslate,
        }
    }
}

/// Which checkpoints a run writes besides `last.safetensors` (written after every epoch: it holds
/// the state that `--resume` continues from).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckpointPolicy {
    /// Keep `best.safetensors`: the epoch with the best selection accuracy.
    pub best: bool,
    /// Also keep `epoch-<k>.safetensors` every this many epochs.
    pub every: Option<usize>,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy {
            best: true,
            every: None,
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: "lenet5".into(),
            epochs: 1,
            batch_size: None,
            seed: 42,
            early_stop: None,
            snapshots: None,
            init_from: None,
            weight_init: None,
            zero_init_residual: false,
            out_dir: PathBuf::from("runs"),
            run_name: None,
            evaluate_test: true,
            data: DataConfig::default(),
            optimizer: OptimizerConfig::default(),
            schedule: ScheduleConfig::default(),
            clip: ClipConfig::default(),
            checkpoint: CheckpointPolicy::default(),
            adversarial: None,
            finetune: None,
            whitening: None,
            tta: TtaName::None,
        }
    }
}

impl TrainConfig {
    /// Whether the run is a linear probe (`finetune.linear_probe`).
    pub fn is_linear_probe(&self) -> bool {
        self.finetune.as_ref().is_some_and(|f| f.linear_probe)
    }

    /// The fine-tuning options against the rest of the run.
    fn validate_finetune(&self, finetune: &FinetuneConfig) -> Result<()> {
        finetune.validate(self.epochs)?;
        if self.init_from.is_some() {
            return Err(Error::config(
                "init_from",
                "a fine-tuning run starts from finetune.from: leave init_from out",
            ));
        }
        if finetune.linear_probe {
            let probe =
                "a linear probe computes the body's features once, without augmentation, mixup or label smoothing";
            if !matches!(self.data.augment.as_deref(), None | Some("none")) {
                return Err(Error::config("data.augment", format!("{probe}: use none")));
            }
            if self.data.mixup.is_some() {
                return Err(Error::config("data.mixup", probe));
            }
            if self.data.label_smoothing.is_some() {
                return Err(Error::config("data.label_smoothing", probe));
            }
            if self.adversarial.is_some() {
                return Err(Error::config(
                    "adversarial",
                    format!("{probe}: it cannot train on adversarial examples"),
                ));
            }
        }
        Ok(())
    }

    /// The batch size the run uses.
    pub fn batch_size(&self) -> usize {
        self.batch_size.unwrap_or(DEFAULT_BATCH_SIZE)
    }

    /// Checks every value that can be checked before data is loaded.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first field (dotted, as in `config.toml`) that cannot work.
    pub fn validate(&self) -> Result<()> {
        let names = model_names();
        if !names.contains(&self.model.as_str()) {
            return Err(Error::config(
                "model",
                format!(
                    "unknown model '{}' (available: {})",
                    self.model,
                    names.join(", ")
                ),
            ));
        }
        let at_least_one = |field: &str, value: Option<usize>| match value {
            Some(0) => Err(Error::config(field, "must be at least 1")),
            _ => Ok(()),
        };
        at_least_one("epochs", Some(self.epochs))?;
        at_least_one("batch_size", self.batch_size)?;
        at_least_one("early_stop", self.early_stop)?;
        at_least_one("checkpoint.every", self.checkpoint.every)?;
        if let Some(cycles) = self.snapshots {
            if cycles == 0 || !self.epochs.is_multiple_of(cycles) {
                return Err(Error::config(
                    "snapshots",
                    format!(
                        "{cycles} cycles: epochs ({}) must be a positive multiple of the number of cycles",
                        self.epochs
                    ),
                ));
            }
        }
        if self.weight_init.is_some() && self.init_from.is_some() {
            return Err(Error::config(
                "weight_init",
                "cannot be combined with init_from (the weights would be overwritten); give one of them",
            ));
        }
        if self.zero_init_residual && (self.init_from.is_some() || self.finetune.is_some()) {
            return Err(Error::config(
                "zero_init_residual",
                "initialises a fresh model: imported or pretrained weights would be changed",
            ));
        }
        if let Some(whitening) = &self.whitening {
            whitening.validate()?;
            if self.init_from.is_some() || self.finetune.is_some() {
                return Err(Error::config(
                    "whitening",
                    "initialises a fresh model: imported or pretrained weights have their own first layer",
                ));
            }
        }
        self.data.validate()?;
        self.optimizer.validate()?;
        self.schedule.validate(self.snapshots.is_some())?;
        if let Some(adversarial) = &self.adversarial {
            adversarial.validate()?;
        }
        if let Some(finetune) = &self.finetune {
            self.validate_finetune(finetune)?;
        }
        self.clip.validate()
    }
}
