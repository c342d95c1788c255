//! The convolution and batch-norm layers of the zoo's residual, dense and mobile families: bias-free
//! convolutions padded to keep the size (`(k − 1) / 2`) with He-normal weights, as torchvision
//! initialises them, and default batch norms (weight 1, bias 0, eps 1e-5).
use crate::error::Result;
use crate::parts::{named, Layers};
use convkit_nn::init::{kaiming_normal, FanMode, Nonlinearity};
use convkit_nn::layers::{BatchNorm2d, BatchNormConfig, Conv2d, Conv2dConfig, Sequential};
use convkit_nn::Module;
use rand::Rng;

/// A `k×k` convolution without bias, padding `(k − 1) / 2`, `groups` groups (`c_in` for a
/// depthwise one), weight from `kaiming_normal(fan, relu)`: N(0, 2 / fan).
pub(crate) fn conv(
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    groups: usize,
    fan: FanMode,
    rng: &mut impl Rng,
) -> Result<Conv2d> {
    let config = Conv2dConfig {
        stride: (stride, stride),
        padding: ((k - 1) / 2, (k - 1) / 2),
        groups,
        bias: false,
        ..Default::default()
    };
    let conv = Conv2d::new(c_in, c_out, (k, k), config, rng)?;
    kaiming_normal(conv.weight(), 0.0, fan, Nonlinearity::Relu, rng)?;
    Ok(conv)
}

/// A batch norm over `c` channels with PyTorch's defaults.
pub(crate) fn bn(c: usize) -> Result<BatchNorm2d> {
    Ok(BatchNorm2d::new(c, BatchNormConfig::default())?)
}

/// `Sequential(conv, batch norm[, activation])` named `0`, `1`, `2`: torchvision's
/// `Conv2dNormActivation`, and ResNet's projection shortcut (`downsample.0`, `downsample.1`).
pub(crate) fn conv_bn(conv: Conv2d, activation: Option<Box<dyn Module>>) -> Result<Sequential> {
    let c_out = conv.weight().dims()[0];
    let mut layers: Layers = vec![("0", Box::new(conv)), ("1", Box::new(bn(c_out)?))];
    if let Some(activation) = activation {
        layers.push(("2", activation));
    }
    named(layers)
}
