//! Network in Network (Lin, Chen & Yan, 2014): "mlpconv" blocks — a k×k convolution followed by two
//! 1×1 convolutions, each with a ReLU — and global average pooling in place of fully connected
//! layers: the last block has one channel per class and its spatial mean is the logit.
//!
//! Two forms, both `Sequential`s numbered as in PyTorch (`0.0.weight` is the first block's conv):
//! - `nin`, d2l.ai's ImageNet form: blocks 96 k11 s4, 256 k5 p2, 384 k3 p1, each followed by a
//!   3/2 max-pool, dropout 0.5, a last block of `classes` channels k3 p1, global average pool,
//!   flatten. Its stride-4 11×11 stem and three pools need at least a 67×67 input: smaller inputs
//!   are rejected (use `nin-cifar` at 32×32).
//! - `nin-cifar`, the paper's CIFAR-10 model: blocks 192-160-96 k5 p2 → max-pool 3/2 → dropout →
//!   192-192-192 k5 p2 → avg-pool 3/2 → dropout → 192-192-`classes` k3 p1 → global average pool →
//!   flatten; the pools round up (`ceil_mode`, as the paper's Caffe model), so 32 → 16 → 8. 966,986
//!   parameters at 3×32×32 and 10 classes.
//!
//! Both are initialised as d2l trains NiN, Xavier-uniform conv weights, with zero biases.
use crate::error::Result;
use crate::parts::{conv, dropout, max_pool, spatial_out, Step};
use crate::registry::ModelSpec;
use convkit_nn::init;
use convkit_nn::layers::{
    AdaptiveAvgPool2d, AvgPool2d, AvgPool2dConfig, Conv2d, Flatten, ReLU, Sequential,
};
use convkit_nn::Module;
use convkit_tensor::ConvRng;
use rand::Rng;

/// The registry names of this family.
pub(crate) const NAMES: &[&str] = &["nin", "nin-cifar"];

/// The registry's builder for [`NAMES`].
pub(crate) fn build(name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    let config = if name == "nin-cifar" {
        NinConfig::Cifar
    } else {
        NinConfig::ImageNet
    };
    Ok(Box::new(nin(config, spec, rng)?))
}

/// Which Network in Network (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NinConfig {
    /// d2l.ai's ImageNet-sized form (inputs of at least 67×67; 224×224 in d2l).
    ImageNet,
    /// The paper's CIFAR-10 form (32×32 inputs in the paper; any input of at least 4×4).
    Cifar,
}

/// An mlpconv block: `k×k` conv (`stride`, `padding`) → ReLU → 1×1 conv → ReLU → 1×1 conv → ReLU,
/// with `channels` the three convs' outputs; children `0`..`5`.
fn nin_block(
    c_in: usize,
    channels: [usize; 3],
    (k, stride, padding): (usize, usize, usize),
    rng: &mut impl Rng,
) -> Result<Sequential> {
    let [c1, c2, c3] = channels;
    Ok(Sequential::new(vec![
        Box::new(xavier_conv(c_in, c1, (k, stride, padding), rng)?),
        Box::new(ReLU),
        Box::new(xavier_conv(c1, c2, (1, 1, 0), rng)?),
        Box::new(ReLU),
        Box::new(xavier_conv(c2, c3, (1, 1, 0), rng)?),
        Box::new(ReLU),
    ]))
}

/// A conv with Xavier-uniform weights, as d2l trains NiN, and zero biases. With PyTorch's default
/// init the nine-layer stack starts with near-zero logits and its last ReLU's channels die early
/// (measured: the overfit test stalls at a loss of ln 2 to ln 4).
fn xavier_conv(
    c_in: usize,
    c_out: usize,
    (k, stride, padding): (usize, usize, usize),
    rng: &mut impl Rng,
) -> Result<Conv2d> {
    let layer = conv(c_in, c_out, k, stride, padding, true, rng)?;
    init::xavier_uniform(layer.weight(), 1.0, rng)?;
    init::zeros(layer.bias().expect("built with a bias"));
    Ok(layer)
}

/// Network in Network in the chosen form, ending in global average pooling and a flatten (no fully
/// connected layer).
///
/// # Shapes
/// input `[N, C, H, W]` → logits `[N, classes]`; H and W at least 67 ([`NinConfig::ImageNet`]) or 4
/// ([`NinConfig::Cifar`]).
///
/// # Errors
/// An input smaller than that ([`crate::Error::Unsupported`]), or zero channels or classes.
pub fn nin(config: NinConfig, spec: &ModelSpec, rng: &mut impl Rng) -> Result<Sequential> {
    let (c_in, classes) = (spec.in_channels, spec.num_classes);
    let mut layers: Vec<Box<dyn Module>> = match config {
        NinConfig::ImageNet => {
            let pool = Step::plain(3, 2);
            spatial_out("nin", spec, &[Step::plain(11, 4), pool, pool, pool])?;
            let max = || max_pool(3, 2, 0, false);
            vec![
                Box::new(nin_block(c_in, [96; 3], (11, 4, 0), rng)?),
                Box::new(max()?),
                Box::new(nin_block(96, [256; 3], (5, 1, 2), rng)?),
                Box::new(max()?),
                Box::new(nin_block(256, [384; 3], (3, 1, 1), rng)?),
                Box::new(max()?),
                Box::new(dropout(0.5, rng)?),
                Box::new(nin_block(384, [classes; 3], (3, 1, 1), rng)?),
            ]
        }
        NinConfig::Cifar => {
            spatial_out("nin-cifar", spec, &[Step::ceil(3, 2), Step::ceil(3, 2)])?;
            let avg = AvgPool2d::new(
                (3, 3),
                AvgPool2dConfig {
                    stride: Some((2, 2)),
                    ceil_mode: true,
                    ..Default::default()
                },
            )?;
            vec![
                Box::new(nin_block(c_in, [192, 160, 96], (5, 1, 2), rng)?),
                Box::new(max_pool(3, 2, 0, true)?),
                Box::new(dropout(0.5, rng)?),
                Box::new(nin_block(96, [192; 3], (5, 1, 2), rng)?),
                Box::new(avg),
                Box::new(dropout(0.5, rng)?),
                Box::new(nin_block(192, [192, 192, classes], (3, 1, 1), rng)?),
            ]
        }
    };
    layers.push(Box::new(AdaptiveAvgPool2d::new((1, 1))?));
    layers.push(Box::new(Flatten::default()));
    Ok(Sequential::new(layers))
}
