//! The datasets `convkit` can train on, by name, with their normalisation; missing downloadable
//! datasets are fetched into the data directory on first use.
use crate::error::{Error, Result};

use convkit_data::download::ensure_files;
use convkit_data::{
    default_mnist_dir, Cifar10, Cifar100, Cifar100Labels, Dataset, FashionMnist, ImageFolder,
    ImageFolderConfig, Mnist, Normalize, OnCorrupt, Split,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// Handwritten digits, 28×28 grayscale; ships with convkit.
    #[default]
    Mnist,
    /// Zalando's clothing pictures, 28×28 grayscale (Debian's dataset-fashion-mnist, else downloaded).
    FashionMnist,
    /// 32×32 colour images in 10 classes (downloaded if missing).
    Cifar10,
    /// 32×32 colour images in 100 classes (downloaded if missing).
    Cifar100,
    /// An image folder given by --data-dir: one sub-folder of PNG/JPEG files per class, with
    /// `train/` and `test/` sub-folders if it has them.
    Folder,
}

const NAMES: &str = "mnist, fashion-mnist, cifar10, cifar100, folder";
const ALL: [DatasetName; 5] = [
    DatasetName::Mnist,
    DatasetName::FashionMnist,
    DatasetName::Cifar10,
    DatasetName::Cifar100,
    DatasetName::Folder,
];

impl DatasetName {
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::Mnist => "mnist",
            DatasetName::FashionMnist => "fashion-mnist",
            DatasetName::Cifar10 => "cifar10",
            DatasetName::Cifar100 => "cifar100",
            DatasetName::Folder => "folder",
        }
    }

    /// The dataset called `name` (case-insensitive).
    ///
    /// # Errors
    /// A message listing the datasets, for an unknown name.
    pub fn parse(name: &str) -> std::result::Result<DatasetName, String> {
        ALL.into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("unknown dataset '{name}' (available: {NAMES})"))
    }

    /// The data directory to read: the one given, else the dataset's default (the embedded MNIST,
    /// the system Fashion-MNIST, else `data/<name>` under the working directory).
    ///
    /// # Errors
    /// [`Error::Config`] for an image folder without a directory.
    pub fn resolve_dir(self, data_dir: Option<&Path>) -> Result<PathBuf> {
        Ok(match (data_dir, self) {
            (Some(dir), _) => dir.to_path_buf(),
            (None, DatasetName::Mnist) => default_mnist_dir(),
            (None, DatasetName::FashionMnist) => {
                FashionMnist::system_dir().unwrap_or_else(|| Path::new("data").join(self.as_str()))
            }
            (None, DatasetName::Folder) => {
                return Err(Error::config(
                    "data.data_dir",
                    "the folder dataset needs data_dir: the path of the image folder",
                ))
            }
            (None, _) => Path::new("data").join(self.as_str()),
        })
    }

    /// Loads one split from `data_dir` (or the default place), downloading a missing
    /// downloadable dataset first.
    ///
    /// # Errors
    /// Missing, truncated or corrupt files, named with what is wrong.
    pub fn load(self, data_dir: Option<&Path>, split: Split) -> Result<Dataset> {
        let dir = self.resolve_dir(data_dir)?;
        self.load_from(&dir, split)
    }

    fn load_from(self, dir: &Path, split: Split) -> Result<Dataset> {
        Ok(match self {
            DatasetName::Mnist => Mnist::load(dir, split)?,
            DatasetName::FashionMnist => self.load_or_download(
                dir,
                split,
                |split| FashionMnist::load(dir, split),
                || ensure_files(dir, &FashionMnist::remote_files()),
            )?,
            DatasetName::Cifar10 => self.load_or_download(
                dir,
                split,
                |split| Cifar10::load(dir, split),
                || Cifar10::download(dir),
            )?,
            DatasetName::Cifar100 => self.load_or_download(
                dir,
                split,
                |split| Cifar100::load(dir, split, Cifar100Labels::Fine),
                || Cifar100::download(dir),
            )?,
            DatasetName::Folder => load_folder(dir, split)?,
        })
    }

    /// `split` read by `load`, after `download` if the test split's files are missing (the test
    /// split is what every command needs). Files that are present but damaged are reported as
    /// they are: downloading would not replace them.
    fn load_or_download(
        self,
        dir: &Path,
        split: Split,
        load: impl Fn(Split) -> convkit_data::Result<Dataset>,
        download: impl FnOnce() -> convkit_data::Result<()>,
    ) -> Result<Dataset> {
        match load(Split::Test) {
            Ok(test) if split == Split::Test => return Ok(test),
            Ok(_) => {}
            Err(convkit_data::Error::NotFound { .. }) => {
                announce(self, dir);
                download()?;
            }
            Err(damaged) => return Err(damaged.into()),
        }
        Ok(load(split)?)
    }

    /// Per-channel normalisation applied to this dataset's pixels (scaled to [0, 1] first). An
    /// image folder has no published statistics: mid-grey 0.5 ± 0.5 per RGB channel.
    pub fn normalize(self) -> Normalize {
        match self {
            DatasetName::Mnist => Mnist::normalize(),
            DatasetName::FashionMnist => FashionMnist::normalize(),
            DatasetName::Cifar10 => Cifar10::normalize(),
            DatasetName::Cifar100 => Cifar100::normalize(),
            DatasetName::Folder => Normalize {
                mean: vec![0.5; 3],
                std: vec![0.5; 3],
            },
        }
    }
}

/// Tells the user why the command pauses.
fn announce(name: DatasetName, dir: &Path) {
    eprintln!(
        "{} is not in {}: downloading it from its official source",
        name.as_str(),
        dir.display()
    );
}

/// `dir/train` or `dir/test` if `dir` is split that way, else `dir` itself for both; corrupt
/// images are reported and skipped.
fn load_folder(dir: &Path, split: Split) -> Result<Dataset> {
    let sub = dir.join(match split {
        Split::Train => "train",
        Split::Test => "test",
    });
    let root = if sub.is_dir() { sub } else { dir.to_path_buf() };
    let config = ImageFolderConfig {
        on_corrupt: OnCorrupt::Skip,
        ..Default::default()
    };
    let loaded = ImageFolder::load(&root, &config)?;
    for skipped in &loaded.skipped {
        eprintln!("warning: skipping {skipped}");
    }
    Ok(loaded.dataset)
}
