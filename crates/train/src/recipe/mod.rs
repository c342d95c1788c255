//! Training recipes. Per dataset, values for the options a configuration leaves unset, so that
//! training ResNet-20 on CIFAR-10 without further options trains sensibly ([`apply`]); and named
//! recipes, complete configurations to start from ([`Recipe`]).
mod airbench94;

pub use airbench94::airbench94;

use crate::config::{OptimizerName, ScheduleName, TrainConfig};
use crate::datasets::DatasetName;
use crate::error::{Error, Result};

/// A named recipe: a whole configuration (model, data, optimiser, schedule, evaluation) that
/// options given after it change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipe {
    /// [`airbench94`]: CIFAR-10 to 94% in 10 epochs.
    Airbench94,
}

impl Recipe {
    /// Every recipe's name.
    pub const NAMES: &'static [&'static str] = &["airbench94"];

    /// The recipe called `name`.
    ///
    /// # Errors
    /// An unknown name (the known ones listed).
    pub fn from_name(name: &str) -> Result<Recipe> {
        match name {
            "airbench94" => Ok(Recipe::Airbench94),
            other => Err(Error::config(
                "recipe",
                format!(
                    "unknown recipe '{other}' (available: {})",
                    Recipe::NAMES.join(", ")
                ),
            )),
        }
    }

    /// The recipe's configuration.
    pub fn config(self) -> TrainConfig {
        match self {
            Recipe::Airbench94 => airbench94(),
        }
    }
}

/// Fills the options `config` leaves unset with its dataset's recipe; returns the options it set,
/// as command-line flags (empty when it set nothing).
///
/// CIFAR-10/100 get He et al.'s CIFAR setting with a cosine schedule instead of their step decays:
/// SGD with momentum 0.9 at lr 0.1 (batch 128), weight decay 5e-4 on weights only, cosine
/// annealing over the run, random 32×32 crops of the 4-pixel zero-padded image and horizontal
/// flips. Other datasets keep the plain defaults (SGD lr 0.01 momentum 0.9, batch 64).
pub fn apply(config: &mut TrainConfig) -> Vec<String> {
    let mut set = Vec::new();
    if !matches!(
        config.data.dataset,
        DatasetName::Cifar10 | DatasetName::Cifar100
    ) {
        return set;
    }
    if config.batch_size.is_none() {
        config.batch_size = Some(128);
        set.push("--batch-size 128".to_string());
    }
    let optimizer = &mut config.optimizer;
    if optimizer.name == OptimizerName::Sgd {
        if optimizer.lr.is_none() {
            optimizer.lr = Some(0.1);
            set.push("--lr 0.1".into());
        }
        if optimizer.momentum.is_none() {
            optimizer.momentum = Some(0.9);
            set.push("--momentum 0.9".into());
        }
    }
    if optimizer.weight_decay.is_none() && optimizer.no_decay_bias_norm.is_none() {
        optimizer.weight_decay = Some(5e-4);
        optimizer.no_decay_bias_norm = Some(true);
        set.push("--weight-decay 5e-4 --no-decay-bias-norm".into());
    }
    if config.schedule.kind.is_none() && config.snapshots.is_none() {
        config.schedule.kind = Some(ScheduleName::Cosine);
        set.push("--schedule cosine".into());
    }
    // A linear probe computes its features once, from the images as they are.
    if config.data.augment.is_none() && !config.is_linear_probe() {
        config.data.augment = Some("crop,flip".into());
        set.push("--augment crop,flip".into());
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cifar() -> TrainConfig {
        let mut config = TrainConfig::default();
        config.data.dataset = DatasetName::Cifar10;
        config
    }

    #[test]
    fn cifar_gets_the_recipe_where_options_are_unset() {
        let mut config = cifar();
        let set = apply(&mut config);
        assert_eq!(config.batch_size, Some(128));
        assert_eq!(config.optimizer.lr, Some(0.1));
        assert_eq!(config.optimizer.weight_decay, Some(5e-4));
        assert_eq!(config.optimizer.no_decay_bias_norm, Some(true));
        assert_eq!(config.schedule.kind, Some(ScheduleName::Cosine));
        assert_eq!(config.data.augment.as_deref(), Some("crop,flip"));
        assert_eq!(set.len(), 6);
        assert!(
            apply(&mut config).is_empty(),
            "a filled configuration stays as it is"
        );
    }

    #[test]
    fn set_options_win_and_other_datasets_are_untouched() {
        let mut config = cifar();
        config.data.dataset = DatasetName::Cifar100;
        config.optimizer.lr = Some(0.05);
        config.batch_size = Some(32);
        apply(&mut config);
        assert_eq!(
            (config.optimizer.lr, config.batch_size),
            (Some(0.05), Some(32))
        );
        assert_eq!(config.schedule.kind, Some(ScheduleName::Cosine));

        let mut adam = cifar();
        adam.optimizer.name = OptimizerName::Adam;
        apply(&mut adam);
        assert_eq!(adam.optimizer.lr, None, "Adam keeps its own default rate");

        let mut mnist = TrainConfig::default();
        assert!(apply(&mut mnist).is_empty());
        assert_eq!(mnist, TrainConfig::default());
    }
}
