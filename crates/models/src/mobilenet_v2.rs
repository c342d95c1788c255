//! MobileNetV2 (Sandler et al. 2018) as torchvision builds it: `mobilenet-v2`.
use crate::conv_bn::{bn, conv, conv_bn};
use crate::error::{Error, Result};
use crate::feature_classifier::{FeatureClassifier, Pooling};
use crate::parts::{dropout, linear, named, spatial_out, Layers, Step};
use crate::registry::ModelSpec;
use convkit_nn::init::{normal, zeros, FanMode};
use convkit_nn::layers::{ReLU6, Sequential};
use convkit_nn::{ForwardPass, Module};
use convkit_tensor::{ConvRng, Tensor};
use rand::Rng;

/// The registry names of this family.
pub(crate) const NAMES: &[&str] = &["mobilenet-v2"];

/// The registry's builder for [`NAMES`].
pub(crate) fn build(_name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    Ok(Box::new(mobilenet_v2(
        &MobileNetV2Config::default(),
        spec,
        rng,
    )?))
}

/// MobileNetV2's settings, with torchvision's argument names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MobileNetV2Config {
    /// Scales every layer's channels (rounded by [`make_divisible`]); the last convolution keeps
    /// at least 1280 channels. 1.0; the paper also uses 0.35 to 1.4.
    pub width_mult: f64,
    /// Channel counts are rounded to multiples of this: 8.
    pub round_nearest: usize,
    /// Dropout probability before the classifier: 0.2.
    pub dropout: f32,
}

impl Default for MobileNetV2Config {
    fn default() -> Self {
        MobileNetV2Config {
            width_mult: 1.0,
            round_nearest: 8,
            dropout: 0.2,
        }
    }
}

/// torchvision's `_make_divisible`: `v` rounded to the nearest multiple of `divisor` (at least
/// `divisor`), rounded up once more if that lost over 10%.
pub fn make_divisible(v: f64, divisor: usize) -> usize {
    let d = divisor as f64;
    let mut new_v = (((v + d / 2.0) as usize) / divisor * divisor).max(divisor);
    if (new_v as f64) < 0.9 * v {
        new_v += divisor;
    }
    new_v
}

/// The inverted-residual settings (expansion t, channels c, repeats n, first stride s) of the
/// paper's Table 2.
const SETTINGS: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

/// An inverted residual block, torchvision's `InvertedResidual`: `conv` is a `Sequential` of the
/// 1×1 expansion (`conv.0`: conv, BN, ReLU6; absent when the expansion is 1), the 3×3 depthwise
/// convolution with the stride (`conv.1` or `conv.0`: conv, BN, ReLU6), the linear 1×1 projection
/// and its batch norm. The input is added back when the stride is 1 and the channels agree.
///
/// # Shapes
/// `[N, c_in, H, W]` → `[N, c_out, ⌈H/stride⌉, ⌈W/stride⌉]`.
///
/// # Errors
/// An input with the wrong channel count.
pub struct InvertedResidual {
    conv: Sequential,
    use_res_connect: bool,
}

impl InvertedResidual {
    fn new(
        c_in: usize,
        c_out: usize,
        stride: usize,
        expand_ratio: usize,
        rng: &mut impl Rng,
    ) -> Result<InvertedResidual> {
        let hidden = c_in * expand_ratio;
        let fan = FanMode::FanOut;
        let mut layers: Vec<Box<dyn Module>> = Vec::with_capacity(4);
        if expand_ratio != 1 {
            let expand = conv(c_in, hidden, 1, 1, 1, fan, rng)?;
            layers.push(Box::new(conv_bn(expand, Some(Box::new(ReLU6)))?));
        }
        let depthwise = conv(hidden, hidden, 3, stride, hidden, fan, rng)?;
        layers.push(Box::new(conv_bn(depthwise, Some(Box::new(ReLU6)))?));
        layers.push(Box::new(conv(hidden, c_out, 1, 1, 1, fan, rng)?));
        layers.push(Box::new(bn(c_out)?));
        Ok(InvertedResidual {
            conv: Sequential::new(layers),
            use_res_connect: stride == 1 && c_in == c_out,
        })
    }
}

impl Module for InvertedResidual {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> convkit_nn::Result<Tensor> {
        let out = pass.call("conv", &self.conv, x)?;
        if self.use_res_connect {
            Ok(x.add(&out)?)
        } else {
            Ok(out)
        }
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        vec![("conv", &self.conv)]
    }
}

/// MobileNetV2 as torchvision builds it: `features.0` (3×3/2 conv, BN, ReLU6), `features.1` ...
/// `features.17` ([`InvertedResidual`] blocks), `features.18` (1×1 conv to 1280, BN, ReLU6),
/// global average pooling, `classifier` (`0` dropout, `1` linear). Tensor names and order equal
/// torchvision's `state_dict` (`features.2.conv.1.0.weight`, `classifier.1.bias`, ...).
pub type MobileNetV2 = FeatureClassifier;

/// The MobileNetV2 of `config`, initialised as torchvision: convolutions `kaiming_normal(fan_out)`,
/// batch norms weight 1 and bias 0, the classifier N(0, 0.01²) with bias 0. The depthwise
/// convolutions (`groups` = channels) run on the tensor crate's direct depthwise kernels.
///
/// # Shapes
/// input `[N, spec.in_channels, H, W]` → logits `[N, spec.num_classes]` (any H, W ≥ 1).
///
/// # Errors
/// A width multiplier that is not positive and finite, zero `round_nearest`, channels or classes,
/// a dropout outside [0, 1], or an empty input size.
pub fn mobilenet_v2(
    config: &MobileNetV2Config,
    spec: &ModelSpec,
    rng: &mut impl Rng,
) -> Result<MobileNetV2> {
    let w = config.width_mult;
    if !(w.is_finite() && w > 0.0) || config.round_nearest == 0 {
        return Err(Error::Unsupported {
            model: "mobilenet-v2",
            reason: format!(
                "width_mult must be positive and round_nearest at least 1, got {w} and {}",
                config.round_nearest
            ),
        });
    }
    spatial_out("mobilenet-v2", spec, &[Step::padded(3, 2, 1)])?;
    let round = |c: usize, scale: f64| make_divisible(c as f64 * scale, config.round_nearest);
    let fan = FanMode::FanOut;
    let mut c = round(32, w);
    let last = round(1280, w.max(1.0));
    let stem = conv(spec.in_channels, c, 3, 2, 1, fan, rng)?;
    let mut features: Vec<Box<dyn Module>> = vec![Box::new(conv_bn(stem, Some(Box::new(ReLU6)))?)];
    for (t, channels, n, s) in SETTINGS {
        let c_out = round(channels, w);
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            features.push(Box::new(InvertedResidual::new(c, c_out, stride, t, rng)?));
            c = c_out;
        }
    }
    let head = conv(c, last, 1, 1, 1, fan, rng)?;
    features.push(Box::new(conv_bn(head, Some(Box::new(ReLU6)))?));
    let fc = linear(last, spec.num_classes, rng)?;
    normal(fc.weight(), 0.0, 0.01, rng);
    if let Some(bias) = fc.bias() {
        zeros(bias);
    }
    let classifier: Layers = vec![
        ("0", Box::new(dropout(config.dropout, rng)?)),
        ("1", Box::new(fc)),
    ];
    Ok(FeatureClassifier::new(
        "MobileNetV2",
        Sequential::new(features),
        Pooling::Global { relu_first: false },
        Box::new(named(classifier)?),
    ))
}
