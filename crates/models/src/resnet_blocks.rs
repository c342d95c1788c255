//! The residual blocks of the ResNet families (torchvision's `BasicBlock` and `Bottleneck`, reused
//! by the CIFAR ResNets and their plain counterparts) and their shortcut connections.
use crate::conv_bn::{bn, conv, conv_bn};
use crate::error::{Error, Result};
use convkit_nn::init::FanMode;
use convkit_nn::layers::{BatchNorm2d, Conv2d, ReLU};
use convkit_nn::{ForwardPass, Module};
use convkit_tensor::ops::shortcut::zero_pad_shortcut;
use convkit_tensor::Tensor;
use rand::Rng;
use std::any::Any;

/// How a block's input reaches its output when the block changes the shape (stride > 1 or more
/// channels); a shape-keeping block adds its input unchanged except in a plain network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShortcutKind {
    /// No shortcut at all: the "plain" networks of He et al. §4.2.
    Plain,
    /// He et al.'s option A: identity, subsampled by the stride and zero-padded with the extra
    /// channels; no parameters.
    ZeroPad,
    /// Option B, and torchvision's `downsample`: a 1×1 convolution with the stride, then batch norm.
    Projection,
}

/// A block's shortcut as built: what [`Shortcut::apply`] adds to the residual branch.
enum Shortcut {
    None,
    Identity,
    /// A module that maps the input to the output's shape, registered as `downsample`.
    Downsample(Box<dyn Module>),
}

impl Shortcut {
    /// The shortcut a block from `c_in` to `c_out` channels with `stride` gets under `kind`.
    fn new(
        kind: ShortcutKind,
        c_in: usize,
        c_out: usize,
        stride: usize,
        fan: FanMode,
        rng: &mut impl Rng,
    ) -> Result<Shortcut> {
        let same_shape = stride == 1 && c_in == c_out;
        Ok(match kind {
            ShortcutKind::Plain => Shortcut::None,
            _ if same_shape => Shortcut::Identity,
            ShortcutKind::ZeroPad => Shortcut::Downsample(Box::new(ZeroPadShortcut {
                stride,
                c_in,
                c_out,
            })),
            ShortcutKind::Projection => Shortcut::Downsample(Box::new(conv_bn(
                conv(c_in, c_out, 1, stride, 1, fan, rng)?,
                None,
            )?)),
        })
    }

    /// What the shortcut adds to the residual branch for the block input `x` (nothing in a
    /// plain network).
    fn output(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> convkit_nn::Result<Option<Tensor>> {
        Ok(match self {
            Shortcut::None => None,
            Shortcut::Identity => Some(x.clone()),
            Shortcut::Downsample(d) => Some(pass.call("downsample", d.as_ref(), x)?),
        })
    }

    /// Whether the block has a shortcut (it is not a plain network's).
    fn is_some(&self) -> bool {
        !matches!(self, Shortcut::None)
    }

    /// The `downsample` child, when there is one.
    fn child(&self) -> Option<(&'static str, &dyn Module)> {
        match self {
            Shortcut::Downsample(d) => Some(("downsample", d.as_ref())),
            _ => None,
        }
    }
}

/// He et al.'s option-A shortcut: the input subsampled with the block's stride (every `stride`-th
/// row and column) and zero channels appended up to `c_out` (after the input's
/// channels). No parameters.
///
/// # Shapes
/// `[N, c_in, H, W]` → `[N, c_out, ⌈H/stride⌉, ⌈W/stride⌉]`.
///
/// # Errors
/// An input that is not `[N, c_in, H, W]`.
pub struct ZeroPadShortcut {
    stride: usize,
    c_in: usize,
    c_out: usize,
}

impl Module for ZeroPadShortcut {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> convkit_nn::Result<Tensor> {
        if x.rank() == 4 && x.dims()[1] != self.c_in {
            return Err(convkit_tensor::Error::shape(
                "ZeroPadShortcut",
                format!("input has {} channels, expected {}", x.dims()[1], self.c_in),
            )
            .into());
        }
        Ok(zero_pad_shortcut(x, self.stride, self.c_out)?)
    }

    fn describe(&self) -> String {
        format!(
            "ZeroPadShortcut(stride={}, in_channels={}, out_channels={})",
            self.stride, self.c_in, self.c_out
        )
    }
}

/// Two 3×3 convolutions with batch norm and ReLU, plus the shortcut; torchvision's `BasicBlock`
/// (`conv1`, `bn1`, `relu`, `conv2`, `bn2`, `downsample`). The stride sits on `conv1`.
///
/// # Shapes
/// `[N, c_in, H, W]` → `[N, c_out, ⌈H/stride⌉, ⌈W/stride⌉]`.
///
/// # Errors
/// An input with the wrong channel count.
pub struct BasicBlock {
    conv1: Conv2d,
    bn1: BatchNorm2d,
    conv2: Conv2d,
    bn2: BatchNorm2d,
    shortcut: Shortcut,
}

/// The settings one residual block is built from; `fan` is the He-init fan of its convolutions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockSpec {
    pub c_in: usize,
    /// Output channels of the block (for a bottleneck: 4 × its inner width).
    pub c_out: usize,
    pub stride: usize,
    pub shortcut: ShortcutKind,
    pub fan: FanMode,
}

impl BasicBlock {
    pub(crate) fn new(s: BlockSpec, rng: &mut impl Rng) -> Result<BasicBlock> {
        Ok(BasicBlock {
            conv1: conv(s.c_in, s.c_out, 3, s.stride, 1, s.fan, rng)?,
            bn1: bn(s.c_out)?,
            conv2: conv(s.c_out, s.c_out, 3, 1, 1, s.fan, rng)?,
            bn2: bn(s.c_out)?,
            shortcut: Shortcut::new(s.shortcut, s.c_in, s.c_out, s.stride, s.fan, rng)?,
        })
    }
}

