//! CIFAR-10 and CIFAR-100 (Krizhevsky, 2009) in their binary versions: 32×32 RGB images stored as
//! records of label byte(s) followed by 3,072 pixel bytes (1,024 red, 1,024 green, 1,024 blue,
//! each plane row-major), concatenated with no header. Files may be gzip-compressed (`name.gz`).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::dataset::Dataset;
use crate::download::{ensure_files, extract_tar_gz, Checksum, RemoteFile};
use crate::error::{Error, Result};
use crate::mnist::{find, Split};
use crate::normalize::Normalize;
use convkit_tensor::limits::DATASET_BYTES;

/// Pixel bytes per record.
const PIXELS: usize = 3 * 32 * 32;

/// The CIFAR-10 dataset: 50,000 training and 10,000 test images in ten classes.
#[derive(Debug, Clone, Copy)]
pub struct Cifar10;

/// The CIFAR-100 dataset: 50,000 training and 10,000 test images in 100 fine classes grouped
/// into 20 coarse ones.
#[derive(Debug, Clone, Copy)]
pub struct Cifar100;

/// Which of CIFAR-100's two labels to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cifar100Labels {
    /// The 100 fine classes.
    #[default]
    Fine,
    /// The 20 superclasses.
    Coarse,
}

impl Cifar10 {
    /// Class names, by label (as in `batches.meta.txt`).
    pub const CLASS_NAMES: [&'static str; 10] = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ];

    /// Loads `split` from `dir` (or its `cifar-10-batches-bin` sub-folder, the official archive's
    /// layout): `data_batch_1.bin` … `data_batch_5.bin` for training, `test_batch.bin` for
    /// testing, each plain or `.gz`.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a missing file, [`Error::PartialRecord`] for a file that isn't a whole
    /// number of 3,073-byte records, [`Error::LabelOutOfRange`] for a label above 9,
    /// [`Error::Limit`] for a file (decompressed) above convkit's dataset limit, and read or gzip
    /// errors naming the file.
    pub fn load(dir: &Path, split: Split) -> Result<Dataset> {
        let dir = archive_dir(dir, "cifar-10-batches-bin");
        let files: Vec<String> = match split {
            Split::Train => (1..=5).map(|k| format!("data_batch_{k}.bin")).collect(),
            Split::Test => vec!["test_batch.bin".to_string()],
        };
        let names: Vec<String> = Self::CLASS_NAMES.iter().map(|n| n.to_string()).collect();
        let mut records = Records::default();
        for name in files {
            records.read(&find(&dir, &name)?, 1, 0, names.len())?;
        }
        Dataset::new(records.pixels, records.labels, [3, 32, 32], names)
    }

    /// Loads one batch file (any number of records, plain or `.gz`), e.g. a partial copy.
    ///
    /// # Errors
    /// As [`Cifar10::load`].
    pub fn load_batch_file(path: &Path) -> Result<Dataset> {
        let names: Vec<String> = Self::CLASS_NAMES.iter().map(|n| n.to_string()).collect();
        let mut records = Records::default();
        records.read(path, 1, 0, names.len())?;
        Dataset::new(records.pixels, records.labels, [3, 32, 32], names)
    }

    /// Downloads the official binary archive into `dir` and unpacks it there, unless `dir`
    /// already holds the test batch.
    ///
    /// # Errors
    /// As [`download`](crate::download::download), and I/O errors while unpacking.
    pub fn download(dir: &Path) -> Result<()> {
        Self::download_from(dir, &Self::remote_archive())
    }

    /// As [`Cifar10::download`], from `archive` (a mirror, or a test server).
    ///
    /// # Errors
    /// As [`Cifar10::download`].
    pub fn download_from(dir: &Path, archive: &RemoteFile) -> Result<()> {
        fetch_archive(dir, "test_batch.bin", archive, "cifar-10-batches-bin")
    }

    /// The official binary archive and its published MD5.
    pub fn remote_archive() -> RemoteFile {
        RemoteFile {
            url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz".to_string(),
            name: "cifar-10-binary.tar.gz".to_string(),
            checksum: Checksum::Md5("c32a1d4ab5d03f1284b67883e8d87530".to_string()),
        }
    }

    /// The usual per-channel statistics of the training pixels in [0, 1] scale.
    pub fn normalize() -> Normalize {
        Normalize {
            mean: vec![0.4914, 0.4822, 0.4465],
            std: vec![0.2470, 0.2435, 0.2616],
        }
    }
}

impl Cifar100 {
    /// Loads `split` from `dir` (or its `cifar-100-binary` sub-folder): `train.bin` or
    /// `test.bin`, plain or `.gz`, records of a coarse label byte, a fine label byte and 3,072
    /// pixels. Class names come from `fine_label_names.txt` / `coarse_label_names.txt` (one per
    /// line) when present, else are the label numbers.
    ///
    /// # Errors
    /// As [`Cifar10::load`], with 3,074-byte records and 100 (or 20) classes.
    pub fn load(dir: &Path, split: Split, labels: Cifar100Labels) -> Result<Dataset> {
        let dir = archive_dir(dir, "cifar-100-binary");
        let name = match split {
            Split::Train => "train.bin",
            Split::Test => "test.bin",
        };
        let (label_at, count, names_file) = match labels {
            Cifar100Labels::Coarse => (0, 20, "coarse_label_names.txt"),
            Cifar100Labels::Fine => (1, 100, "fine_label_names.txt"),
        };
        let names = class_names(&dir.join(names_file), count)?;
        let mut records = Records::default();
        records.read(&find(&dir, name)?, 2, label_at, count)?;
        Dataset::new(records.pixels, records.labels, [3, 32, 32], names)
    }

