//! `Conv1d`, `Conv2d`, `Conv3d`: one generic layer, [`ConvNd`], differing only in the spatial rank.
use super::conv_params::{ConvParams, ConvShape};
use crate::error::Result;
use crate::forward_pass::ForwardPass;
use crate::module::{Module, TensorKind};
use convkit_tensor::ops::conv::{axes_array, conv_nd, Axes, ConvConfig, Rank, Spatial};
use convkit_tensor::Tensor;
use rand::Rng;

/// Settings of a [`ConvNd`] besides channels and kernel size (PyTorch's keyword arguments and
/// defaults), each per-axis value a number (1-D) or a tuple (2-D, 3-D); use the aliases
/// [`Conv1dConfig`], [`Conv2dConfig`], [`Conv3dConfig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvNdConfig<const D: usize>
where
    Rank<D>: Spatial<D>,
{
    pub stride: Axes<D>,
    /// Zero padding on each side.
    pub padding: Axes<D>,
    pub dilation: Axes<D>,
    /// Split channels into this many independent groups (`in_channels` for depthwise).
    pub groups: usize,
    /// Learn an additive per-channel bias.
    pub bias: bool,
}

/// Settings of [`Conv1d`].
pub type Conv1dConfig = ConvNdConfig<1>;
/// Settings of [`Conv2d`], as (height, width) pairs.
pub type Conv2dConfig = ConvNdConfig<2>;
/// Settings of [`Conv3d`], as (depth, height, width) triples.
pub type Conv3dConfig = ConvNdConfig<3>;

impl<const D: usize> Default for ConvNdConfig<D>
where
    Rank<D>: Spatial<D>,
{
    fn default() -> Self {
        let op = ConvConfig::<D>::default();
        ConvNdConfig {
            stride: op.stride,
            padding: op.padding,
            dilation: op.dilation,
            groups: op.groups,
            bias: true,
        }
    }
}

impl<const D: usize> ConvNdConfig<D>
where
    Rank<D>: Spatial<D>,
{
    /// The op's settings (the layer's without `bias`).
    pub fn op(&self) -> ConvConfig<D> {
        ConvConfig {
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
            groups: self.groups,
        }
    }
}

/// `D`-dimensional convolution, PyTorch's `nn.Conv{D}d`; use the aliases [`Conv1d`], [`Conv2d`],
/// [`Conv3d`]. Weight `[out_channels, in_channels/groups, kernel...]` and bias `[out_channels]`,
/// initialised as PyTorch does (Kaiming-uniform with a = √5, i.e. U(−1/√fan_in, 1/√fan_in) for
/// both, fan_in = `in_channels/groups · Πkernel`).
///
/// # Shapes
/// input `[N, in_channels, size...]` (`[N, C, L]`, `[N, C, H, W]`, `[N, C, D, H, W]`) → output
/// `[N, out_channels, out...]` with `out = floor((size + 2·padding − dilation·(kernel − 1) − 1) /
/// stride) + 1` per axis.
///
/// # Errors
/// [`ConvNd::new`]: zero channels, kernel, stride, dilation or groups; channels not divisible by
/// `groups`. `forward`: an input whose rank is not `D + 2`, has the wrong channel count, or is
/// smaller than the dilated kernel after padding.
///
/// ```
/// use convkit_nn::layers::{Conv1d, Conv1dConfig, Conv2d, Conv2dConfig, Conv3d, Conv3dConfig};
/// use convkit_nn::{Mode, Module};
/// use convkit_tensor::{seeded_rng, Tensor};
/// let rng = &mut seeded_rng(0);
/// let conv = Conv2d::new(1, 20, (5, 5), Conv2dConfig { padding: (2, 2), ..Default::default() }, rng).unwrap();
/// assert_eq!(conv.forward(&Tensor::zeros([8, 1, 28, 28]), Mode::Train).unwrap().dims(), &[8, 20, 28, 28]);
/// let conv = Conv1d::new(3, 8, 5, Conv1dConfig { padding: 2, ..Default::default() }, rng).unwrap();
/// assert_eq!(conv.forward(&Tensor::zeros([4, 3, 50]), Mode::Train).unwrap().dims(), &[4, 8, 50]);
/// let conv = Conv3d::new(2, 4, (3, 3, 3), Conv3dConfig { stride: (2, 2, 2), ..Default::default() }, rng).unwrap();
/// assert_eq!(conv.forward(&Tensor::zeros([1, 2, 9, 9, 9]), Mode::Train).unwrap().dims(), &[1, 4, 4, 4, 4]);
/// ```
pub struct ConvNd<const D: usize>
where
    Rank<D>: Spatial<D>,
{
    config: ConvNdConfig<D>,
    params: ConvParams,
}

/// 1-D convolution over `[N, C, L]`; see [`ConvNd`].
pub type Conv1d = ConvNd<1>;
/// 2-D convolution over `[N, C, H, W]`; see [`ConvNd`].
pub type Conv2d = ConvNd<2>;
/// 3-D convolution over `[N, C, D, H, W]`; see [`ConvNd`].
pub type Conv3d = ConvNd<3>;

impl<const D: usize> ConvNd<D>
where
    Rank<D>: Spatial<D>,
{
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: Axes<D>,
        config: ConvNdConfig<D>,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let shape = ConvShape {
            layer: ["Conv1d", "Conv2d", "Conv3d"][D - 1],
            in_channels,
            out_channels,
            kernel: axes_array::<D>(kernel_size).to_vec(),
            groups: config.groups,
            transposed: false,
        };
        let params = shape.build(config.op().validate(), config.bias, rng)?;
        Ok(ConvNd { config, params })
    }

    pub fn weight(&self) -> &Tensor {
        &self.params.weight
    }

    pub fn bias(&self) -> Option<&Tensor> {
        self.params.bias.as_ref()
    }

    /// The layer's function with another weight of the same shape in place of its own (DropConnect
    /// passes a masked copy).
    pub fn forward_with_weight(&self, x: &Tensor, weight: &Tensor) -> Result<Tensor> {
        Ok(conv_nd(x, weight, self.bias(), &self.config.op())?)
    }

    /// Stride, padding, dilation, groups and whether it has a bias.
    pub fn config(&self) -> ConvNdConfig<D> {
        self.config
    }
}

impl<const D: usize> Module for ConvNd<D>
where
    Rank<D>: Spatial<D>,
{
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        self.forward_with_weight(x, self.weight())
    }

    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        self.params.visit(prefix, visitor);
    }

    /// `output elements · in_channels/groups · Πkernel`, bias not counted.
    fn macs(&self, _input: &[usize], output: &[usize]) -> u64 {
        self.params.macs(output)
    }

    /// PyTorch's format: padding, dilation, groups and bias only when not at their defaults.
    fn describe(&self) -> String {
        let c = &self.config;
        self.params.describe(
            &axes_array::<D>(c.stride),
            &[
                ("padding", &axes_array::<D>(c.padding), 0),
                ("dilation", &axes_array::<D>(c.dilation), 1),
            ],
        )
    }
}
