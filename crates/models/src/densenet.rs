//! DenseNet (Huang et al. 2017) as torchvision builds it: `densenet121`, `densenet169`.
use crate::conv_bn::{bn, conv};
use crate::dense_block::{transition, DenseBlock};
use crate::error::{Error, Result};
use crate::feature_classifier::{FeatureClassifier, Pooling};
use crate::parts::{linear, max_pool, spatial_out, Step};
use crate::registry::ModelSpec;
use crate::resnet::check_positive;
use convkit_nn::init::{zeros, FanMode};
use convkit_nn::layers::{ReLU, Sequential};
use convkit_nn::Module;
use convkit_tensor::ConvRng;
use rand::Rng;

/// The registry names of this family.
pub(crate) const NAMES: &[&str] = &["densenet121", "densenet169"];

/// The registry's builder for [`NAMES`].
pub(crate) fn build(name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    let depth = name.trim_start_matches("densenet").parse().ok();
    let config = depth
        .and_then(DenseNetConfig::torchvision)
        .ok_or_else(|| Error::Unsupported {
            model: "densenet",
            reason: format!("no torchvision DenseNet is called '{name}'"),
        })?;
    Ok(Box::new(densenet(&config, spec, rng)?))
}

/// What a DenseNet is made of, with torchvision's argument names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DenseNetConfig {
    /// Channels each dense layer adds (k in the paper): 32.
    pub growth_rate: usize,
    /// Dense layers in each block: (6, 12, 24, 16) for DenseNet-121.
    pub block_config: Vec<usize>,
    /// Output channels of the stem convolution: 64.
    pub num_init_features: usize,
    /// A dense layer's 1×1 convolution outputs `bn_size · growth_rate` channels: 4.
    pub bn_size: usize,
}

impl DenseNetConfig {
    /// DenseNet-121 or -169 as in torchvision; `None` for another depth.
    pub fn torchvision(depth: usize) -> Option<DenseNetConfig> {
        let block_config = match depth {
            121 => vec![6, 12, 24, 16],
            169 => vec![6, 12, 32, 32],
            _ => return None,
        };
        Some(DenseNetConfig {
            growth_rate: 32,
            block_config,
            num_init_features: 64,
            bn_size: 4,
        })
    }
}

/// A DenseNet: `features` (`conv0`, `norm0`, `relu0`, `pool0`, then `denseblock1`, `transition1`,
/// ..., the last dense block, `norm5`), ReLU, global average pooling and `classifier`. Tensor
/// names and order equal torchvision's `state_dict`
/// (`features.denseblock1.denselayer1.norm1.weight`, `features.transition1.conv.weight`, ...).
pub type DenseNet = FeatureClassifier;

/// The DenseNet of `config`: 7×7/2 stem convolution, batch norm, ReLU, 3×3/2 max-pool, dense blocks
/// with transitions halving channels and size between them, a final batch norm, then the
/// classifier. Initialised as torchvision: convolutions `kaiming_normal` (fan_in), batch norms
/// weight 1 and bias 0, classifier bias 0 (weight PyTorch's default).
///
/// # Shapes
/// input `[N, spec.in_channels, H, W]` → logits `[N, spec.num_classes]`; each transition's 2×2
/// pooling needs a map of at least 2×2 (29×29 inputs for four blocks).
///
/// # Errors
/// A zero count in the config, zero channels or classes, or an input too small (the message names
/// the minimum).
pub fn densenet(config: &DenseNetConfig, spec: &ModelSpec, rng: &mut impl Rng) -> Result<DenseNet> {
    let c = config;
    check_positive("densenet", "block_config", &c.block_config)?;
    check_positive(
        "densenet",
        "growth_rate, num_init_features and bn_size",
        &[c.growth_rate, c.num_init_features, c.bn_size],
    )?;
    let mut steps = vec![Step::padded(7, 2, 3), Step::padded(3, 2, 1)];
    steps.extend(vec![Step::plain(2, 2); c.block_config.len() - 1]);
    spatial_out("densenet", spec, &steps)?;
    let init = c.num_init_features;
    let mut layers: Vec<(String, Box<dyn Module>)> = vec![
        (
            "conv0".into(),
            Box::new(conv(spec.in_channels, init, 7, 2, 1, FanMode::FanIn, rng)?),
        ),
        ("norm0".into(), Box::new(bn(init)?)),
        ("relu0".into(), Box::new(ReLU)),
        ("pool0".into(), Box::new(max_pool(3, 2, 1, false)?)),
    ];
    let mut channels = init;
    for (i, &num_layers) in c.block_config.iter().enumerate() {
        let block = DenseBlock::new(num_layers, channels, c.growth_rate, c.bn_size, rng)?;
        layers.push((format!("denseblock{}", i + 1), Box::new(block)));
        channels += num_layers * c.growth_rate;
        if i + 1 < c.block_config.len() {
            let trans = transition(channels, channels / 2, rng)?;
            layers.push((format!("transition{}", i + 1), Box::new(trans)));
            channels /= 2;
        }
    }
    layers.push(("norm5".into(), Box::new(bn(channels)?)));
    let classifier = linear(channels, spec.num_classes, rng)?;
    if let Some(bias) = classifier.bias() {
        zeros(bias);
    }
    let features = Sequential::named(layers)?;
    Ok(FeatureClassifier::new(
        "DenseNet",
        features,
        Pooling::Global { relu_first: true },
        Box::new(classifier),
    ))
}
