//! Every user-reachable failure of the inspect crate.
use thiserror::Error;

/// Errors of the inspection functions; each message names what the user can change.
#[derive(Debug, Error)]
pub enum Error {
    /// A layer or tensor op failed; also an unknown layer name (listing the valid ones).
    #[error(transparent)]
    Nn(#[from] convkit_nn::Error),
    /// A tensor op failed (shapes that don't fit).
    #[error(transparent)]
    Tensor(#[from] convkit_tensor::Error),
    /// An image with a channel count other than the model's (as its normalisation says).
    #[error("the image has {got} channel(s) but the model takes {expected}")]
    Channels { expected: usize, got: usize },
    /// An input that is not one `[C, H, W]` image (or a batch where one is expected).
    #[error("{what}: expected {expected}, got shape {dims:?}")]
    Shape {
        what: &'static str,
        expected: &'static str,
        dims: Vec<usize>,
    },
    /// A class index the model's output does not have.
    #[error("class {class} is out of range: the model has {classes} classes (0..{classes})")]
    ClassOutOfRange { class: usize, classes: usize },
    /// A layer whose output is not a `[N, C, H, W]` map, where a method needs one (Grad-CAM).
    #[error("layer '{layer}' has no spatial output (its output has shape {dims:?}); {method} needs a layer with [N, C, H, W] output such as a conv layer")]
    NotSpatial {
        layer: String,
        dims: Vec<usize>,
        method: &'static str,
    },
    /// A layer without convolution filters, where filters are asked for.
    #[error("layer '{layer}' is not a 2-D convolution ({description}); pick a Conv2d layer")]
    NotConv { layer: String, description: String },
    /// A layer name that exists in the model but was not run by its forward pass.
    #[error("layer '{0}' did not run in the forward pass")]
    NotRun(String),
    /// Settings that can never work (zero steps, a window larger than the image, ...).
    #[error("{what}: {msg}")]
    Config { what: &'static str, msg: String },
    /// Writing a picture failed.
    #[error("{path}: {msg}")]
    Write { path: String, msg: String },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn config(what: &'static str, msg: impl Into<String>) -> Error {
        Error::Config {
            what,
            msg: msg.into(),
        }
    }
}
