//! DenseNet's building blocks as torchvision names them: `_DenseLayer`, `_DenseBlock` and
//! `_Transition`.
use crate::conv_bn::{bn, conv};
use crate::error::Result;
use crate::parts::{named, Layers};
use convkit_nn::init::FanMode;
use convkit_nn::layers::{AvgPool2d, AvgPool2dConfig, BatchNorm2d, Conv2d, ReLU, Sequential};
use convkit_nn::{ForwardPass, Module};
use convkit_tensor::Tensor;
use rand::Rng;

/// He-init fan of DenseNet's convolutions (torchvision: `kaiming_normal_` with its defaults).
const FAN: FanMode = FanMode::FanIn;

/// One dense layer, torchvision's `_DenseLayer`: `norm1`, `relu1`, `conv1` (1×1 to
/// `bn_size · growth_rate`), `norm2`, `relu2`, `conv2` (3×3 to `growth_rate`); no dropout.
///
/// # Shapes
/// `[N, c_in, H, W]` (all earlier features, concatenated) → `[N, growth_rate, H, W]`.
///
/// # Errors
/// An input with the wrong channel count.
pub struct DenseLayer {
    norm1: BatchNorm2d,
    conv1: Conv2d,
    norm2: BatchNorm2d,
    conv2: Conv2d,
}

impl DenseLayer {
    fn new(c_in: usize, growth_rate: usize, bn_size: usize, rng: &mut impl Rng) -> Result<Self> {
        let inner = bn_size * growth_rate;
        Ok(DenseLayer {
            norm1: bn(c_in)?,
            conv1: conv(c_in, inner, 1, 1, 1, FAN, rng)?,
            norm2: bn(inner)?,
            conv2: conv(inner, growth_rate, 3, 1, 1, FAN, rng)?,
        })
    }
}

impl Module for DenseLayer {
    /// The children in registration order; each norm and the ReLU after it as one op where the
    /// pass allows ([`ForwardPass::norm_relu`]).
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> convkit_nn::Result<Tensor> {
        let out = pass.norm_relu(("norm1", &self.norm1), "relu1", x, |_| Ok(None))?;
        let out = pass.call("conv1", &self.conv1, &out)?;
        let out = pass.norm_relu(("norm2", &self.norm2), "relu2", &out, |_| Ok(None))?;
        pass.call("conv2", &self.conv2, &out)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        vec![
            ("norm1", &self.norm1),
            ("relu1", &ReLU),
            ("conv1", &self.conv1),
            ("norm2", &self.norm2),
            ("relu2", &ReLU),
            ("conv2", &self.conv2),
        ]
    }

    /// All the children, in the order they run: `conv1` fuses with `norm2` and `relu2`.
    fn fusable_chains(&self) -> Vec<Vec<&str>> {
        vec![self.children().into_iter().map(|(n, _)| n).collect()]
    }

    fn type_name(&self) -> &str {
        "_DenseLayer"
    }
}

/// A dense block, torchvision's `_DenseBlock`: layers `denselayer1` ... `denselayerL`, each fed the
/// concatenation of the block's input and every earlier layer's output. Each layer concatenates
/// its inputs afresh (as torchvision's non-memory-efficient path), so the block holds O(L²)
/// activations for backward: simple and correct, not frugal.
///
/// # Shapes
/// `[N, c_in, H, W]` → `[N, c_in + L · growth_rate, H, W]`.
///
/// # Errors
/// An input with the wrong channel count.
pub struct DenseBlock {
    layers: Vec<(String, DenseLayer)>,
}

impl DenseBlock {
    pub(crate) fn new(
        num_layers: usize,
        c_in: usize,
        growth_rate: usize,
        bn_size: usize,
        rng: &mut impl Rng,
    ) -> Result<DenseBlock> {
        let layers = (0..num_layers)
            .map(|i| {
                let layer = DenseLayer::new(c_in + i * growth_rate, growth_rate, bn_size, rng)?;
                Ok((format!("denselayer{}", i + 1), layer))
            })
            .collect::<Result<_>>()?;
        Ok(DenseBlock { layers })
    }
}

impl Module for DenseBlock {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> convkit_nn::Result<Tensor> {
        let mut features = vec![x.clone()];
        for (name, layer) in &self.layers {
            let input = Tensor::concat(&features, 1)?;
            features.push(pass.call(name, layer, &input)?);
        }
        Ok(Tensor::concat(&features, 1)?)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        self.layers
            .iter()
            .map(|(n, l)| (n.as_str(), l as &dyn Module))
            .collect()
    }

    fn type_name(&self) -> &str {
        "_DenseBlock"
    }
}

/// A transition between dense blocks, torchvision's `_Transition` (printed as a `Sequential`):
/// `norm`, `relu`, `conv` (1×1 to `c_out`), `pool` (2×2 average, stride 2).
///
/// # Shapes
/// `[N, c_in, H, W]` → `[N, c_out, ⌊H/2⌋, ⌊W/2⌋]`.
pub(crate) fn transition(c_in: usize, c_out: usize, rng: &mut impl Rng) -> Result<Sequential> {
    let layers: Layers = vec![
        ("norm", Box::new(bn(c_in)?)),
        ("relu", Box::new(ReLU)),
        ("conv", Box::new(conv(c_in, c_out, 1, 1, 1, FAN, rng)?)),
        (
            "pool",
            Box::new(AvgPool2d::new((2, 2), AvgPool2dConfig::default())?),
        ),
    ];
    named(layers)
}
