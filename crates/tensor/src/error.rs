//! Every user-reachable failure of the tensor crate.
use thiserror::Error;

/// Errors returned by tensor constructors and ops. Messages name the op and every shape involved.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// Inputs whose shapes don't fit the op, e.g. `conv2d: input has 3 channels but weight expects 1`.
    #[error("{op}: {msg}")]
    Shape { op: &'static str, msg: String },
    /// A configuration value that can never be valid (zero stride, negative padding, ...).
    #[error("{op}: invalid configuration: {msg}")]
    Config { op: &'static str, msg: String },
    /// `backward()` called on a tensor that is not a single value or does not require grad.
    #[error("backward: {0}")]
    Backward(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn shape(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Shape {
            op,
            msg: msg.into(),
        }
    }
    pub fn config(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Config {
            op,
            msg: msg.into(),
        }
    }
}
