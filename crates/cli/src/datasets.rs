//! The datasets `convkit` can train on, by name, with their normalisation.
use anyhow::Context;
use clap::ValueEnum;
use convkit_data::{default_mnist_dir, Dataset, Mnist, Normalize, Split};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatasetName {
    /// Handwritten digits, 28×28 grayscale; ships with convkit.
    Mnist,
}

impl DatasetName {
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::Mnist => "mnist",
        }
    }

    pub fn parse(name: &str) -> anyhow::Result<DatasetName> {
        DatasetName::from_str(name, true)
            .map_err(|_| anyhow::anyhow!("unknown dataset '{name}' (available: mnist)"))
    }

    /// The data directory to read: the one given, else the dataset's default.
    pub fn resolve_dir(self, data_dir: Option<&Path>) -> PathBuf {
        match (data_dir, self) {
            (Some(dir), _) => dir.to_path_buf(),
            (None, DatasetName::Mnist) => default_mnist_dir(),
        }
    }

    pub fn load(self, data_dir: Option<&Path>, split: Split) -> anyhow::Result<Dataset> {
        let dir = self.resolve_dir(data_dir);
        match self {
            DatasetName::Mnist => Mnist::load(&dir, split),
        }
        .with_context(|| format!("loading the {} {split:?} set", self.as_str()))
    }

    /// Per-channel normalisation applied to this dataset's pixels (scaled to [0, 1] first).
    pub fn normalize(self) -> Normalize {
        match self {
            DatasetName::Mnist => Mnist::normalize(),
        }
    }
}
