//! `Conv3d`: 3-D convolution over `[N, C, D, H, W]` volumes.
use super::conv_params::{describe, ConvParams, ConvShape};
use crate::error::Result;
use crate::forward_pass::ForwardPass;
use crate::module::{Module, TensorKind};
use convkit_tensor::ops::conv::{conv3d, Conv3dConfig as ConvOpConfig};
use convkit_tensor::Tensor;
use rand::Rng;

type Triple = (usize, usize, usize);

fn arr((a, b, c): Triple) -> [usize; 3] {
    [a, b, c]
}

/// Settings of [`Conv3d`] besides channels and kernel size (PyTorch's keyword arguments and
/// defaults), as (depth, height, width) triples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv3dConfig {
    pub stride: Triple,
    /// Zero padding on each side.
    pub padding: Triple,
    pub dilation: Triple,
    /// Split channels into this many independent groups.
    pub groups: usize,
    /// Learn an additive per-channel bias.
    pub bias: bool,
}

impl Default for Conv3dConfig {
    fn default() -> Self {
        let op = ConvOpConfig::default();
        Conv3dConfig {
            stride: op.stride,
            padding: op.padding,
            dilation: op.dilation,
            groups: op.groups,
            bias: true,
        }
    }
}

impl Conv3dConfig {
    fn op(&self) -> ConvOpConfig {
        ConvOpConfig {
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
            groups: self.groups,
        }
    }
}

/// 3-D convolution, PyTorch's `nn.Conv3d`: weight `[out_channels, in_channels/groups, kD, kH, kW]`
/// and bias `[out_channels]`, initialised as PyTorch does (Kaiming-uniform with a = √5, i.e.
/// U(−1/√fan_in, 1/√fan_in) for both, fan_in = `in_channels/groups · kD · kH · kW`).
///
/// # Shapes
/// input `[N, in_channels, D, H, W]` → output `[N, out_channels, D_out, H_out, W_out]` with
/// `D_out = floor((D + 2·padding − dilation·(kD − 1) − 1) / stride) + 1`, likewise H and W.
///
/// # Errors
/// [`Conv3d::new`]: zero channels, kernel, stride, dilation or groups; channels not divisible by
/// `groups`. `forward`: an input that is not 5-D, has the wrong channel count, or is smaller than the
/// dilated kernel after padding.
///
/// ```
/// use convkit_nn::layers::{Conv3d, Conv3dConfig};
/// use convkit_nn::{Mode, Module};
/// use convkit_tensor::{seeded_rng, Tensor};
/// let conv = Conv3d::new(2, 4, (3, 3, 3), Conv3dConfig { stride: (2, 2, 2), ..Default::default() }, &mut seeded_rng(0)).unwrap();
/// assert_eq!(conv.forward(&Tensor::zeros([1, 2, 9, 9, 9]), Mode::Train).unwrap().dims(), &[1, 4, 4, 4, 4]);
/// ```
pub struct Conv3d {
    in_channels: usize,
    out_channels: usize,
    kernel_size: Triple,
    config: Conv3dConfig,
    params: ConvParams,
}

impl Conv3d {
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: Triple,
        config: Conv3dConfig,
        rng: &mut impl Rng,
    ) -> Result<Conv3d> {
        let kernel = arr(kernel_size);
        let params = Conv3d::shape(in_channels, out_channels, &kernel, config.groups).build(
            config.op().validate(),
            config.bias,
            rng,
        )?;
        Ok(Conv3d {
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
            layer: "Conv3d",
            in_channels,
            out_channels,
            kernel,
            groups,
            transposed: false,
        }
    }

    pub fn weight(&self) -> &Tensor {
        &self.params.weight
    }

    pub fn bias(&self) -> Option<&Tensor> {
        self.params.bias.as_ref()
    }
}

impl Module for Conv3d {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(conv3d(x, self.weight(), self.bias(), &self.config.op())?)
    }

    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        self.params.visit(prefix, visitor);
    }

    /// `output elements · in_channels/groups · Πkernel`, bias not counted.
    fn macs(&self, _input: &[usize], output: &[usize]) -> u64 {
        self.params.macs(output)
    }

    fn describe(&self) -> String {
        let c = &self.config;
        let kernel = arr(self.kernel_size);
        describe(
            &Conv3d::shape(self.in_channels, self.out_channels, &kernel, c.groups),
            &arr(c.stride),
            &[
                ("padding", &arr(c.padding), 0),
                ("dilation", &arr(c.dilation), 1),
            ],
            c.bias,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::{assert_close, ramp};
    use crate::Mode;
    use convkit_tensor::seeded_rng;

    #[test]
    fn forward_matches_hand_computation() {
        // A 2×2×2 all-ones kernel (bias 1) over a 2×2×2 ramp 0..7 sums it: 28 + 1.
        let c = Conv3d::new(1, 1, (2, 2, 2), Conv3dConfig::default(), &mut seeded_rng(0)).unwrap();
        c.weight().data_mut().fill(1.0);
        c.bias().unwrap().data_mut().fill(1.0);
        let y = c.forward(&ramp(&[1, 1, 2, 2, 2], 1.0), Mode::Eval).unwrap();
        assert_eq!(y.dims(), &[1, 1, 1, 1, 1]);
        assert_close(&y.to_vec(), &[29.0]);
    }

    #[test]
    fn init_names_description_and_errors() {
        let c = Conv3d::new(
            2,
            3,
            (3, 1, 2),
            Conv3dConfig {
                padding: (1, 0, 0),
                ..Default::default()
            },
            &mut seeded_rng(1),
        )
        .unwrap();
        assert_eq!(c.weight().dims(), &[3, 2, 3, 1, 2]);
        let bound = 1.0 / (2.0 * 6.0f32).sqrt();
        for (_, t) in c.parameters() {
            let max = t.data().iter().fold(0f32, |m, x| m.max(x.abs()));
            assert!(
                max <= bound && max > 0.5 * bound,
                "max {max} vs bound {bound}"
            );
        }
        assert_eq!(
            c.describe(),
            "Conv3d(2, 3, kernel_size=(3, 1, 2), stride=(1, 1, 1), padding=(1, 0, 0))"
        );
        let err = Conv3d::new(
            2,
            3,
            (3, 3, 3),
            Conv3dConfig {
                dilation: (1, 0, 1),
                ..Default::default()
            },
            &mut seeded_rng(0),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("Conv3d: invalid configuration: dilation must be at least 1"),
            "{err}"
        );
        let err = c
            .forward(&Tensor::zeros([1, 3, 4, 4, 4]), Mode::Eval)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("conv3d: input has 3 channels but weight expects 2"),
            "{err}"
        );
    }
}
