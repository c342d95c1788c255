//! `smallcnn`: a small VGG-style network for 32×32 colour images — the quick CIFAR-10 baseline.
//! Three stages of two 3×3 conv + BatchNorm + ReLU layers (32, 64, 128 channels), each stage
//! ending in a 2×2 max-pool, then global average pooling and one linear layer: 0.29M parameters
//! and 38.6M multiply-adds per 32×32 image. `smallcnn-nobn` is the same network without the batch
//! norms (its convolutions get biases instead): the pair for the BatchNorm experiment.
use crate::error::{Error, Result};
use crate::registry::ModelSpec;
use convkit_nn::layers::{
    AdaptiveAvgPool2d, BatchNorm2d, BatchNormConfig, Conv2d, Conv2dConfig, Flatten, Linear,
    LinearConfig, MaxPool2d, MaxPool2dConfig, ReLU, Sequential,
};
use convkit_nn::Module;
use convkit_tensor::ConvRng;
use rand::Rng;

/// The registry names of this family.
pub(crate) const NAMES: &[&str] = &["smallcnn", "smallcnn-nobn"];

/// The registry's builder for [`NAMES`].
pub(crate) fn build(name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    Ok(Box::new(small_cnn(spec, name == "smallcnn", rng)?))
}

/// Channels of the three stages.
const WIDTHS: [usize; 3] = [32, 64, 128];

/// The small CNN, named like a `nn.Sequential` of sub-`Sequential`s: `stage1.0.weight` (conv),
/// `stage1.1.running_mean` (batch norm), ..., `fc.weight`; without `batch_norm` the stages hold
/// conv, ReLU, conv, ReLU, max-pool.
///
/// # Shapes
/// input `[N, C, H, W]` with H, W ≥ 8 (three 2×2 poolings) → logits `[N, classes]`.
///
/// # Errors
/// An input smaller than 8×8, or zero channels or classes.
pub fn small_cnn(spec: &ModelSpec, batch_norm: bool, rng: &mut impl Rng) -> Result<Sequential> {
    let (h, w) = spec.input_size;
    if h < 8 || w < 8 {
        return Err(Error::Unsupported {
            model: "smallcnn",
            reason: format!("input {h}x{w} is smaller than 8x8"),
        });
    }
    let mut layers: Vec<(String, Box<dyn Module>)> = Vec::new();
    let mut c_in = spec.in_channels;
    for (stage, &width) in WIDTHS.iter().enumerate() {
        let mut block: Vec<Box<dyn Module>> = Vec::new();
        for _ in 0..2 {
            block.push(Box::new(conv3x3(c_in, width, !batch_norm, rng)?));
            if batch_norm {
                block.push(Box::new(BatchNorm2d::new(
                    width,
                    BatchNormConfig::default(),
                )?));
            }
            block.push(Box::new(ReLU));
            c_in = width;
        }
        block.push(Box::new(MaxPool2d::new(
            (2, 2),
            MaxPool2dConfig::default(),
        )?));
        layers.push((
            format!("stage{}", stage + 1),
            Box::new(Sequential::new(block)),
        ));
    }
    layers.push(("pool".into(), Box::new(AdaptiveAvgPool2d::new((1, 1))?)));
    layers.push(("flatten".into(), Box::new(Flatten::default())));
    layers.push((
        "fc".into(),
        Box::new(Linear::new(
            c_in,
            spec.num_classes,
            LinearConfig::default(),
            rng,
        )?),
    ));
    Ok(Sequential::named(layers)?)
}

/// A 3×3 convolution with padding 1; a bias only without a batch norm after it (which has one).
fn conv3x3(c_in: usize, c_out: usize, bias: bool, rng: &mut impl Rng) -> Result<Conv2d> {
    let config = Conv2dConfig {
        padding: (1, 1),
        bias,
        ..Default::default()
    };
    Ok(Conv2d::new(c_in, c_out, (3, 3), config, rng)?)
}
