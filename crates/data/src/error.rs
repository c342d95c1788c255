//! The crate's error type: every failure a user can cause (a missing, corrupt or mismatched file, a
//! bad loader setting) is a variant whose message names the file or setting and what is wrong with
//! it.

use std::io;
use std::path::{Path, PathBuf};

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while reading a dataset or setting up a loader.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file does not exist (`alternative`, if given, was looked for too).
    #[error(
        "{}: file not found{}; use --data-dir to point at the folder that holds the dataset",
        path.display(),
        nor(alternative.as_deref())
    )]
    NotFound {
        /// The path looked for.
        path: PathBuf,
        /// Another name the same file may have, also missing (e.g. the uncompressed name of a
        /// `.gz`).
        alternative: Option<PathBuf>,
    },

    /// The file exists but could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error (part of the message rather than a `source`, so that error
        /// chains print it once).
        error: io::Error,
    },

    /// The file starts like gzip but does not decompress.
    #[error("{}: corrupt gzip data: {error}", path.display())]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        error: io::Error,
    },

    /// The file's magic number is not the one the reader expects.
    #[error(
        "{}: wrong magic number 0x{found:08x} ({}); expected 0x{expected:08x} ({})",
        path.display(),
        describe_magic(*found),
        describe_magic(*expected)
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number expected.
        expected: u32,
        /// The magic number found.
        found: u32,
    },

    /// The header describes an impossible shape (a zero or overflowing dimension).
    #[error("{}: bad dimensions: {what}", path.display())]
    BadDimensions {
        /// The file.
        path: PathBuf,
        /// What the header says and why it is rejected.
        what: String,
    },

    /// The file (after decompression, if gzip) holds fewer bytes than it must.
    #[error(
        "{}: truncated: {expected} but file holds {held} bytes{}",
        path.display(),
        decompressed(*gzip)
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What the file must hold, e.g. `header says 60000 images of 28x28 (47040016 bytes)`.
        expected: String,
        /// How many bytes it holds.
        held: u64,
        /// Whether `held` counts decompressed bytes.
        gzip: bool,
    },

    /// The file (after decompression, if gzip) holds more bytes than its header accounts for.
    #[error(
        "{}: trailing bytes: {expected} but file holds {held} bytes{}",
        path.display(),
        decompressed(*gzip)
    )]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// What the file must hold, e.g. `header says 60000 labels (60008 bytes)`.
        expected: String,
        /// How many bytes it holds.
        held: u64,
        /// Whether `held` counts decompressed bytes.
        gzip: bool,
    },

    /// A file of fixed-size records (CIFAR) whose length is not a whole number of records.
    #[error("{}: {}", path.display(), describe_records(*held, *record, *gzip))]
    PartialRecord {
        /// The file.
        path: PathBuf,
        /// Bytes per record.
        record: usize,
        /// Bytes the file holds.
        held: u64,
        /// Whether `held` counts decompressed bytes.
        gzip: bool,
    },

    /// A size read from a file is above convkit's limit.
    #[error("{}: {error}", path.display())]
    Limit {
        /// The file.
        path: PathBuf,
        /// The size, the limit and how to raise it.
        error: convkit_tensor::limits::LimitError,
    },

    /// An image file and its label file disagree on the number of items.
    #[error(
        "{} holds {images} images but {} holds {labels} labels",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// The number of images.
        images: usize,
        /// The label file.
        labels_path: PathBuf,
        /// The number of labels.
        labels: usize,
    },

    /// A label is not a valid class index.
    #[error(
        "{}: label {label} at index {index} is out of range for {num_classes} classes",
        path.display()
    )]
    LabelOutOfRange {
        /// The label file.
        path: PathBuf,
        /// The position of the bad label.
        index: usize,
        /// The label found.
        label: usize,
        /// The number of classes.
        num_classes: usize,
    },

    /// A download failed: unreachable server, error status or broken transfer.
    #[error("downloading {url} failed: {reason}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },

    /// Downloaded bytes don't hash to the published checksum (nothing was kept).
    #[error("{url}: {kind} checksum mismatch: expected {expected}, got {found}; the download was discarded")]
    ChecksumMismatch {
        /// The URL.
        url: String,
        /// `"sha256"` or `"md5"`.
        kind: &'static str,
        /// The published sum.
        expected: String,
        /// The sum of the bytes received.
        found: String,
    },

    /// An image file could not be decoded.
    #[error("{}: cannot decode image: {reason}", path.display())]
    CorruptImage {
        /// The file.
        path: PathBuf,
        /// The decoder's complaint.
        reason: String,
    },

    /// A dataset was built from inconsistent parts, or a loader from an invalid configuration.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Wraps an I/O error from opening or reading `path`, turning "not found" into
    /// [`Error::NotFound`].
    pub(crate) fn io(path: &Path, error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::NotFound {
            Error::NotFound {
                path: path.to_path_buf(),
                alternative: None,
            }
        } else {
            Error::Io {
                path: path.to_path_buf(),
                error,
            }
        }
    }

    /// A size in `path` above a limit.
    pub(crate) fn limit(path: &Path, error: convkit_tensor::limits::LimitError) -> Self {
        Error::Limit {
            path: path.to_path_buf(),
            error,
        }
    }
}

fn nor(alternative: Option<&Path>) -> String {
    alternative
        .map(|p| format!(" (nor {})", p.display()))
        .unwrap_or_default()
}

fn decompressed(gzip: bool) -> &'static str {
    if gzip {
        " after decompression"
    } else {
        ""
    }
}

/// What is wrong with a file of `held` bytes that should hold whole `record`-byte records.
fn describe_records(held: u64, record: usize, gzip: bool) -> String {
    let record = record as u64;
    let after = decompressed(gzip);
    match held / record {
        _ if held == 0 => format!("is empty{after}; a CIFAR batch holds {record}-byte records"),
        0 => format!(
            "holds {held} bytes{after}, less than one {record}-byte record: is it a CIFAR batch file?"
        ),
        complete => format!(
            "holds {held} bytes{after}: {complete} whole {record}-byte records, then {} bytes of an incomplete one (the file looks truncated)",
            held % record
        ),
    }
}

/// Says in words what an IDX magic number announces.
fn describe_magic(magic: u32) -> String {
    let [zero0, zero1, dtype, ndim] = magic.to_be_bytes();
    match (zero0, zero1, dtype) {
        (0, 0, 0x08) => match ndim {
            1 => "IDX labels: u8, 1-D".to_string(),
            3 => "IDX images: u8, 3-D".to_string(),
            n => format!("IDX u8 data with {n} dimensions"),
        },
        (0, 0, t) => format!("IDX data of type 0x{t:02x} with {ndim} dimensions"),
        _ => "not an IDX file".to_string(),
    }
}
