//! ResNet (He et al. 2015) as torchvision builds it: `resnet18`, `resnet34` (basic blocks),
//! `resnet50`, `resnet101`, `resnet152` (bottlenecks, stride on the 3×3 convolution: "v1.5"), and
//! the [`ResNet`] model type the CIFAR ResNets share.
use crate::conv_bn::{bn, conv};
use crate::error::{Error, Result};
use crate::parts::{linear, max_pool, spatial_out, Step};
use crate::registry::ModelSpec;
use crate::resnet_blocks::{BasicBlock, BlockSpec, Bottleneck, ShortcutKind, BOTTLENECK_EXPANSION};
use convkit_nn::init::FanMode;
use convkit_nn::layers::{AdaptiveAvgPool2d, Linear, ReLU, Sequential};
use convkit_nn::{ForwardPass, Module};
use convkit_tensor::{ConvRng, Tensor};
use rand::Rng;

/// The registry names of this family: torchvision's, and ResNet-18 with the CIFAR stem
/// ([`ResNetStem::Cifar`], the W2 benchmark model).
pub(crate) const NAMES: &[&str] = &[
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnet18-cifar",
];

/// The registry's builder for [`NAMES`].
pub(crate) fn build(name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    let (depth, stem) = match name.strip_suffix("-cifar") {
        Some(depth) => (depth, ResNetStem::Cifar),
        None => (name, ResNetStem::ImageNet),
    };
    let depth = depth.trim_start_matches("resnet").parse().ok();
    let config = depth
        .and_then(ResNetConfig::torchvision)
        .ok_or_else(|| Error::Unsupported {
            model: "resnet",
            reason: format!("no torchvision ResNet is called '{name}'"),
        })?;
    Ok(Box::new(resnet(
        &ResNetConfig { stem, ..config },
        spec,
        rng,
    )?))
}

/// The input's way into a ResNet's stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResNetStem {
    /// torchvision's: 7×7 stride-2 convolution, batch norm, ReLU, 3×3 stride-2 max-pool (a 224×224
    /// input reaches `layer1` at 56×56).
    ImageNet,
    /// For 32×32 images: 3×3 stride-1 convolution, batch norm, ReLU, no max-pool (`layer1` runs at
    /// 32×32). The tensor names are torchvision's all the same (the max-pool has none).
    Cifar,
}

/// The residual block a ResNet stacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResNetBlock {
    /// Two 3×3 convolutions ([`BasicBlock`]); a stage's output has its width in channels.
    Basic,
    /// 1×1, 3×3, 1×1 ([`Bottleneck`]); a stage's output has 4 × its width in channels.
    Bottleneck,
}

impl ResNetBlock {
    /// Output channels of a block of this kind and `width`.
    pub fn out_channels(self, width: usize) -> usize {
        match self {
            ResNetBlock::Basic => width,
            ResNetBlock::Bottleneck => width * BOTTLENECK_EXPANSION,
        }
    }
}

/// What a torchvision-style ResNet is made of. The torchvision models are
/// [`ResNetConfig::torchvision`]; a reduced one keeps the names and block structure with fewer
/// blocks or channels, e.g. for a small PyTorch parity fixture:
///
/// ```
/// use convkit_models::{resnet, ModelSpec, ResNetBlock, ResNetConfig, ResNetStem};
/// use convkit_nn::Module;
/// // torchvision: ResNet(BasicBlock, [1, 1, 1, 1]) with inplanes 8 and widths 8, 16, 32, 64.
/// let config = ResNetConfig { block: ResNetBlock::Basic, layers: [1, 1, 1, 1], widths: [8, 16, 32, 64], stem_width: 8, stem: ResNetStem::ImageNet };
/// let spec = ModelSpec { in_channels: 3, num_classes: 10, input_size: (32, 32) };
/// let model = resnet(&config, &spec, &mut convkit_tensor::seeded_rng(0)).unwrap();
/// assert_eq!(model.parameters()[0].0, "conv1.weight");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResNetConfig {
    pub block: ResNetBlock,
    /// Blocks in `layer1` ... `layer4` (torchvision's `layers`), each at least 1.
    pub layers: [usize; 4],
    /// Width of each stage (torchvision's `planes`: 64, 128, 256, 512); bottleneck stages output
    /// 4 × this many channels.
    pub widths: [usize; 4],
    /// Output channels of the stem convolution (torchvision's initial `inplanes`: 64).
    pub stem_width: usize,
    pub stem: ResNetStem,
}

