//! `ConvTranspose1d`, `ConvTranspose2d`, `ConvTranspose3d`: transposed convolution (learnable
//! upsampling), one generic layer, [`ConvTransposeNd`], like the convolutions.
use super::conv_params::{ConvParams, ConvShape};
use crate::error::Result;
use crate::forward_pass::ForwardPass;
use crate::module::{Module, TensorKind};
use convkit_tensor::ops::conv::{
    axes_array, conv_transpose_nd, Axes, ConvTransposeConfig, Rank, Spatial,
};
use convkit_tensor::Tensor;
use rand::Rng;

/// Settings of a [`ConvTransposeNd`] besides channels and kernel size (PyTorch's keyword
/// arguments and defaults); use the aliases [`ConvTranspose1dConfig`], [`ConvTranspose2dConfig`],
/// [`ConvTranspose3dConfig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTransposeNdConfig<const D: usize>
where
    Rank<D>: Spatial<D>,
{
    pub stride: Axes<D>,
    /// Rows/columns removed from each side of the full output.
    pub padding: Axes<D>,
    /// Extra rows/columns on one side of the output; smaller than the stride or the dilation.
    pub output_padding: Axes<D>,
    pub dilation: Axes<D>,
    /// Split channels into this many independent groups.
    pub groups: usize,
    /// Learn an additive per-channel bias.
    pub bias: bool,
}

/// Settings of [`ConvTranspose1d`].
pub type ConvTranspose1dConfig = ConvTransposeNdConfig<1>;
/// Settings of [`ConvTranspose2d`], as (height, width) pairs.
pub type ConvTranspose2dConfig = ConvTransposeNdConfig<2>;
/// Settings of [`ConvTranspose3d`], as (depth, height, width) triples.
pub type ConvTranspose3dConfig = ConvTransposeNdConfig<3>;

impl<const D: usize> Default for ConvTransposeNdConfig<D>
where
    Rank<D>: Spatial<D>,
{
    fn default() -> Self {
        let op = ConvTransposeConfig::<D>::default();
        ConvTransposeNdConfig {
            stride: op.stride,
            padding: op.padding,
            output_padding: op.output_padding,
            dilation: op.dilation,
            groups: op.groups,
            bias: true,
        }
    }
}

impl<const D: usize> ConvTransposeNdConfig<D>
where
    Rank<D>: Spatial<D>,
{
    fn op(&self) -> ConvTransposeConfig<D> {
        ConvTransposeConfig {
            stride: self.stride,
            padding: self.padding,
            output_padding: self.output_padding,
            dilation: self.dilation,
            groups: self.groups,
        }
    }
}

/// Transposed convolution, PyTorch's `nn.ConvTranspose{D}d`; use the aliases [`ConvTranspose1d`],
/// [`ConvTranspose2d`], [`ConvTranspose3d`].
/// Weight `[in_channels, out_channels/groups, kernel...]` (PyTorch's layout) and bias
/// `[out_channels]`, initialised as PyTorch does: Kaiming-uniform with a = √5 and bias from
/// U(−1/√fan_in, 1/√fan_in), where fan_in is computed from the weight's shape as for any conv
/// weight, `weight.shape[1] · Πkernel = out_channels/groups · Πkernel`.
///
/// # Shapes
/// input `[N, in_channels, size...]` → output `[N, out_channels, out...]` with
/// `out = (size − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1` per axis.
///
/// # Errors
/// [`ConvTransposeNd::new`]: zero channels, kernel, stride, dilation or groups; channels not
/// divisible by `groups`; output padding not smaller than the stride or the dilation. `forward`:
/// an input of the wrong rank or channel count, or padding that leaves no output.
///
/// ```
/// use convkit_nn::layers::{ConvTranspose2d, ConvTranspose2dConfig};
/// use convkit_nn::{Mode, Module};
/// use convkit_tensor::{seeded_rng, Tensor};
/// let config = ConvTranspose2dConfig { stride: (2, 2), padding: (1, 1), output_padding: (1, 1), ..Default::default() };
/// let up = ConvTranspose2d::new(16, 8, (3, 3), config, &mut seeded_rng(0)).unwrap();
/// assert_eq!(up.forward(&Tensor::zeros([2, 16, 7, 7]), Mode::Train).unwrap().dims(), &[2, 8, 14, 14]);
/// ```
pub struct ConvTransposeNd<const D: usize>
where
    Rank<D>: Spatial<D>,
{
    config: ConvTransposeNdConfig<D>,
    params: ConvParams,
}

/// Transposed 1-D convolution over `[N, C, L]`; see [`ConvTransposeNd`].
pub type ConvTranspose1d = ConvTransposeNd<1>;
/// Transposed 2-D convolution over `[N, C, H, W]`; see [`ConvTransposeNd`].
pub type ConvTranspose2d = ConvTransposeNd<2>;
/// Transposed 3-D convolution over `[N, C, D, H, W]`; see [`ConvTransposeNd`].
pub type ConvTranspose3d = ConvTransposeNd<3>;

impl<const D: usize> ConvTransposeNd<D>
where
    Rank<D>: Spatial<D>,
{
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: Axes<D>,
        config: ConvTransposeNdConfig<D>,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let shape = ConvShape {
            layer: ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"][D - 1],
            in_channels,
            out_channels,
            kernel: axes_array::<D>(kernel_size).to_vec(),
            groups: config.groups,
            transposed: true,
        };
        let params = shape.build(config.op().validate(), config.bias, rng)?;
        Ok(ConvTransposeNd { config, params })
    }

    pub fn weight(&self) -> &Tensor {
        &self.params.weight
    }

    pub fn bias(&self) -> Option<&Tensor> {
        self.params.bias.as_ref()
    }
}

impl<const D: usize> Module for ConvTransposeNd<D>
where
    Rank<D>: Spatial<D>,
{
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(conv_transpose_nd(
            x,
            self.weight(),
            self.bias(),
            &self.config.op(),
        )?)
    }

    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        self.params.visit(prefix, visitor);
    }

    /// `input elements · out_channels/groups · Πkernel` (each input element is scattered over the
    /// kernel window of every output channel of its group), bias not counted.
    fn macs(&self, input: &[usize], _output: &[usize]) -> u64 {
        self.params.macs(input)
    }

    fn describe(&self) -> String {
        let c = &self.config;
        self.params.describe(
            &axes_array::<D>(c.stride),
            &[
                ("padding", &axes_array::<D>(c.padding), 0),
                ("output_padding", &axes_array::<D>(c.output_padding), 0),
                ("dilation", &axes_array::<D>(c.dilation), 1),
            ],
        )
    }
}
