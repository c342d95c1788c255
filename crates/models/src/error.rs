//! Errors of the model zoo.
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("unknown model '{name}' (available: {})", available.join(", "))]
    UnknownModel {
        name: String,
        available: Vec<&'static str>,
    },
    /// The architecture cannot take this input (too small for its downsampling, say).
    #[error("{model}: {reason}")]
    Unsupported { model: &'static str, reason: String },
    #[error(transparent)]
    Nn(#[from] convkit_nn::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
