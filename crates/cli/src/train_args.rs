//! The flags that describe a run (`convkit train`, `lr-find`, search trials): each sets one field of a `TrainConfig`, over `--config FILE.toml` when
//! given; flags left out keep the configuration's value (its default, or the dataset's recipe).
use crate::adversarial_args::AdversarialArgs;
use crate::config_flags::{cli_error, names, DATASETS};
use crate::data_args::DataArgs;
use crate::optim_args::{set, OptimArgs};
use clap::builder::PossibleValuesParser;
use clap::Args;
use convkit_attack::{AdversarialStep, RobustAccuracy};
use convkit_nn::reinit::Scheme;
use convkit_train::config::TtaName;
use convkit_train::recipe::{self, Recipe};
use convkit_train::{DatasetName, TrainConfig, Trainer};
use std::path::PathBuf;

#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Start from this configuration (a run folder's config.toml repeats that run exactly); the
    /// flags given override its values.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Start from a named recipe's whole configuration; the flags given override its values.
    /// airbench94: Keller Jordan's CIFAR-10 recipe (the airbench94 model with its first layer
    /// whitened from the training images, batch 1024, Nesterov SGD with BatchNorm biases at 64×
    /// the rate, warm-up then linear decay per step, Lookahead, label smoothing 0.2, reflect-padded
    /// crops and alternating flips, 10 epochs, a final test evaluation with mirror and shift TTA).
    #[arg(long, value_name = "NAME", conflicts_with = "config", value_parser = PossibleValuesParser::new(Recipe::NAMES))]
    pub recipe: Option<String>,
    /// Evaluate the test set once more when the run ends, averaging the logits over mirrored
    /// (mirror) and also 1-pixel shifted (mirror-translate) copies of each image [default: none].
    #[arg(long, value_parser = names::<TtaName>(&["none", "mirror", "mirror-translate"]))]
    pub tta: Option<TtaName>,
    /// Model architecture (`convkit summary --list` shows the zoo) [default: lenet5].
    #[arg(long)]
    pub model: Option<String>,
    /// Dataset to train and test on [default: mnist].
    #[arg(long, value_parser = names::<DatasetName>(DATASETS))]
    pub dataset: Option<DatasetName>,
    /// Folder holding the dataset files (default: the copy embedded in the repo, or the dataset's
    /// usual place); for `--dataset folder`, the image folder.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// [default: 1]
    #[arg(long)]
    pub epochs: Option<usize>,
    /// [default: 64; 128 for CIFAR]
    #[arg(long)]
    pub batch_size: Option<usize>,
    #[command(flatten)]
    pub optim: OptimArgs,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub adversarial: AdversarialArgs,
    /// Seed for initialisation, shuffling and dropout: the same seed and thread count give the
    /// same run [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where run folders go; each run gets a new folder inside [default: runs].
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Stop when validation accuracy (test accuracy without --val-fraction) has not improved for
    /// this many epochs.
    #[arg(long, value_name = "PATIENCE")]
    pub early_stop: Option<usize>,
    /// Train on only the first N training images (quick experiments).
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Start from the weights of a PyTorch state_dict (.pth or safetensors) for the same
    /// architecture and classes instead of a fresh initialisation (see `convkit import --help`).
    #[arg(long, value_name = "FILE")]
    pub init_from: Option<PathBuf>,
    /// Redraw every conv and linear weight from one of the course's initialisations, biases
    /// zeroed: small (0.01·N(0, 1)), xavier (N(0, 1)/√fan_in), kaiming (N(0, 1)·√(2/fan_in))
    /// [default: each layer's own, as in PyTorch].
    #[arg(long, value_enum)]
    pub weight_init: Option<WeightInit>,
    /// Start every residual block of a ResNet as its shortcut, its last batch norm's weight
    /// zeroed (torchvision's zero_init_residual; Goyal et al. 2017).
    #[arg(long)]
    pub zero_init_residual: bool,
    /// Snapshot ensemble (Huang et al.): M cycles of cosine annealing restarted at --lr (per
    /// batch, each cycle a whole number of epochs), saving snapshot-<k>.safetensors at the end of
    /// each; `convkit eval RUN/snapshot-*.safetensors` ensembles them. The cyclic and
    /// warm-restarts schedules save snapshots at their cycle ends without this option.
    #[arg(long, value_name = "M")]
    pub snapshots: Option<usize>,
    /// Also keep epoch-<k>.safetensors every K epochs.
    #[arg(long, value_name = "K")]
    pub checkpoint_every: Option<usize>,
}

