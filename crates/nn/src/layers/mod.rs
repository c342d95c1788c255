//! The layers, one per file, each built from a config struct with PyTorch's argument names.
mod activation;
mod adaptive_avg_pool2d;
mod adaptive_max_pool2d;
mod avg_pool2d;
mod batch_norm;
mod blur_pool2d;
mod channel_max_pool;
mod conv;
mod conv_params;
#[cfg(test)]
mod conv_tests;
mod conv_transpose;
mod drop_connect;
mod dropout;
mod dropout2d;
mod flatten;
mod group_norm;
mod instance_norm2d;
mod layer_norm;
mod linear;
mod local_response_norm;
mod max_pool2d;
mod max_unpool2d;
mod maxout;
mod prelu;
mod scale;
mod sequential;
mod stochastic_depth;
#[cfg(test)]
pub(crate) mod testing;

pub use activation::{
    ActivationLayer, GELUTanh, Hardswish, Identity, LeakyReLU, ReLU, ReLU6, SiLU, Sigmoid, Softmax,
    Softplus, Tanh, ELU, GELU,
};
pub use adaptive_avg_pool2d::AdaptiveAvgPool2d;
pub use adaptive_max_pool2d::AdaptiveMaxPool2d;
pub use avg_pool2d::{AvgPool2d, AvgPool2dConfig};
pub use batch_norm::{BatchNorm1d, BatchNorm2d, BatchNormConfig, BatchNormNd};
pub use blur_pool2d::{BlurPool2d, BlurPool2dConfig};
pub use channel_max_pool::ChannelMaxPool;
pub use conv::{
    Conv1d, Conv1dConfig, Conv2d, Conv2dConfig, Conv3d, Conv3dConfig, ConvNd, ConvNdConfig,
};
pub use conv_transpose::{
    ConvTranspose1d, ConvTranspose1dConfig, ConvTranspose2d, ConvTranspose2dConfig,
    ConvTranspose3d, ConvTranspose3dConfig, ConvTransposeNd, ConvTransposeNdConfig,
};
pub use drop_connect::{DropConnect, WeightedLayer};
pub use dropout::{Dropout, DropoutConfig};
pub use dropout2d::Dropout2d;
pub use flatten::{Flatten, FlattenConfig};
pub use group_norm::{GroupNorm, GroupNormConfig};
pub use instance_norm2d::{InstanceNorm2d, InstanceNormConfig};
pub use layer_norm::{LayerNorm, LayerNormConfig};
pub use linear::{Linear, LinearConfig};
pub use local_response_norm::LocalResponseNorm;
pub use max_pool2d::{MaxPool2d, MaxPool2dConfig};
pub use max_unpool2d::MaxUnpool2d;
pub use maxout::Maxout;
pub use prelu::{PReLU, PReLUConfig};
pub use scale::Scale;
pub use sequential::Sequential;
pub use stochastic_depth::StochasticDepth;

use crate::error::Result;
use convkit_tensor::ops::pool::Pool2dConfig;

/// The pooling op's settings for a pooling layer (stride defaulting to the kernel, as PyTorch),
/// validated (errors name the layer).
fn pool_op_config(
    layer: &'static str,
    kernel: (usize, usize),
    stride: Option<(usize, usize)>,
    padding: (usize, usize),
    ceil_mode: bool,
    count_include_pad: bool,
) -> Result<Pool2dConfig> {
    let config = Pool2dConfig {
        kernel,
        stride: stride.unwrap_or(kernel),
        padding,
        ceil_mode,
        count_include_pad,
    };
    config.validate(layer)?;
    Ok(config)
}