impl ResNetConfig {
    /// torchvision's widths (stem 64, stages 64, 128, 256, 512) and stem with the given block and
    /// depths.
    pub fn new(block: ResNetBlock, layers: [usize; 4]) -> ResNetConfig {
        ResNetConfig {
            block,
            layers,
            widths: [64, 128, 256, 512],
            stem_width: 64,
            stem: ResNetStem::ImageNet,
        }
    }

    /// ResNet-18, -34, -50, -101 or -152 as in torchvision; `None` for another depth.
    pub fn torchvision(depth: usize) -> Option<ResNetConfig> {
        use ResNetBlock::{Basic, Bottleneck};
        let (block, layers) = match depth {
            18 => (Basic, [2, 2, 2, 2]),
            34 => (Basic, [3, 4, 6, 3]),
            50 => (Bottleneck, [3, 4, 6, 3]),
            101 => (Bottleneck, [3, 4, 23, 3]),
            152 => (Bottleneck, [3, 8, 36, 3]),
            _ => return None,
        };
        Some(ResNetConfig::new(block, layers))
    }
}

/// A ResNet: a stem, residual stages `layer1`, `layer2`, ..., global average pooling (`avgpool`)
/// and a linear classifier (`fc`). Tensor names and order equal torchvision's `state_dict`
/// (`conv1.weight`, `bn1.*`, `layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`, `fc.bias`),
/// except that batch norms carry `num_batches_tracked` as convkit's f32 buffer.
///
/// # Shapes
/// input `[N, in_channels, H, W]` → logits `[N, num_classes]`, for any H, W ≥ 1.
///
/// # Errors
/// An input with the wrong channel count.
pub struct ResNet {
    /// Named layers before the stages (torchvision: `conv1`, `bn1`, `relu`, `maxpool`).
    stem: Vec<(&'static str, Box<dyn Module>)>,
    /// `layer1`, `layer2`, ...: each a `Sequential` of residual blocks.
    stages: Vec<(String, Sequential)>,
    avgpool: AdaptiveAvgPool2d,
    fc: Linear,
}

impl ResNet {
    /// Assembles a ResNet; the stages are named `layer1`, `layer2`, ... in order.
    pub(crate) fn new(
        stem: Vec<(&'static str, Box<dyn Module>)>,
        stages: Vec<Sequential>,
        fc: Linear,
    ) -> Result<ResNet> {
        Ok(ResNet {
            stem,
            stages: stages
                .into_iter()
                .enumerate()
                .map(|(i, s)| (format!("layer{}", i + 1), s))
                .collect(),
            avgpool: AdaptiveAvgPool2d::new((1, 1))?,
            fc,
        })
    }
}

impl Module for ResNet {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> convkit_nn::Result<Tensor> {
        let stem: Vec<(&str, &dyn Module)> =
            self.stem.iter().map(|(n, m)| (*n, m.as_ref())).collect();
        let mut x = pass.chain(&stem, x)?;
        for (name, stage) in &self.stages {
            x = pass.call(name, stage, &x)?;
        }
        let x = pass.call("avgpool", &self.avgpool, &x)?.flatten(1)?;
        pass.call("fc", &self.fc, &x)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        let stem = self.stem.iter().map(|(n, m)| (*n, m.as_ref()));
        let stages = self
            .stages
            .iter()
            .map(|(n, s)| (n.as_str(), s as &dyn Module));
        let head: [(&str, &dyn Module); 2] = [("avgpool", &self.avgpool), ("fc", &self.fc)];
        stem.chain(stages).chain(head).collect()
    }