impl RunArgs {
    /// Sets the fields of `config` that the flags give.
    pub fn apply(&self, config: &mut TrainConfig) {
        set(&mut config.model, self.model.clone());
        set(&mut config.data.dataset, self.dataset);
        set(&mut config.data.data_dir, self.data_dir.clone().map(Some));
        set(&mut config.epochs, self.epochs);
        set(&mut config.batch_size, self.batch_size.map(Some));
        set(&mut config.seed, self.seed);
        set(&mut config.out_dir, self.out_dir.clone());
        set(&mut config.early_stop, self.early_stop.map(Some));
        set(&mut config.data.train_limit, self.train_limit.map(Some));
        set(&mut config.init_from, self.init_from.clone().map(Some));
        set(
            &mut config.weight_init,
            self.weight_init.map(|w| Some(w.scheme())),
        );
        if self.zero_init_residual {
            config.zero_init_residual = true;
        }
        set(&mut config.snapshots, self.snapshots.map(Some));
        set(&mut config.tta, self.tta);
        set(
            &mut config.checkpoint.every,
            self.checkpoint_every.map(Some),
        );
        self.optim.apply(config);
        self.data.apply(config);
        self.adversarial.apply(config);
    }

    /// The configuration of a fresh run: `--config` (or the defaults), the flags over it, then
    /// the dataset's recipe for the options still unset (printed when `announce`).
    ///
    /// # Errors
    /// A configuration file that cannot be read.
    pub fn fresh_config(&self, announce: bool) -> anyhow::Result<TrainConfig> {
        self.fresh_config_with(announce, |_| {})
    }

    /// [`RunArgs::fresh_config`] with `edit` applied after the flags, before the recipe (a
    /// command's own options).
    ///
    /// # Errors
    /// A configuration file that cannot be read.
    pub fn fresh_config_with(
        &self,
        announce: bool,
        edit: impl FnOnce(&mut TrainConfig),
    ) -> anyhow::Result<TrainConfig> {
        let mut config = match (&self.config, &self.recipe) {
            (Some(path), _) => TrainConfig::load(path)?,
            (None, Some(name)) => Recipe::from_name(name).map_err(cli_error)?.config(),
            (None, None) => TrainConfig::default(),
        };
        self.apply(&mut config);
        edit(&mut config);
        let set = recipe::apply(&mut config);
        if announce && !set.is_empty() {
            println!(
                "{} recipe for the options not given: {}",
                config.data.dataset.as_str(),
                set.join(" ")
            );
        }
        Ok(config)
    }

    /// A fresh run of [`RunArgs::fresh_config`].
    ///
    /// # Errors
    /// An invalid configuration (named by its flag), missing data.
    pub fn fresh_trainer(&self, announce: bool) -> anyhow::Result<Trainer> {
        Trainer::new(self.fresh_config(announce)?).map_err(cli_error)
    }
}

/// The training step `trainer`'s configuration asks for beyond the standard one (adversarial
/// training), with the callback that reports on it.
pub fn configured_step(trainer: &Trainer) -> Option<(AdversarialStep, RobustAccuracy)> {
    let config = trainer.config();
    let adversarial = config.adversarial.as_ref()?;
    let step = AdversarialStep::new(adversarial, &trainer.data().normalize, config.seed);
    Some((step, RobustAccuracy::new(adversarial, config.seed)))
}

/// Installs the step (and its callback) of [`configured_step`], if any.
pub fn install_step(trainer: &mut Trainer) {
    if let Some((step, report)) = configured_step(trainer) {
        trainer.set_step(step).add_callback(report);
    }
}

/// `--weight-init`'s values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum WeightInit {
    Small,
    Xavier,
    Kaiming,
}

impl WeightInit {
    fn scheme(self) -> Scheme {
        match self {
            WeightInit::Small => Scheme::Small,
            WeightInit::Xavier => Scheme::Xavier,
            WeightInit::Kaiming => Scheme::Kaiming,
        }
    }
}
