//! convkit-models: the model zoo. Every model is built by name from a [`ModelSpec`] (input
//! channels, input size, number of classes) and is an ordinary [`convkit_nn::Module`] whose
//! parameter names match the PyTorch reference implementation's `state_dict`.
mod alexnet;
mod error;
mod googlenet;
mod lenet5;
mod lenet5_classic;
mod nin;
mod parts;
mod pooled_classifier;
mod receptive_field;
mod registry;
mod vgg;

pub use alexnet::{alexnet, alexnet_torchvision};
pub use error::{Error, Result};
pub use googlenet::{googlenet, BasicConv2d, GoogLeNet, Inception};
pub use lenet5::lenet5;
pub use lenet5_classic::lenet5_classic;
pub use nin::{nin, NinConfig};
pub use pooled_classifier::PooledClassifier;
pub use receptive_field::{receptive_field, Window};
pub use registry::{build_model, model_names, ModelSpec};
pub use vgg::{vgg, VggConfig};
