//! The settings of the convolution family, generic over the spatial rank `D`: [`ConvConfig`]
//! (stride, padding, dilation, groups) and [`ConvTransposeConfig`] (plus output padding), written
//! as PyTorch writes them: a bare number in 1-D, tuples in 2-D and 3-D.
use super::check::{check_hyper, tuple};
use crate::error::{Error, Result};
use crate::kernels::conv_geometry::ConvGeometry;
use std::fmt::Debug;

/// The spatial rank `D` of a convolution as a type, so that [`Spatial`] can give each rank the
/// type its per-axis settings are written in.
#[derive(Clone, Copy, Debug)]
pub struct Rank<const D: usize>;

/// How the per-axis settings of a `D`-dimensional convolution are written: `usize` for 1-D,
/// `(usize, usize)` for 2-D, `(usize, usize, usize)` for 3-D (outermost axis first).
pub trait Spatial<const D: usize> {
    /// The per-axis value type.
    type Axes: Copy + Debug + PartialEq + Eq + Send + Sync + 'static;
    /// The values as an array, outermost axis first.
    fn array(axes: Self::Axes) -> [usize; D];
    /// The values of an array, outermost axis first.
    fn from_array(values: [usize; D]) -> Self::Axes;
    /// The same value on every axis.
    fn splat(value: usize) -> Self::Axes;
}

/// The per-axis settings type of a `D`-dimensional convolution (see [`Spatial`]).
pub type Axes<const D: usize> = <Rank<D> as Spatial<D>>::Axes;

impl Spatial<1> for Rank<1> {
    type Axes = usize;
    fn array(axes: usize) -> [usize; 1] {
        [axes]
    }
    fn from_array([a]: [usize; 1]) -> usize {
        a
    }
    fn splat(value: usize) -> usize {
        value
    }
}

impl Spatial<2> for Rank<2> {
    type Axes = (usize, usize);
    fn array((a, b): (usize, usize)) -> [usize; 2] {
        [a, b]
    }
    fn from_array([a, b]: [usize; 2]) -> (usize, usize) {
        (a, b)
    }
    fn splat(value: usize) -> (usize, usize) {
        (value, value)
    }
}

impl Spatial<3> for Rank<3> {
    type Axes = (usize, usize, usize);
    fn array((a, b, c): (usize, usize, usize)) -> [usize; 3] {
        [a, b, c]
    }
    fn from_array([a, b, c]: [usize; 3]) -> (usize, usize, usize) {
        (a, b, c)
    }
    fn splat(value: usize) -> (usize, usize, usize) {
        (value, value, value)
    }
}

/// The per-axis values of `axes` as an array, outermost axis first.
pub fn axes_array<const D: usize>(axes: Axes<D>) -> [usize; D]
where
    Rank<D>: Spatial<D>,
{
    <Rank<D> as Spatial<D>>::array(axes)
}

/// The op name of a `D`-dimensional convolution (`conv2d`), for errors.
pub(crate) fn conv_op_name<const D: usize>() -> &'static str {
    ["conv1d", "conv2d", "conv3d"][D - 1]
}

/// The op name of a `D`-dimensional transposed convolution (`conv_transpose2d`), for errors.
pub(crate) fn conv_transpose_op_name<const D: usize>() -> &'static str {
    ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d"][D - 1]
}

/// Hyper-parameters of a `D`-dimensional convolution ([`conv1d`](super::conv1d),
/// [`conv2d`](super::conv2d), [`conv3d`](super::conv3d)); PyTorch's defaults. Use the aliases
/// [`Conv1dConfig`], [`Conv2dConfig`], [`Conv3dConfig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvConfig<const D: usize>
where
    Rank<D>: Spatial<D>,
{
    pub stride: Axes<D>,
    /// Zero padding on each side.
    pub padding: Axes<D>,
    pub dilation: Axes<D>,
    pub groups: usize,
}

/// Settings of [`conv1d`](super::conv1d): plain numbers.
pub type Conv1dConfig = ConvConfig<1>;
/// Settings of [`conv2d`](super::conv2d): (height, width) pairs.
pub type Conv2dConfig = ConvConfig<2>;
/// Settings of [`conv3d`](super::conv3d): (depth, height, width) triples.
pub type Conv3dConfig = ConvConfig<3>;