    /// Downloads the official binary archive into `dir` and unpacks it there, unless `dir`
    /// already holds the test file.
    ///
    /// # Errors
    /// As [`Cifar10::download`].
    pub fn download(dir: &Path) -> Result<()> {
        Self::download_from(dir, &Self::remote_archive())
    }

    /// As [`Cifar100::download`], from `archive` (a mirror, or a test server).
    ///
    /// # Errors
    /// As [`Cifar10::download`].
    pub fn download_from(dir: &Path, archive: &RemoteFile) -> Result<()> {
        fetch_archive(dir, "test.bin", archive, "cifar-100-binary")
    }

    /// The official binary archive and its published MD5.
    pub fn remote_archive() -> RemoteFile {
        RemoteFile {
            url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz".to_string(),
            name: "cifar-100-binary.tar.gz".to_string(),
            checksum: Checksum::Md5("03b5dce01913d631647c71ecec9e9cb8".to_string()),
        }
    }

    /// The usual per-channel statistics of the training pixels in [0, 1] scale.
    pub fn normalize() -> Normalize {
        Normalize {
            mean: vec![0.5071, 0.4865, 0.4409],
            std: vec![0.2673, 0.2564, 0.2762],
        }
    }
}

/// `dir/sub` if it is a folder (an unpacked official archive), else `dir`.
fn archive_dir(dir: &Path, sub: &str) -> PathBuf {
    let nested = dir.join(sub);
    if nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    }
}

/// Downloads `archive` into `dir` and unpacks its `member_dir` there, unless `dir` (or its
/// `member_dir` sub-folder) already holds `marker` (plain or `.gz`); the archive is removed after.
fn fetch_archive(dir: &Path, marker: &str, archive: &RemoteFile, member_dir: &str) -> Result<()> {
    if find(&archive_dir(dir, member_dir), marker).is_ok() {
        return Ok(());
    }
    ensure_files(dir, std::slice::from_ref(archive))?;
    let path = dir.join(&archive.name);
    extract_tar_gz(&path, member_dir, dir)?;
    fs::remove_file(&path).map_err(|e| Error::io(&path, e))
}

/// The `count` class names listed one per line in `path`, or `"0"`…`"count-1"` if there is no such
/// file.
fn class_names(path: &Path, count: usize) -> Result<Vec<String>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((0..count).map(|i| i.to_string()).collect())
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if names.len() != count {
        return Err(Error::Invalid(format!(
            "{}: lists {} class names, expected {count}",
            path.display(),
            names.len()
        )));
    }
    Ok(names)
}

/// Pixels and labels gathered from one or more batch files.
#[derive(Default)]
struct Records {
    pixels: Vec<u8>,
    labels: Vec<usize>,
}

impl Records {
    /// Appends the records of `path` (`label_bytes` label bytes then the pixels, the label to keep
    /// at `label_at`).
    fn read(
        &mut self,
        path: &Path,
        label_bytes: usize,
        label_at: usize,
        classes: usize,
    ) -> Result<()> {
        let (bytes, gzip) = read_maybe_gzip(path)?;
        let record = label_bytes + PIXELS;
        if bytes.is_empty() || bytes.len() % record != 0 {
            return Err(Error::PartialRecord {
                path: path.to_path_buf(),
                record,
                held: bytes.len() as u64,
                gzip,
            });
        }
        self.pixels.reserve(bytes.len() / record * PIXELS);
        for (index, chunk) in bytes.chunks_exact(record).enumerate() {
            let label = usize::from(chunk[label_at]);
            if label >= classes {
                return Err(Error::LabelOutOfRange {
                    path: path.to_path_buf(),
                    index,
                    label,
                    num_classes: classes,
                });
            }
            self.labels.push(label);
            self.pixels.extend_from_slice(&chunk[label_bytes..]);
        }
        Ok(())
    }
}

/// The whole content of `path`, decompressed if it starts with the gzip magic bytes, and whether
/// it was; at most [`DATASET_BYTES`] either way (a gzip bomb stops there).
pub(crate) fn read_maybe_gzip(path: &Path) -> Result<(Vec<u8>, bool)> {
    let limit = DATASET_BYTES.value().map_err(|e| Error::limit(path, e))?;
    let file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    DATASET_BYTES
        .check("file size", len)
        .map_err(|e| Error::limit(path, e))?;
    let mut raw = Vec::new();
    (&file)
        .read_to_end(&mut raw)
        .map_err(|e| Error::io(path, e))?;
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok((raw, false));
    }
    let mut out = Vec::new();
    MultiGzDecoder::new(raw.as_slice())
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|error| Error::Gzip {
            path: path.to_path_buf(),
            error,
        })?;
    DATASET_BYTES
        .check("decompressed content", out.len() as u64)
        .map_err(|e| Error::limit(path, e))?;
    Ok((out, true))
}
