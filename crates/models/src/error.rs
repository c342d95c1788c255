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
    /// A layer name (for freezing up to it) that names no module holding parameters.
    #[error("the model has no layer '{name}' with parameters; layers with parameters: {} (and the layers inside them)", known.join(", "))]
    UnknownLayer { name: String, known: Vec<String> },
    /// A parameter name pattern that matches nothing (a typo would otherwise freeze nothing).
    #[error("'{pattern}' matches no parameter of the model")]
    NoMatch { pattern: String },
    #[error(transparent)]
    Limit(#[from] convkit_tensor::limits::LimitError),
    #[error(transparent)]
    Nn(#[from] convkit_nn::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