    /// The stem runs in order.
    fn fusable_chains(&self) -> Vec<Vec<&str>> {
        vec![self.stem.iter().map(|(n, _)| *n).collect()]
    }
}

/// One stage of `blocks` residual blocks of `block`'s kind, as torchvision's `_make_layer`: the
/// first as `first` says (its stride, and a shortcut of `first.shortcut`'s kind when the shape
/// changes), the others keeping the shape.
pub(crate) fn stage(
    block: ResNetBlock,
    first: BlockSpec,
    blocks: usize,
    rng: &mut impl Rng,
) -> Result<Sequential> {
    let mut layers: Vec<Box<dyn Module>> = Vec::with_capacity(blocks);
    for i in 0..blocks {
        let spec = if i == 0 {
            first
        } else {
            BlockSpec {
                c_in: first.c_out,
                stride: 1,
                ..first
            }
        };
        layers.push(match block {
            ResNetBlock::Basic => Box::new(BasicBlock::new(spec, rng)?),
            ResNetBlock::Bottleneck => Box::new(Bottleneck::new(spec, rng)?),
        });
    }
    Ok(Sequential::new(layers))
}

/// Rejects a zero entry among a config's counts, naming the model and the field.
pub(crate) fn check_positive(model: &'static str, field: &str, values: &[usize]) -> Result<()> {
    if values.contains(&0) {
        return Err(Error::Unsupported {
            model,
            reason: format!("{field} must all be at least 1, got {values:?}"),
        });
    }
    Ok(())
}

/// A torchvision-style ResNet: the stem of `config.stem` (torchvision's: 7×7/2 convolution without
/// bias, batch norm, ReLU, 3×3/2 max-pool), four stages (strides 1, 2, 2, 2) of `config.block`,
/// global average pooling and `fc`. Initialised as torchvision: convolutions
/// `kaiming_normal(fan_out, relu)`, batch norms weight 1 and bias 0 (no zero-init of the last norm
/// of each block), `fc` PyTorch's default.
///
/// # Shapes
/// input `[N, spec.in_channels, H, W]` → logits `[N, spec.num_classes]` (any H, W ≥ 1).
///
/// # Errors
/// A zero block count or width, zero channels or classes, or an empty input size.
pub fn resnet(config: &ResNetConfig, spec: &ModelSpec, rng: &mut impl Rng) -> Result<ResNet> {
    check_positive("resnet", "layers", &config.layers)?;
    check_positive("resnet", "widths", &config.widths)?;
    check_positive("resnet", "stem_width", &[config.stem_width])?;
    let fan = FanMode::FanOut;
    let (kernel, stride) = match config.stem {
        ResNetStem::ImageNet => (7, 2),
        ResNetStem::Cifar => (3, 1),
    };
    let mut steps = vec![Step::padded(kernel, stride, (kernel - 1) / 2)];
    if config.stem == ResNetStem::ImageNet {
        steps.push(Step::padded(3, 2, 1));
    }
    spatial_out("resnet", spec, &steps)?;
    let c_in = spec.in_channels;
    let width = config.stem_width;
    let mut stem: Vec<(&'static str, Box<dyn Module>)> = vec![
        (
            "conv1",
            Box::new(conv(c_in, width, kernel, stride, 1, fan, rng)?),
        ),
        ("bn1", Box::new(bn(width)?)),
        ("relu", Box::new(ReLU)),
    ];
    if config.stem == ResNetStem::ImageNet {
        stem.push(("maxpool", Box::new(max_pool(3, 2, 1, false)?)));
    }
    let mut c = config.stem_width;
    let mut stages = Vec::with_capacity(4);
    for (i, (&blocks, &width)) in config.layers.iter().zip(&config.widths).enumerate() {
        let first = BlockSpec {
            c_in: c,
            c_out: config.block.out_channels(width),
            stride: if i == 0 { 1 } else { 2 },
            shortcut: ShortcutKind::Projection,
            fan,
        };
        stages.push(stage(config.block, first, blocks, rng)?);
        c = first.c_out;
    }
    ResNet::new(stem, stages, linear(c, spec.num_classes, rng)?)
}