impl Module for BasicBlock {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> convkit_nn::Result<Tensor> {
        let out = pass.call("conv1", &self.conv1, x)?;
        let out = pass.norm_relu(("bn1", &self.bn1), "relu", &out, |_| Ok(None))?;
        let out = pass.call("conv2", &self.conv2, &out)?;
        pass.norm_relu(("bn2", &self.bn2), "relu", &out, |pass| {
            self.shortcut.output(x, pass)
        })
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        let mut c: Vec<(&str, &dyn Module)> = vec![
            ("conv1", &self.conv1),
            ("bn1", &self.bn1),
            ("relu", &ReLU),
            ("conv2", &self.conv2),
            ("bn2", &self.bn2),
        ];
        c.extend(self.shortcut.child());
        c
    }

    /// The residual branch, up to the sum.
    fn fusable_chains(&self) -> Vec<Vec<&str>> {
        vec![vec!["conv1", "bn1", "relu"], vec!["conv2", "bn2"]]
    }
}

/// 1×1 reduce, 3×3 (with the stride, as torchvision's "ResNet v1.5"), 1×1 expand to `c_out` =
/// 4 × the inner width, each followed by batch norm, ReLU after the first two and after the sum;
/// torchvision's `Bottleneck` (`conv1`, `bn1`, `conv2`, `bn2`, `conv3`, `bn3`, `relu`, `downsample`).
///
/// # Shapes
/// `[N, c_in, H, W]` → `[N, c_out, ⌈H/stride⌉, ⌈W/stride⌉]`.
///
/// # Errors
/// An input with the wrong channel count.
pub struct Bottleneck {
    conv1: Conv2d,
    bn1: BatchNorm2d,
    conv2: Conv2d,
    bn2: BatchNorm2d,
    conv3: Conv2d,
    bn3: BatchNorm2d,
    shortcut: Shortcut,
}

/// Output channels of a bottleneck over its inner width.
pub(crate) const BOTTLENECK_EXPANSION: usize = 4;

impl Bottleneck {
    pub(crate) fn new(s: BlockSpec, rng: &mut impl Rng) -> Result<Bottleneck> {
        let width = s.c_out / BOTTLENECK_EXPANSION;
        Ok(Bottleneck {
            conv1: conv(s.c_in, width, 1, 1, 1, s.fan, rng)?,
            bn1: bn(width)?,
            conv2: conv(width, width, 3, s.stride, 1, s.fan, rng)?,
            bn2: bn(width)?,
            conv3: conv(width, s.c_out, 1, 1, 1, s.fan, rng)?,
            bn3: bn(s.c_out)?,
            shortcut: Shortcut::new(s.shortcut, s.c_in, s.c_out, s.stride, s.fan, rng)?,
        })
    }
}

impl Module for Bottleneck {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> convkit_nn::Result<Tensor> {
        let out = pass.call("conv1", &self.conv1, x)?;
        let out = pass.norm_relu(("bn1", &self.bn1), "relu", &out, |_| Ok(None))?;
        let out = pass.call("conv2", &self.conv2, &out)?;
        let out = pass.norm_relu(("bn2", &self.bn2), "relu", &out, |_| Ok(None))?;
        let out = pass.call("conv3", &self.conv3, &out)?;
        pass.norm_relu(("bn3", &self.bn3), "relu", &out, |pass| {
            self.shortcut.output(x, pass)
        })
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        let mut c: Vec<(&str, &dyn Module)> = vec![
            ("conv1", &self.conv1),
            ("bn1", &self.bn1),
            ("conv2", &self.conv2),
            ("bn2", &self.bn2),
            ("conv3", &self.conv3),
            ("bn3", &self.bn3),
            ("relu", &ReLU),
        ];
        c.extend(self.shortcut.child());
        c
    }

    /// The residual branch, up to the sum.
    fn fusable_chains(&self) -> Vec<Vec<&str>> {
        vec![vec![
            "conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3",
        ]]
    }
}

/// Sets the weight (γ) of the last batch norm of every residual block in `model` to zero, as
/// torchvision's `zero_init_residual` (Goyal et al. 2017): each block then starts out as its
/// shortcut, so a deep ResNet starts out as a shallow one. Returns how many blocks it changed.
///
/// # Errors
/// A model without residual blocks (the blocks of a plain network have no shortcut to start as).
pub fn zero_init_residual(model: &dyn Module) -> Result<usize> {
    fn visit(module: &dyn Module, count: &mut usize) {
        let any = module as &dyn Any;
        let last_norm = match (
            any.downcast_ref::<BasicBlock>(),
            any.downcast_ref::<Bottleneck>(),
        ) {
            (Some(b), _) => b.shortcut.is_some().then_some(&b.bn2),
            (_, Some(b)) => b.shortcut.is_some().then_some(&b.bn3),
            _ => None,
        };
        if let Some(weight) = last_norm.and_then(BatchNorm2d::weight) {
            weight.data_mut().fill(0.0);
            *count += 1;
        }
        for (_, child) in module.children() {
            visit(child, count);
        }
    }
    let mut count = 0;
    visit(model, &mut count);
    if count == 0 {
        return Err(Error::Unsupported {
            model: "zero_init_residual",
            reason: "the model has no residual block with a shortcut and an affine batch norm"
                .into(),
        });
    }
    Ok(count)
}