impl<const D: usize> Default for ConvConfig<D>
where
    Rank<D>: Spatial<D>,
{
    fn default() -> Self {
        ConvConfig {
            stride: Rank::<D>::splat(1),
            padding: Rank::<D>::splat(0),
            dilation: Rank::<D>::splat(1),
            groups: 1,
        }
    }
}

impl<const D: usize> ConvConfig<D>
where
    Rank<D>: Spatial<D>,
{
    /// Rejects settings that are never valid, whatever the input.
    ///
    /// # Errors
    /// A zero stride, dilation or group count.
    pub fn validate(&self) -> Result<()> {
        check_hyper(
            conv_op_name::<D>(),
            &axes_array::<D>(self.stride),
            &axes_array::<D>(self.dilation),
            self.groups,
        )
    }

    /// The kernel geometry of a convolution with these settings (sizes as the tensors give them).
    pub(crate) fn geometry(
        &self,
        [n, c_in, c_out]: [usize; 3],
        size: [usize; D],
        kernel: [usize; D],
    ) -> ConvGeometry<D> {
        ConvGeometry {
            n,
            c_in,
            c_out,
            size,
            kernel,
            stride: axes_array::<D>(self.stride),
            padding: axes_array::<D>(self.padding),
            dilation: axes_array::<D>(self.dilation),
            groups: self.groups,
        }
    }
}

/// Hyper-parameters of a `D`-dimensional transposed convolution
/// ([`conv_transpose1d`](super::conv_transpose1d), [`conv_transpose2d`](super::conv_transpose2d),
/// [`conv_transpose3d`](super::conv_transpose3d)); PyTorch's defaults. Use the aliases
/// [`ConvTranspose1dConfig`], [`ConvTranspose2dConfig`], [`ConvTranspose3dConfig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTransposeConfig<const D: usize>
where
    Rank<D>: Spatial<D>,
{
    pub stride: Axes<D>,
    /// Rows/columns removed from each side of the full output (`dilation·(k − 1) − padding` zero
    /// padding of the equivalent direct convolution).
    pub padding: Axes<D>,
    /// Extra rows/columns added to one side of the output, to pick among the input sizes a strided
    /// convolution maps to the same output size. Must be smaller than the stride or the dilation.
    pub output_padding: Axes<D>,
    pub dilation: Axes<D>,
    pub groups: usize,
}

/// Settings of [`conv_transpose1d`](super::conv_transpose1d): plain numbers.
pub type ConvTranspose1dConfig = ConvTransposeConfig<1>;
/// Settings of [`conv_transpose2d`](super::conv_transpose2d): (height, width) pairs.
pub type ConvTranspose2dConfig = ConvTransposeConfig<2>;
/// Settings of [`conv_transpose3d`](super::conv_transpose3d): (depth, height, width) triples.
pub type ConvTranspose3dConfig = ConvTransposeConfig<3>;

impl<const D: usize> Default for ConvTransposeConfig<D>
where
    Rank<D>: Spatial<D>,
{
    fn default() -> Self {
        ConvTransposeConfig {
            stride: Rank::<D>::splat(1),
            padding: Rank::<D>::splat(0),
            output_padding: Rank::<D>::splat(0),
            dilation: Rank::<D>::splat(1),
            groups: 1,
        }
    }
}

impl<const D: usize> ConvTransposeConfig<D>
where
    Rank<D>: Spatial<D>,
{
    /// Rejects settings that are never valid, whatever the input.
    ///
    /// # Errors
    /// A zero stride, dilation or group count; an output padding not smaller than either the stride
    /// or the dilation.
    pub fn validate(&self) -> Result<()> {
        let op = conv_transpose_op_name::<D>();
        let (s, d) = (axes_array::<D>(self.stride), axes_array::<D>(self.dilation));
        check_hyper(op, &s, &d, self.groups)?;
        let out_pad = axes_array::<D>(self.output_padding);
        if (0..D).any(|i| out_pad[i] >= s[i] && out_pad[i] >= d[i]) {
            return Err(Error::config(
                op,
                format!(
                    "output_padding {} must be smaller than either stride {} or dilation {}",
                    tuple(&out_pad),
                    tuple(&s),
                    tuple(&d)
                ),
            ));
        }
        Ok(())
    }

    /// The settings of the direct convolution this one is the adjoint of.
    pub(crate) fn direct(&self) -> ConvConfig<D> {
        ConvConfig {
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
            groups: self.groups,
        }
    }
}
