//! MobileNet (Howard et al. 2017, "MobileNets"): `mobilenet-v1`, a 3×3 convolution then 13
//! depthwise separable blocks, with the paper's width multiplier α.
use crate::conv_bn::{bn, conv, conv_bn};
use crate::error::{Error, Result};
use crate::feature_classifier::{FeatureClassifier, Pooling};
use crate::parts::{linear, named, spatial_out, Layers, Step};
use crate::registry::ModelSpec;
use convkit_nn::init::FanMode;
use convkit_nn::layers::{ReLU, Sequential};
use convkit_nn::Module;
use convkit_tensor::ConvRng;
use rand::Rng;

/// The registry names of this family.
pub(crate) const NAMES: &[&str] = &["mobilenet-v1"];

/// The registry's builder for [`NAMES`].
pub(crate) fn build(_name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    Ok(Box::new(mobilenet_v1(1.0, spec, rng)?))
}

/// (output channels, stride) of the 13 depthwise separable blocks (the paper's Table 1).
const BLOCKS: [(usize, usize); 13] = [
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
];

/// MobileNet V1 (no PyTorch reference; the names are convkit's, in torchvision's style):
/// `features.0` = `Sequential(conv 3×3/2 to 32, BN, ReLU)`, `features.1` ... `features.13` =
/// depthwise separable blocks `Sequential(0: depthwise 3×3 conv with the stride, 1: BN, 2: ReLU,
/// 3: pointwise 1×1 conv, 4: BN, 5: ReLU)`, global average pooling, `classifier` (linear).
/// Convolutions have no bias.
pub type MobileNetV1 = FeatureClassifier;

/// MobileNet V1 with width multiplier `alpha` (every layer's channels `max(1, ⌊α·c⌋)`, as Keras
/// does; 1.0, 0.75, 0.5 and 0.25 in the paper): 4,231,976 parameters at α = 1 and 1000 classes.
/// Initialised as torchvision's MobileNetV2 (the paper gives no scheme): convolutions
/// `kaiming_normal(fan_out)`, batch norms weight 1 and bias 0, the classifier PyTorch's default.
/// The depthwise convolutions (`groups` = channels) run on the tensor crate's depthwise kernels.
///
/// # Shapes
/// input `[N, spec.in_channels, H, W]` → logits `[N, spec.num_classes]` (any H, W ≥ 1; 224×224
/// in the paper, leaving 7×7 maps before the pooling).
///
/// # Errors
/// An `alpha` that is not positive and finite, zero channels or classes, or an empty input size.
pub fn mobilenet_v1(alpha: f64, spec: &ModelSpec, rng: &mut impl Rng) -> Result<MobileNetV1> {
    if !(alpha.is_finite() && alpha > 0.0) {
        return Err(Error::Unsupported {
            model: "mobilenet-v1",
            reason: format!("the width multiplier must be positive, got {alpha}"),
        });
    }
    spatial_out("mobilenet-v1", spec, &[Step::padded(3, 2, 1)])?;
    let width = |c: usize| ((c as f64 * alpha) as usize).max(1);
    let fan = FanMode::FanOut;
    let mut c = width(32);
    let stem = conv(spec.in_channels, c, 3, 2, 1, fan, rng)?;
    let mut features: Vec<Box<dyn Module>> = vec![Box::new(conv_bn(stem, Some(Box::new(ReLU)))?)];
    for (channels, stride) in BLOCKS {
        let c_out = width(channels);
        let block: Layers = vec![
            ("0", Box::new(conv(c, c, 3, stride, c, fan, rng)?)),
            ("1", Box::new(bn(c)?)),
            ("2", Box::new(ReLU)),
            ("3", Box::new(conv(c, c_out, 1, 1, 1, fan, rng)?)),
            ("4", Box::new(bn(c_out)?)),
            ("5", Box::new(ReLU)),
        ];
        features.push(Box::new(named(block)?));
        c = c_out;
    }
    Ok(FeatureClassifier::new(
        "MobileNetV1",
        Sequential::new(features),
        Pooling::Global { relu_first: false },
        Box::new(linear(c, spec.num_classes, rng)?),
    ))
}
