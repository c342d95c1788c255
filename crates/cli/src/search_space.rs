//! The hyper-parameter space of `convkit search` and random draws from it: learning rate and
//! weight decay log-uniform in a range, momentum, batch size and optimiser from lists.
use crate::config_flags::names;
use crate::optim_args::OPTIMIZERS;
use anyhow::bail;
use clap::Args;
use convkit_train::config::OptimizerName;
use convkit_train::TrainConfig;
use rand::seq::IndexedRandom;
use rand::Rng;

#[derive(Args, Debug, Clone)]
pub struct SearchSpace {
    /// Learning-rate range LOW,HIGH, drawn log-uniformly.
    #[arg(long, value_delimiter = ',', default_values_t = [1e-4, 1e-1])]
    pub lr_range: Vec<f64>,
    /// Weight-decay range LOW,HIGH, drawn log-uniformly; 0,0 for none.
    #[arg(long, value_delimiter = ',', default_values_t = [1e-6, 1e-2])]
    pub weight_decay_range: Vec<f64>,
    /// Momentum values to choose from (SGD and RMSprop; the others take none).
    #[arg(long, value_delimiter = ',', default_values_t = [0.0, 0.5, 0.9, 0.95])]
    pub momentum: Vec<f32>,
    /// Batch sizes to choose from.
    #[arg(long, value_delimiter = ',', default_values_t = [32, 64, 128])]
    pub batch_sizes: Vec<usize>,
    /// Optimisers to choose from.
    #[arg(long, value_parser = names::<OptimizerName>(OPTIMIZERS), value_delimiter = ',', default_value = "sgd,adam")]
    pub optimizers: Vec<OptimizerName>,
}

/// One trial's hyper-parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    pub optimizer: OptimizerName,
    pub lr: f32,
    pub weight_decay: f32,
    /// `None` for optimisers without momentum.
    pub momentum: Option<f32>,
    pub batch_size: usize,
}

impl Trial {
    /// Sets these hyper-parameters in `config`.
    pub fn apply(&self, config: &mut TrainConfig) {
        let o = &mut config.optimizer;
        o.name = self.optimizer;
        o.lr = Some(self.lr);
        o.weight_decay = Some(self.weight_decay);
        o.momentum = self.momentum;
        config.batch_size = Some(self.batch_size);
    }
}

/// A log-uniform draw from `[low, high]` (0 when the range is `0,0`).
fn log_uniform(rng: &mut impl Rng, [low, high]: [f64; 2]) -> f64 {
    if high == 0.0 {
        0.0
    } else {
        (low.ln() + rng.random::<f64>() * (high.ln() - low.ln())).exp()
    }
}

impl SearchSpace {
    /// # Errors
    /// A range that is not `LOW ≤ HIGH` with `LOW > 0` (or `0,0` for weight decay), or an empty
    /// or out-of-range choice.
    pub fn validate(&self) -> anyhow::Result<()> {
        let range = |name: &str, r: &[f64], zero_allowed: bool| -> anyhow::Result<()> {
            let ok = r.len() == 2
                && ((r[0] > 0.0 && r[0] <= r[1] && r[1].is_finite())
                    || (zero_allowed && r == [0.0, 0.0]));
            if !ok {
                bail!("--{name} must be LOW,HIGH with 0 < LOW ≤ HIGH, got {r:?}");
            }
            Ok(())
        };
        range("lr-range", &self.lr_range, false)?;
        range("weight-decay-range", &self.weight_decay_range, true)?;
        if self.momentum.is_empty() || self.momentum.iter().any(|m| !(0.0..1.0).contains(m)) {
            bail!("--momentum needs values in [0, 1), got {:?}", self.momentum);
        }
        if self.batch_sizes.is_empty() || self.batch_sizes.contains(&0) {
            bail!(
                "--batch-sizes needs positive sizes, got {:?}",
                self.batch_sizes
            );
        }
        if self.optimizers.is_empty() {
            bail!("--optimizers needs at least one optimiser");
        }
        Ok(())
    }

    /// A random trial; the draws come in a fixed order, so a seed gives the same trials.
    pub fn sample(&self, rng: &mut impl Rng) -> Trial {
        let optimizer = *self.optimizers.choose(rng).expect("validated non-empty");
        let lr = log_uniform(rng, [self.lr_range[0], self.lr_range[1]]) as f32;
        let weight_decay = log_uniform(
            rng,
            [self.weight_decay_range[0], self.weight_decay_range[1]],
        ) as f32;
        let momentum = *self.momentum.choose(rng).expect("validated non-empty");
        let batch_size = *self.batch_sizes.choose(rng).expect("validated non-empty");
        let has_momentum = matches!(optimizer, OptimizerName::Sgd | OptimizerName::Rmsprop);
        Trial {
            optimizer,
            lr,
            weight_decay,
            momentum: has_momentum.then_some(momentum),
            batch_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use convkit_tensor::seeded_rng;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        space: SearchSpace,
    }

    fn space(args: &[&str]) -> SearchSpace {
        let mut argv = vec!["search"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().space
    }

    #[test]
    fn draws_stay_in_their_ranges_and_cover_them_log_uniformly() {
        let space = space(&["--lr-range", "1e-4,1e-1", "--optimizers", "sgd,adam"]);
        space.validate().unwrap();
        let mut rng = seeded_rng(1);
        let trials: Vec<Trial> = (0..2000).map(|_| space.sample(&mut rng)).collect();
        assert!(trials.iter().all(|t| (1e-4..=1e-1).contains(&t.lr)));
        // Log-uniform: each decade holds about a third of the draws.
        let below_1e3 = trials.iter().filter(|t| t.lr < 1e-3).count() as f64 / 2000.0;
        assert!((below_1e3 - 1.0 / 3.0).abs() < 0.05, "{below_1e3}");
        assert!(trials
            .iter()
            .all(|t| (1e-6..=1e-2).contains(&t.weight_decay)));
        assert!(trials.iter().all(|t| [32, 64, 128].contains(&t.batch_size)));
        for t in &trials {
            assert_eq!(t.momentum.is_some(), t.optimizer == OptimizerName::Sgd);
        }
        assert!(trials.iter().any(|t| t.optimizer == OptimizerName::Adam));
        let mut again = seeded_rng(1);
        assert_eq!(
            space.sample(&mut again),
            trials[0],
            "a seed gives the same trials"
        );
    }

    #[test]
    fn bad_spaces_are_rejected() {
        let zero_decay = space(&["--weight-decay-range", "0,0"]);
        zero_decay.validate().unwrap();
        assert_eq!(zero_decay.sample(&mut seeded_rng(0)).weight_decay, 0.0);
        for (args, needle) in [
            (["--lr-range", "0,0.1"], "--lr-range"),
            (["--lr-range", "0.1,0.01"], "--lr-range"),
            (["--momentum", "1.5"], "--momentum"),
            (["--batch-sizes", "0"], "--batch-sizes"),
        ] {
            let err = space(&args).validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
    }
}
