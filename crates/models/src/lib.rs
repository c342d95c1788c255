//! convkit-models: the model zoo. Every model is built by name from a [`ModelSpec`] (input
//! channels, input size, number of classes) and is an ordinary [`convkit_nn::Module`] whose
//! parameter names match the PyTorch reference implementation's `state_dict`.
mod error;
mod lenet5;
mod receptive_field;
mod registry;
mod small_cnn;

pub use error::{Error, Result};
pub use lenet5::lenet5;
pub use receptive_field::{receptive_field, Window};
pub use registry::{build_model, model_names, ModelSpec};
pub use small_cnn::small_cnn;
