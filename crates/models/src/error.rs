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
    /// A spec with a zero size.
    #[error("model spec: {0}")]
    Spec(String),
    /// A spec above convkit's limits.
    #[error(transparent)]
    Limit(#[from] convkit_tensor::limits::LimitError),
    #[error(transparent)]
    Nn(#[from] convkit_nn::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
