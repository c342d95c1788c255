//! Building a model by name.
use crate::error::{Error, Result};
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

/// Builds one of the models a family knows by name.
type FamilyBuilder = fn(&str, &ModelSpec, &mut ConvRng) -> Result<Box<dyn Module>>;

/// Every architecture family: the names it answers to and its builder. One line per family file.
const FAMILIES: &[(&[&str], FamilyBuilder)] = &[
    (crate::lenet5::NAMES, crate::lenet5::build),
    (crate::lenet5_classic::NAMES, crate::lenet5_classic::build),
    (crate::alexnet::NAMES, crate::alexnet::build),
    (crate::resnet::NAMES, crate::resnet::build),
    (crate::cifar_resnet::NAMES, crate::cifar_resnet::build),
    (crate::densenet::NAMES, crate::densenet::build),
    (crate::mobilenet_v1::NAMES, crate::mobilenet_v1::build),
    (crate::mobilenet_v2::NAMES, crate::mobilenet_v2::build),
    (crate::small_cnn::NAMES, crate::small_cnn::build),
];

/// Every name [`build_model`] accepts, in the zoo's order.
pub fn model_names() -> Vec<&'static str> {
    FAMILIES
        .iter()
        .flat_map(|(names, _)| names.iter().copied())
        .collect()
}

/// Builds the named model with freshly initialised weights.
///
/// # Errors
/// An unknown name (the message lists the known ones), or a spec the architecture cannot take.
pub fn build_model(name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    match FAMILIES.iter().find(|(names, _)| names.contains(&name)) {
        Some((_, build)) => build(name, spec, rng),
        None => Err(Error::UnknownModel {
            name: name.to_string(),
            available: model_names(),
        }),
    }
}
