//! `ConvTranspose2d`: transposed 2-D convolution (learnable upsampling) over `[N, C, H, W]`.
use super::conv_params::{describe, ConvParams, ConvShape};
use crate::error::Result;
use crate::forward_pass::ForwardPass;
use crate::module::{Module, TensorKind};
use convkit_tensor::ops::conv::{conv_transpose2d, ConvTranspose2dConfig as ConvOpConfig};
use convkit_tensor::Tensor;
use rand::Rng;

type Pair = (usize, usize);

fn arr((a, b): Pair) -> [usize; 2] {
    [a, b]
}

/// Settings of [`ConvTranspose2d`] besides channels and kernel size (PyTorch's keyword arguments
/// and defaults), as (height, width) pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTranspose2dConfig {
    pub stride: Pair,
    /// Rows/columns removed from each side of the full output.
    pub padding: Pair,
    /// Extra rows/columns on one side of the output; smaller than the stride or the dilation.
    pub output_padding: Pair,
    pub dilation: Pair,
    /// Split channels into this many independent groups.
    pub groups: usize,
    /// Learn an additive per-channel bias.
    pub bias: bool,
}

impl Default for ConvTranspose2dConfig {
    fn default() -> Self {
        let op = ConvOpConfig::default();
        ConvTranspose2dConfig {
            stride: op.stride,
            padding: op.padding,
            output_padding: op.output_padding,
            dilation: op.dilation,
            groups: op.groups,
            bias: true,
        }
    }
}

impl ConvTranspose2dConfig {
    fn op(&self) -> ConvOpConfig {
        ConvOpConfig {
            stride: self.stride,
            padding: self.padding,
            output_padding: self.output_padding,
            dilation: self.dilation,
            groups: self.groups,
        }
    }
}

/// Transposed 2-D convolution, PyTorch's `nn.ConvTranspose2d`: weight
/// `[in_channels, out_channels/groups, kH, kW]` (PyTorch's layout) and bias `[out_channels]`,
/// initialised as PyTorch does: Kaiming-uniform with a = √5 and bias from U(−1/√fan_in,
/// 1/√fan_in), where fan_in is computed from the weight's shape as for any conv weight,
/// `weight.shape[1] · kH · kW = out_channels/groups · kH · kW`.
///
/// # Shapes
/// input `[N, in_channels, H, W]` → output `[N, out_channels, H_out, W_out]` with
/// `H_out = (H − 1)·stride − 2·padding + dilation·(kH − 1) + output_padding + 1`, likewise W.
///
/// # Errors
/// [`ConvTranspose2d::new`]: zero channels, kernel, stride, dilation or groups; channels not
/// divisible by `groups`; output padding not smaller than the stride or the dilation. `forward`:
/// an input that is not 4-D or has the wrong channel count, or padding that leaves no output.
///
/// ```
/// use convkit_nn::layers::{ConvTranspose2d, ConvTranspose2dConfig};
/// use convkit_nn::{Mode, Module};
/// use convkit_tensor::{seeded_rng, Tensor};
/// let config = ConvTranspose2dConfig { stride: (2, 2), padding: (1, 1), output_padding: (1, 1), ..Default::default() };
/// let up = ConvTranspose2d::new(16, 8, (3, 3), config, &mut seeded_rng(0)).unwrap();
/// assert_eq!(up.forward(&Tensor::zeros([2, 16, 7, 7]), Mode::Train).unwrap().dims(), &[2, 8, 14, 14]);
/// ```
pub struct ConvTranspose2d {
    in_channels: usize,
    out_channels: usize,
    kernel_size: Pair,
    config: ConvTranspose2dConfig,
    params: ConvParams,
}

impl ConvTranspose2d {
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: Pair,
        config: ConvTranspose2dConfig,
        rng: &mut impl Rng,
    ) -> Result<ConvTranspose2d> {
        let kernel = arr(kernel_size);
        let shape = ConvTranspose2d::shape(in_channels, out_channels, &kernel, config.groups);
        let params = shape.build(config.op().validate(), config.bias, rng)?;
        Ok(ConvTranspose2d {
            in_channels,
            out_channels,
            kernel_size,
            config,
            params,
        })
    }

    fn shape(
        in_channels: usize,
        out_channels: usize,
        kernel: &[usize],
        groups: usize,
    ) -> ConvShape<'_> {
        ConvShape {
            layer: "ConvTranspose2d",
            in_channels,
            out_channels,
            kernel,
            groups,
            transposed: true,
        }
    }

    pub fn weight(&self) -> &Tensor {
        &self.params.weight
    }

    pub fn bias(&self) -> Option<&Tensor> {
        self.params.bias.as_ref()
    }
}

impl Module for ConvTranspose2d {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(conv_transpose2d(
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
        let kernel = arr(self.kernel_size);
        describe(
            &ConvTranspose2d::shape(self.in_channels, self.out_channels, &kernel, c.groups),
            &arr(c.stride),
            &[
                ("padding", &arr(c.padding), 0),
                ("output_padding", &arr(c.output_padding), 0),
                ("dilation", &arr(c.dilation), 1),
            ],
            c.bias,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::assert_close;
    use crate::Mode;
    use convkit_tensor::seeded_rng;

    #[test]
    fn stride_2_kernel_2_spreads_each_input_over_a_block() {
        // With a 2×2 kernel and stride 2 each input value paints its own 2×2 block, times the kernel.
        let c = ConvTranspose2d::new(
            1,
            1,
            (2, 2),
            ConvTranspose2dConfig {
                stride: (2, 2),
                bias: false,
                ..Default::default()
            },
            &mut seeded_rng(0),
        )
        .unwrap();
        c.weight().data_mut().copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
        let x = Tensor::from_vec(vec![1.0, 10.0], [1, 1, 1, 2]).unwrap();
        let y = c.forward(&x, Mode::Eval).unwrap();
        assert_eq!(y.dims(), &[1, 1, 2, 4]);
        assert_close(&y.to_vec(), &[1.0, 2.0, 10.0, 20.0, 3.0, 4.0, 30.0, 40.0]);
    }

    #[test]
    fn layout_init_description_and_errors() {
        let c = ConvTranspose2d::new(
            6,
            4,
            (3, 3),
            ConvTranspose2dConfig {
                stride: (2, 2),
                output_padding: (1, 1),
                groups: 2,
                ..Default::default()
            },
            &mut seeded_rng(1),
        )
        .unwrap();
        assert_eq!(c.weight().dims(), &[6, 2, 3, 3]);
        // PyTorch's fan_in for a transposed conv: weight.shape[1]·k = 2·9.
        let bound = 1.0 / (2.0 * 9.0f32).sqrt();
        for (_, t) in c.parameters() {
            let max = t.data().iter().fold(0f32, |m, x| m.max(x.abs()));
            assert!(
                max <= bound && max > 0.5 * bound,
                "max {max} vs bound {bound}"
            );
        }
        assert_eq!(
            c.describe(),
            "ConvTranspose2d(6, 4, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1), groups=2)"
        );
        let err = ConvTranspose2d::new(
            6,
            4,
            (3, 3),
            ConvTranspose2dConfig {
                stride: (2, 2),
                output_padding: (2, 2),
                ..Default::default()
            },
            &mut seeded_rng(0),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("ConvTranspose2d: invalid configuration: output_padding (2, 2) must be smaller than either stride (2, 2) or dilation (1, 1)"),
            "{err}"
        );
        let err = c
            .forward(&Tensor::zeros([1, 4, 5, 5]), Mode::Eval)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("conv_transpose2d: input has 4 channels but weight expects 6"),
            "{err}"
        );
    }
}
