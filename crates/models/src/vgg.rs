//! VGG (Simonyan & Zisserman, 2015), torchvision's `vgg11` .. `vgg19_bn` exactly: the paper's
//! configurations A (11 weight layers), B (13), D (16) and E (19) of 3×3 convolutions (padding 1,
//! ReLU, optionally BatchNorm before the ReLU) and 2×2 max-pools, then an adaptive 7×7 average pool
//! and the classifier fc 4096 → ReLU → dropout → fc 4096 → ReLU → dropout → fc (classes).
//! Parameters at 1000 classes: 132,863,336 (vgg11), 133,047,848 (vgg13), 138,357,544 (vgg16),
//! 143,667,240 (vgg19); the BatchNorm forms add 2 per conv channel. Five 2×2 pools need at least a
//! 32×32 input (which leaves 1×1, spread to 7×7 by the adaptive pool, as torchvision does).
use crate::error::{Error, Result};
use crate::feature_classifier::{FeatureClassifier, Pooling};
use crate::parts::{conv, dropout, max_pool, spatial_out, Step};
use crate::registry::ModelSpec;
use convkit_nn::init::{self, FanMode, Nonlinearity};
use convkit_nn::layers::{
    AdaptiveAvgPool2d, BatchNorm2d, BatchNormConfig, Linear, LinearConfig, ReLU, Sequential,
};
use convkit_nn::Module;
use convkit_tensor::ConvRng;
use rand::Rng;

/// The registry names of this family.
pub(crate) const NAMES: &[&str] = &[
    "vgg11", "vgg11-bn", "vgg13", "vgg13-bn", "vgg16", "vgg16-bn", "vgg19", "vgg19-bn",
];

/// The registry's builder for [`NAMES`].
pub(crate) fn build(name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    let variant = [VggConfig::A, VggConfig::B, VggConfig::D, VggConfig::E]
        .into_iter()
        .flat_map(|config| [(config, false), (config, true)])
        .find(|&(config, batch_norm)| config.model_name(batch_norm) == name);
    match variant {
        Some((config, batch_norm)) => Ok(Box::new(vgg(config, batch_norm, spec, rng)?)),
        None => Err(Error::Unsupported {
            model: "vgg",
            reason: format!("no VGG variant is named {name}"),
        }),
    }
}

/// The paper's configuration tables (Table 1), named by their column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VggConfig {
    /// VGG-11: 8 conv + 3 fc layers.
    A,
    /// VGG-13: 10 conv + 3 fc layers.
    B,
    /// VGG-16: 13 conv + 3 fc layers.
    D,
    /// VGG-19: 16 conv + 3 fc layers.
    E,
}

/// A 2×2 max-pool in a configuration table (every other entry is a conv's output channels).
const M: usize = 0;

impl VggConfig {
    /// The registry name of this configuration, with or without BatchNorm (`vgg16-bn`).
    pub fn model_name(self, batch_norm: bool) -> &'static str {
        match (self, batch_norm) {
            (VggConfig::A, false) => "vgg11",
            (VggConfig::A, true) => "vgg11-bn",
            (VggConfig::B, false) => "vgg13",
            (VggConfig::B, true) => "vgg13-bn",
            (VggConfig::D, false) => "vgg16",
            (VggConfig::D, true) => "vgg16-bn",
            (VggConfig::E, false) => "vgg19",
            (VggConfig::E, true) => "vgg19-bn",
        }
    }

    /// The feature layers in order: output channels of each 3×3 conv, [`M`] for a max-pool.
    fn table(self) -> &'static [usize] {
        match self {
            VggConfig::A => &[64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
            VggConfig::B => &[
                64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M,
            ],
            VggConfig::D => &[
                64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M,
            ],
            VggConfig::E => &[
                64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512,
                512, 512, M,
            ],
        }
    }
}

/// torchvision's `VGG` for a configuration, with BatchNorm after every conv when `batch_norm`
/// (`vgg16_bn`). `features.N` numbers the layers as torchvision does (conv, BatchNorm if any,
/// ReLU per table entry, the pool as one layer); the classifier is `classifier.0..6`. Initialised as torchvision does:
/// convs Kaiming-normal (fan-out, ReLU) with zero bias, BatchNorm 1 and 0, linear layers N(0, 0.01)
/// with zero bias.
///
/// # Shapes
/// input `[N, C, H, W]` → logits `[N, classes]`; H and W at least 32.
///
/// # Errors
/// An input smaller than 32×32 ([`crate::Error::Unsupported`]), or zero channels or classes.
pub fn vgg(
    config: VggConfig,
    batch_norm: bool,
    spec: &ModelSpec,
    rng: &mut impl Rng,
) -> Result<FeatureClassifier> {
    spatial_out(config.model_name(batch_norm), spec, &[Step::plain(2, 2); 5])?;
    let mut features: Vec<Box<dyn Module>> = Vec::new();
    let mut c_in = spec.in_channels;
    for &c_out in config.table() {
        if c_out == M {
            features.push(Box::new(max_pool(2, 2, 0, false)?));
            continue;
        }
        let layer = conv(c_in, c_out, 3, 1, 1, true, rng)?;
        init::kaiming_normal(
            layer.weight(),
            0.0,
            FanMode::FanOut,
            Nonlinearity::Relu,
            rng,
        )?;
        init::zeros(layer.bias().expect("built with a bias"));
        features.push(Box::new(layer));
        if batch_norm {
            features.push(Box::new(BatchNorm2d::new(
                c_out,
                BatchNormConfig::default(),
            )?));
        }
        features.push(Box::new(ReLU));
        c_in = c_out;
    }
    let classifier: Vec<Box<dyn Module>> = vec![
        Box::new(fc(512 * 7 * 7, 4096, rng)?),
        Box::new(ReLU),
        Box::new(dropout(0.5, rng)?),
        Box::new(fc(4096, 4096, rng)?),
        Box::new(ReLU),
        Box::new(dropout(0.5, rng)?),
        Box::new(fc(4096, spec.num_classes, rng)?),
    ];
    Ok(FeatureClassifier::new(
        "VGG",
        Sequential::new(features),
        Pooling::Adaptive(AdaptiveAvgPool2d::new((7, 7))?),
        Box::new(Sequential::new(classifier)),
    ))
}

/// A linear layer initialised as torchvision's VGG does: N(0, 0.01) weights, zero bias.
fn fc(c_in: usize, c_out: usize, rng: &mut impl Rng) -> Result<Linear> {
    let layer = Linear::new(c_in, c_out, LinearConfig::default(), rng)?;
    init::normal(layer.weight(), 0.0, 0.01, rng);
    init::zeros(layer.bias().expect("built with a bias"));
    Ok(layer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_the_variants_names() {
        let names: Vec<_> = [VggConfig::A, VggConfig::B, VggConfig::D, VggConfig::E]
            .into_iter()
            .flat_map(|c| [c.model_name(false), c.model_name(true)])
            .collect();
        assert_eq!(names, NAMES);
    }
}
