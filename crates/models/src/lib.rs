//! convkit-models: the model zoo. Every model is built by name from a [`ModelSpec`] (input
//! channels, input size, number of classes) and is an ordinary [`convkit_nn::Module`] whose
//! parameter names match the PyTorch reference implementation's `state_dict`. [`summarize`]
//! describes what a model does layer by layer.
mod error;
mod lenet5;
mod registry;
mod summary;
mod summary_table;

pub use convkit_tensor::receptive_field::{receptive_field, Window};
pub use error::{Error, Result};
pub use lenet5::lenet5;
pub use registry::{build_model, model_names, ModelSpec};
pub use summary::{summarize, LastConvField, LayerRow, Summary};
pub use summary_table::{si, thousands};
