//! Errors of training runs: configuration, data, model, files, divergence, resume.
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// A configuration value that cannot work; `field` is its dotted name in `config.toml`.
    #[error("{field}: {msg}")]
    Config { field: String, msg: String },
    /// A file or folder that could not be read or written (the OS error is part of the message,
    /// not a separate source, so that error chains print it once).
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A file that exists but does not hold what it should.
    #[error("{}: {msg}", path.display())]
    Format { path: PathBuf, msg: String },
    /// The loss stopped being finite or grew far beyond its start.
    #[error("training diverged: {0}")]
    Diverged(String),
    /// A run that cannot be continued as asked.
    #[error("{0}")]
    Resume(String),
    /// Checkpoints that cannot be evaluated together.
    #[error("{0}")]
    Ensemble(String),
    /// A replacement training step failed (its own error, as text).
    #[error("training step: {0}")]
    Step(String),
    /// A callback asked for the run to end with an error.
    #[error("{0}")]
    Callback(String),
    #[error(transparent)]
    Tensor(#[from] convkit_tensor::Error),
    #[error(transparent)]
    Nn(#[from] convkit_nn::Error),
    #[error(transparent)]
    Data(#[from] convkit_data::Error),
    #[error(transparent)]
    Model(#[from] convkit_models::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A configuration error for `field`.
    pub fn config(field: impl Into<String>, msg: impl Into<String>) -> Error {
        Error::Config {
            field: field.into(),
            msg: msg.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            error,
        }
    }
}
