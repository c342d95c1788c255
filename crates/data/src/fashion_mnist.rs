//! Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 28×28 grayscale pictures of clothing in ten
//! classes, in MNIST's IDX layout and file names.

use std::path::{Path, PathBuf};

use crate::dataset::Dataset;
use crate::download::{Checksum, RemoteFile};
use crate::error::Result;
use crate::mnist::{load_idx_split, Split};
use crate::normalize::Normalize;

/// The Fashion-MNIST dataset.
#[derive(Debug, Clone, Copy)]
pub struct FashionMnist;

/// Where Debian's `dataset-fashion-mnist` package installs the files.
pub const FASHION_MNIST_SYSTEM_DIR: &str = "/usr/share/datasets/fashion-mnist";

const BASE_URL: &str = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com";

impl FashionMnist {
    /// Class names, by label.
    pub const CLASS_NAMES: [&'static str; 10] = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ];

    /// Loads `split` from `dir`, which holds the four IDX files under MNIST's names (plain or
    /// `.gz`).
    ///
    /// # Errors
    /// As [`Mnist::load`](crate::Mnist::load).
    pub fn load(dir: &Path, split: Split) -> Result<Dataset> {
        let names = Self::CLASS_NAMES.iter().map(|n| n.to_string()).collect();
        load_idx_split(dir, split, names)
    }

    /// Per-channel statistics of the training pixels in [0, 1] scale (checked by the tests against
    /// the real files).
    pub fn normalize() -> Normalize {
        Normalize {
            mean: vec![0.2860],
            std: vec![0.3530],
        }
    }

    /// The official files with the MD5 sums the authors publish.
    pub fn remote_files() -> Vec<RemoteFile> {
        [
            (
                "train-images-idx3-ubyte.gz",
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            ),
            (
                "train-labels-idx1-ubyte.gz",
                "25c81989df183df01b3e8a0aad5dffbe",
            ),
            (
                "t10k-images-idx3-ubyte.gz",
                "bef4ecab320f06d8554ea6380940ec79",
            ),
            (
                "t10k-labels-idx1-ubyte.gz",
                "bb300cfdad3c16e7a12a480ee83cd310",
            ),
        ]
        .into_iter()
        .map(|(name, md5)| RemoteFile {
            url: format!("{BASE_URL}/{name}"),
            name: name.to_string(),
            checksum: Checksum::Md5(md5.to_string()),
        })
        .collect()
    }

    /// The system copy installed by Debian's `dataset-fashion-mnist`, if present.
    pub fn system_dir() -> Option<PathBuf> {
        let dir = PathBuf::from(FASHION_MNIST_SYSTEM_DIR);
        dir.join("t10k-labels-idx1-ubyte.gz")
            .is_file()
            .then_some(dir)
    }
}
