//! The CIFAR-10 ResNets of He et al. 2015, §4.2: a 3×3 convolution to 16 channels, three stages of
//! n basic blocks each (16, 32, 64 channels; strides 1, 2, 2), global average pooling and a linear
//! classifier: 6n + 2 weighted layers. `resnet20` ... `resnet110` use option-A shortcuts (identity,
//! zero-padded), `resnet20-b` ... option B (projection when the shape changes), and `plain20` ...
//! are the same networks without shortcuts.
use crate::conv_bn::{bn, conv};
use crate::error::{Error, Result};
use crate::parts::{linear, spatial_out, Step};
use crate::registry::ModelSpec;
use crate::resnet::{check_positive, stage, ResNet, ResNetBlock};
use crate::resnet_blocks::{BlockSpec, ShortcutKind};
use convkit_nn::init::FanMode;
use convkit_nn::layers::ReLU;
use convkit_nn::Module;
use convkit_tensor::ConvRng;
use rand::Rng;

/// The registry names of this family.
pub(crate) const NAMES: &[&str] = &[
    "resnet20",
    "resnet32",
    "resnet44",
    "resnet56",
    "resnet110",
    "resnet20-b",
    "resnet32-b",
    "resnet44-b",
    "resnet56-b",
    "resnet110-b",
    "plain20",
    "plain32",
    "plain44",
    "plain56",
    "plain110",
];

/// The registry's builder for [`NAMES`].
pub(crate) fn build(name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    let (shortcut, depth) = if let Some(rest) = name.strip_prefix("plain") {
        (ShortcutKind::Plain, rest)
    } else if let Some(rest) = name.strip_suffix("-b") {
        (ShortcutKind::Projection, rest.trim_start_matches("resnet"))
    } else {
        (ShortcutKind::ZeroPad, name.trim_start_matches("resnet"))
    };
    let depth = depth.parse().map_err(|_| Error::Unsupported {
        model: "cifar-resnet",
        reason: format!("no CIFAR ResNet is called '{name}'"),
    })?;
    Ok(Box::new(cifar_resnet(
        &CifarResNetConfig { depth, shortcut },
        spec,
        rng,
    )?))
}

/// A CIFAR ResNet's depth and shortcut kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CifarResNetConfig {
    /// Weighted layers, 6n + 2 for n blocks per stage: 20, 32, 44, 56, 110, ...
    pub depth: usize,
    /// [`ShortcutKind::ZeroPad`] (option A, the paper's CIFAR choice), `Projection` (option B)
    /// or `Plain`.
    pub shortcut: ShortcutKind,
}

/// Channels of the three stages.
const WIDTHS: [usize; 3] = [16, 32, 64];

/// The CIFAR ResNet of `config`: `conv1` (3×3, 16, no bias), `bn1`, `relu`, `layer1` ... `layer3`
/// of basic blocks (`layerK.I.conv1`, `.bn1`, `.conv2`, `.bn2`, and with option B
/// `.downsample.0`/`.1` where the shape changes), `avgpool`, `fc`. He initialisation as in the
/// paper: convolutions N(0, 2 / fan_in), batch norms weight 1 and bias 0, `fc` PyTorch's default.
///
/// # Shapes
/// input `[N, spec.in_channels, H, W]` → logits `[N, spec.num_classes]` (any H, W ≥ 1; the paper
/// uses 32×32, giving 8×8 maps in the last stage).
///
/// # Errors
/// A depth that is not 6n + 2 with n ≥ 1, zero channels or classes, or an empty input size.
pub fn cifar_resnet(
    config: &CifarResNetConfig,
    spec: &ModelSpec,
    rng: &mut impl Rng,
) -> Result<ResNet> {
    if config.depth < 8 || !(config.depth - 2).is_multiple_of(6) {
        return Err(Error::Unsupported {
            model: "cifar-resnet",
            reason: format!("depth must be 6n + 2 with n ≥ 1, got {}", config.depth),
        });
    }
    let n = (config.depth - 2) / 6;
    check_positive("cifar-resnet", "in_channels", &[spec.in_channels])?;
    spatial_out("cifar-resnet", spec, &[Step::padded(3, 1, 1)])?;
    let fan = FanMode::FanIn;
    let stem: Vec<(&'static str, Box<dyn Module>)> = vec![
        (
            "conv1",
            Box::new(conv(spec.in_channels, WIDTHS[0], 3, 1, 1, fan, rng)?),
        ),
        ("bn1", Box::new(bn(WIDTHS[0])?)),
        ("relu", Box::new(ReLU)),
    ];
    let mut c = WIDTHS[0];
    let mut stages = Vec::with_capacity(WIDTHS.len());
    for (i, &width) in WIDTHS.iter().enumerate() {
        let first = BlockSpec {
            c_in: c,
            c_out: width,
            stride: if i == 0 { 1 } else { 2 },
            shortcut: config.shortcut,
            fan,
        };
        stages.push(stage(ResNetBlock::Basic, first, n, rng)?);
        c = width;
    }
    ResNet::new(stem, stages, linear(c, spec.num_classes, rng)?)
}
