//! `Conv1d`: 1-D convolution over `[N, C, L]` sequences.
use super::conv_params::{describe, ConvParams, ConvShape};
use crate::error::Result;
use crate::forward_pass::ForwardPass;
use crate::module::{Module, TensorKind};
use convkit_tensor::ops::conv::{conv1d, Conv1dConfig as ConvOpConfig};
use convkit_tensor::Tensor;
use rand::Rng;

/// Settings of [`Conv1d`] besides channels and kernel size (PyTorch's keyword arguments and
/// defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv1dConfig {
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
    pub dilation: usize,
    /// Split channels into this many independent groups (`in_channels` for depthwise).
    pub groups: usize,
    /// Learn an additive per-channel bias.
    pub bias: bool,
}

impl Default for Conv1dConfig {
    fn default() -> Self {
        let op = ConvOpConfig::default();
        Conv1dConfig {
            stride: op.stride,
            padding: op.padding,
            dilation: op.dilation,
            groups: op.groups,
            bias: true,
        }
    }
}

impl Conv1dConfig {
    fn op(&self) -> ConvOpConfig {
        ConvOpConfig {
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
            groups: self.groups,
        }
    }
}

/// 1-D convolution, PyTorch's `nn.Conv1d`: weight `[out_channels, in_channels/groups, k]` and bias
/// `[out_channels]`, initialised as PyTorch does (Kaiming-uniform with a = √5, i.e.
/// U(−1/√fan_in, 1/√fan_in) for both, fan_in = `in_channels/groups · k`).
///
/// # Shapes
/// input `[N, in_channels, L]` → output `[N, out_channels, L_out]` with
/// `L_out = floor((L + 2·padding − dilation·(k − 1) − 1) / stride) + 1`.
///
/// # Errors
/// [`Conv1d::new`]: zero channels, kernel, stride, dilation or groups; channels not divisible by
/// `groups`. `forward`: an input that is not 3-D, has the wrong channel count, or is shorter than the
/// dilated kernel after padding.
///
/// ```
/// use convkit_nn::layers::{Conv1d, Conv1dConfig};
/// use convkit_nn::{Mode, Module};
/// use convkit_tensor::{seeded_rng, Tensor};
/// let conv = Conv1d::new(3, 8, 5, Conv1dConfig { padding: 2, ..Default::default() }, &mut seeded_rng(0)).unwrap();
/// assert_eq!(conv.forward(&Tensor::zeros([4, 3, 50]), Mode::Train).unwrap().dims(), &[4, 8, 50]);
/// ```
pub struct Conv1d {
    in_channels: usize,
    out_channels: usize,
    kernel_size: usize,
    config: Conv1dConfig,
    params: ConvParams,
}

impl Conv1d {
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        config: Conv1dConfig,
        rng: &mut impl Rng,
    ) -> Result<Conv1d> {
        let params = Conv1d::shape(in_channels, out_channels, &[kernel_size], config.groups)
            .build(config.op().validate(), config.bias, rng)?;
        Ok(Conv1d {
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
            layer: "Conv1d",
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

impl Module for Conv1d {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(conv1d(x, self.weight(), self.bias(), &self.config.op())?)
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
        let kernel = [self.kernel_size];
        describe(
            &Conv1d::shape(self.in_channels, self.out_channels, &kernel, c.groups),
            &[c.stride],
            &[("padding", &[c.padding], 0), ("dilation", &[c.dilation], 1)],
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
    fn forward_matches_hand_computation_and_formula() {
        // Kernel [1, 0, -1] with padding 1 over 0..5: y[i] = x[i−1] − x[i+1], borders padded with 0.
        let c = Conv1d::new(
            1,
            1,
            3,
            Conv1dConfig {
                padding: 1,
                bias: false,
                ..Default::default()
            },
            &mut seeded_rng(0),
        )
        .unwrap();
        c.weight().data_mut().copy_from_slice(&[1.0, 0.0, -1.0]);
        let y = c.forward(&ramp(&[1, 1, 5], 1.0), Mode::Eval).unwrap();
        assert_close(&y.to_vec(), &[-1.0, -2.0, -2.0, -2.0, 3.0]);
        // L_out = floor((21 + 4 − 8 − 1) / 2) + 1 = 9
        let c = Conv1d::new(
            4,
            6,
            5,
            Conv1dConfig {
                stride: 2,
                padding: 2,
                dilation: 2,
                groups: 2,
                bias: true,
            },
            &mut seeded_rng(0),
        )
        .unwrap();
        assert_eq!(
            c.forward(&Tensor::zeros([2, 4, 21]), Mode::Eval)
                .unwrap()
                .dims(),
            &[2, 6, 9]
        );
        assert_eq!(c.weight().dims(), &[6, 2, 5]);
    }

    #[test]
    fn init_names_description_and_errors() {
        let c = Conv1d::new(3, 4, 5, Conv1dConfig::default(), &mut seeded_rng(1)).unwrap();
        let bound = 1.0 / (3.0 * 5.0f32).sqrt();
        for (_, t) in c.parameters() {
            let max = t.data().iter().fold(0f32, |m, x| m.max(x.abs()));
            assert!(
                max <= bound && max > 0.5 * bound,
                "max {max} vs bound {bound}"
            );
        }
        let names: Vec<String> = c.parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["weight", "bias"]);
        assert_eq!(c.describe(), "Conv1d(3, 4, kernel_size=(5,), stride=(1,))");
        let dw = Conv1d::new(
            4,
            8,
            3,
            Conv1dConfig {
                padding: 1,
                groups: 4,
                bias: false,
                ..Default::default()
            },
            &mut seeded_rng(0),
        )
        .unwrap();
        assert_eq!(
            dw.describe(),
            "Conv1d(4, 8, kernel_size=(3,), stride=(1,), padding=(1,), groups=4, bias=False)"
        );
        let err = Conv1d::new(
            3,
            4,
            3,
            Conv1dConfig {
                stride: 0,
                ..Default::default()
            },
            &mut seeded_rng(0),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("Conv1d: invalid configuration: stride must be at least 1"),
            "{err}"
        );
        let err = Conv1d::new(
            3,
            4,
            3,
            Conv1dConfig {
                groups: 2,
                ..Default::default()
            },
            &mut seeded_rng(0),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("in_channels (3) and out_channels (4) must be divisible by groups (2)"),
            "{err}"
        );
        let err = c
            .forward(&Tensor::zeros([1, 3, 4]), Mode::Eval)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("conv1d: kernel 5 (dilation 1) is larger than the padded input 4"),
            "{err}"
        );
    }
}
