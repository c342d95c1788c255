//! MNIST: 28×28 grayscale digits in IDX files, 60,000 for training and 10,000 for testing.

use std::path::{Path, PathBuf};

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::idx;
use crate::normalize::Normalize;

/// Mean of the MNIST training pixels in [0, 1] scale (the figure torchvision's examples use).
pub const MNIST_MEAN: f32 = 0.1307;
/// Standard deviation of the MNIST training pixels in [0, 1] scale.
pub const MNIST_STD: f32 = 0.3081;

/// Which part of a dataset to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training set.
    Train,
    /// The test set.
    Test,
}

/// The MNIST dataset (LeCun et al., 1998): labels are the digits 0–9.
#[derive(Debug, Clone, Copy)]
pub struct Mnist;

impl Mnist {
    /// Number of classes.
    pub const NUM_CLASSES: usize = 10;

    /// Loads `split` from `dir`, which holds the standard files (`train-images-idx3-ubyte`,
    /// `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`), each either
    /// plain or gzip-compressed with a `.gz` suffix.
    ///
    /// # Errors
    /// [`Error::NotFound`] if a file is missing under both names; any error of [`idx::read_images`]
    /// or [`idx::read_labels`]; [`Error::CountMismatch`] if the image and label files disagree on
    /// the number of items; [`Error::LabelOutOfRange`] for a label above 9.
    pub fn load(dir: &Path, split: Split) -> Result<Dataset> {
        let class_names = (0..Self::NUM_CLASSES)
            .map(|digit| digit.to_string())
            .collect();
        load_idx_split(dir, split, class_names)
    }

    /// The usual MNIST normalisation: mean [`MNIST_MEAN`], std [`MNIST_STD`].
    pub fn normalize() -> Normalize {
        Normalize {
            mean: vec![MNIST_MEAN],
            std: vec![MNIST_STD],
        }
    }
}

/// The repository's embedded copy of MNIST, `data/mnist` at the workspace root (located at compile
/// time).
pub fn default_mnist_dir() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .ancestors()
        .nth(2)
        .expect("the crate lives in <workspace>/crates/data");
    workspace.join("data").join("mnist")
}

/// Loads `split` of an MNIST-layout dataset (the four standard IDX file names, plain or `.gz`) from
/// `dir`, labelling class `i` as `class_names[i]`.
///
/// # Errors
/// As [`Mnist::load`], with the class count taken from `class_names`.
pub(crate) fn load_idx_split(
    dir: &Path,
    split: Split,
    class_names: Vec<String>,
) -> Result<Dataset> {
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let images_path = find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let labels_path = find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let images = idx::read_images(&images_path)?;
    let labels = idx::read_labels(&labels_path)?;
    if images.count != labels.len() {
        return Err(Error::CountMismatch {
            images_path,
            images: images.count,
            labels_path,
            labels: labels.len(),
        });
    }
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| usize::from(l) >= class_names.len())
    {
        return Err(Error::LabelOutOfRange {
            path: labels_path,
            index,
            label: label.into(),
            num_classes: class_names.len(),
        });
    }
    let labels = labels.into_iter().map(usize::from).collect();
    Dataset::new(
        images.pixels,
        labels,
        [1, images.rows, images.cols],
        class_names,
    )
}

/// `dir/name` if it exists, else `dir/name.gz`.
pub(crate) fn find(dir: &Path, name: &str) -> Result<PathBuf> {
    let plain = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    if plain.exists() {
        Ok(plain)
    } else if gz.exists() {
        Ok(gz)
    } else {
        Err(Error::NotFound {
            path: gz,
            alternative: Some(plain),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{gzip, images_file, labels_file, write};

    /// A folder with an MNIST-style test split of `images` 2×2 images and the given labels.
    fn split_dir(images: u32, labels: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..images * 4).map(|p| p as u8).collect();
        write(
            dir.path(),
            "t10k-images-idx3-ubyte.gz",
            &gzip(&images_file(images, 2, 2, &pixels)),
        );
        write(dir.path(), "t10k-labels-idx1-ubyte", &labels_file(labels));
        dir
    }

    #[test]
    fn loads_a_split_from_compressed_or_plain_files() {
        let dir = split_dir(3, &[9, 0, 4]);
        let ds = Mnist::load(dir.path(), Split::Test).unwrap();
        assert_eq!(
            (ds.len(), ds.channels(), ds.height(), ds.width()),
            (3, 1, 2, 2)
        );
        assert_eq!(ds.labels(), [9, 0, 4]);
        assert_eq!(ds.get(2).unwrap().image, [8, 9, 10, 11]);
        assert_eq!(ds.class_names()[9], "9");
    }

    #[test]
    fn count_mismatch_names_both_files() {
        let dir = split_dir(3, &[1, 2]);
        let message = Mnist::load(dir.path(), Split::Test)
            .unwrap_err()
            .to_string();
        let images = dir.path().join("t10k-images-idx3-ubyte.gz");
        let labels = dir.path().join("t10k-labels-idx1-ubyte");
        assert_eq!(
            message,
            format!(
                "{} holds 3 images but {} holds 2 labels",
                images.display(),
                labels.display()
            )
        );
    }

    #[test]
    fn label_out_of_range_is_reported() {
        let dir = split_dir(3, &[1, 10, 2]);
        let message = Mnist::load(dir.path(), Split::Test)
            .unwrap_err()
            .to_string();
        let labels = dir.path().join("t10k-labels-idx1-ubyte");
        assert_eq!(
            message,
            format!(
                "{}: label 10 at index 1 is out of range for 10 classes",
                labels.display()
            )
        );
    }

    #[test]
    fn missing_split_names_both_file_names_and_suggests_data_dir() {
        let dir = split_dir(1, &[0]);
        let message = Mnist::load(dir.path(), Split::Train)
            .unwrap_err()
            .to_string();
        let path = dir.path().join("train-images-idx3-ubyte");
        assert_eq!(
            message,
            format!(
                "{}.gz: file not found (nor {}); use --data-dir to point at the folder that holds the dataset",
                path.display(),
                path.display()
            )
        );
    }

    #[test]
    fn default_dir_is_the_embedded_copy() {
        assert!(
            default_mnist_dir()
                .join("t10k-labels-idx1-ubyte.gz")
                .is_file(),
            "{}",
            default_mnist_dir().display()
        );
    }
}
