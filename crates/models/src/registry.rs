//! Building a model by name.
use crate::error::{Error, Result};
use crate::lenet5::lenet5;
use convkit_nn::Module;
use convkit_tensor::ConvRng;
use serde::{Deserialize, Serialize};

/// What a model must fit: its input and its number of classes. Stored in checkpoints, so that a
/// saved model can be rebuilt before its weights are loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub in_channels: usize,
    pub num_classes: usize,
    /// (height, width) of the input images.
    pub input_size: (usize, usize),
}

/// Every name [`build_model`] accepts.
pub const MODEL_NAMES: &[&str] = &["lenet5"];

/// Builds the named model with freshly initialised weights.
///
/// # Errors
/// An unknown name (the message lists the known ones), or a spec the architecture cannot take.
pub fn build_model(name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    match name {
        "lenet5" => Ok(Box::new(lenet5(spec, rng)?)),
        _ => Err(Error::UnknownModel {
            name: name.to_string(),
            available: MODEL_NAMES.to_vec(),
        }),
    }
}
