//! `Conv2d`: 2-D convolution over `[N, C, H, W]` images.
use super::conv_params::{describe, ConvParams, ConvShape};
use crate::error::Result;
use crate::forward_pass::ForwardPass;
use crate::module::{Module, TensorKind};
use convkit_tensor::ops::conv::{conv2d, Conv2dConfig as ConvOpConfig};
use convkit_tensor::Tensor;
use rand::Rng;

/// Settings of [`Conv2d`] besides channels and kernel size (PyTorch's keyword arguments and
/// defaults), as (height, width) pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dConfig {
    pub stride: (usize, usize),
    /// Zero padding on each side.
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    /// Split channels into this many independent groups (`in_channels` for depthwise).
    pub groups: usize,
    /// Learn an additive per-channel bias.
    pub bias: bool,
}

impl Default for Conv2dConfig {
    fn default() -> Self {
        let op = ConvOpConfig::default();
        Conv2dConfig {
            stride: op.stride,
            padding: op.padding,
            dilation: op.dilation,
            groups: op.groups,
            bias: true,
        }
    }
}

/// 2-D convolution, PyTorch's `nn.Conv2d`: weight `[out_channels, in_channels/groups, kH, kW]` and
/// bias `[out_channels]`, both initialised from U(−1/√fan_in, 1/√fan_in), fan_in =
/// `in_channels/groups · kH · kW`.
///
/// # Shapes
/// input `[N, in_channels, H, W]` → output `[N, out_channels, H_out, W_out]` with
/// `H_out = floor((H + 2·padding − dilation·(kH − 1) − 1) / stride) + 1`, likewise W.
///
/// # Errors
/// [`Conv2d::new`]: zero channels, kernel, stride, dilation or groups; channels not divisible by
/// `groups`. `forward`: an input that is not 4-D, has the wrong channel count, or is smaller than the
/// dilated kernel after padding.
///
/// ```
/// use convkit_nn::layers::{Conv2d, Conv2dConfig};
/// use convkit_nn::{Mode, Module};
/// use convkit_tensor::{seeded_rng, Tensor};
/// let conv = Conv2d::new(1, 20, (5, 5), Conv2dConfig { padding: (2, 2), ..Default::default() }, &mut seeded_rng(0)).unwrap();
/// assert_eq!(conv.forward(&Tensor::zeros([8, 1, 28, 28]), Mode::Train).unwrap().dims(), &[8, 20, 28, 28]);
/// ```
pub struct Conv2d {
    in_channels: usize,
    out_channels: usize,
    kernel_size: (usize, usize),
    config: Conv2dConfig,
    params: ConvParams,
}

impl Conv2d {
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: (usize, usize),
        config: Conv2dConfig,
        rng: &mut impl Rng,
    ) -> Result<Conv2d> {
        let kernel = [kernel_size.0, kernel_size.1];
        let shape = Conv2d::shape(in_channels, out_channels, &kernel, config.groups);
        let params = shape.build(op_config(&config).validate(), config.bias, rng)?;
        Ok(Conv2d {
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
            layer: "Conv2d",
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

    /// The layer's function with another weight of the same shape in place of its own (DropConnect
    /// passes a masked copy).
    pub fn forward_with_weight(&self, x: &Tensor, weight: &Tensor) -> Result<Tensor> {
        Ok(conv2d(x, weight, self.bias(), &op_config(&self.config))?)
    }

    /// Stride, padding, dilation, groups and whether it has a bias.
    pub fn config(&self) -> Conv2dConfig {
        self.config
    }
}

fn op_config(c: &Conv2dConfig) -> ConvOpConfig {
    ConvOpConfig {
        stride: c.stride,
        padding: c.padding,
        dilation: c.dilation,
        groups: c.groups,
    }
}

impl Module for Conv2d {
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
        let pair = |(a, b): (usize, usize)| [a, b];
        let kernel = pair(self.kernel_size);
        describe(
            &Conv2d::shape(self.in_channels, self.out_channels, &kernel, c.groups),
            &pair(c.stride),
            &[
                ("padding", &pair(c.padding), 0),
                ("dilation", &pair(c.dilation), 1),
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

    fn conv(cin: usize, cout: usize, k: usize, config: Conv2dConfig) -> Conv2d {
        Conv2d::new(cin, cout, (k, k), config, &mut seeded_rng(0)).unwrap()
    }

    #[test]
    fn output_size_follows_the_formula() {
        let x = Tensor::zeros([2, 4, 11, 9]);
        let c = conv(
            4,
            6,
            3,
            Conv2dConfig {
                stride: (2, 1),
                padding: (1, 0),
                dilation: (1, 2),
                groups: 2,
                bias: true,
            },
        );
        // H: floor((11 + 2 − 2 − 1) / 2) + 1 = 6; W: floor((9 − 4 − 1) / 1) + 1 = 5.
        assert_eq!(c.forward(&x, Mode::Eval).unwrap().dims(), &[2, 6, 6, 5]);
        assert_eq!(c.weight().dims(), &[6, 2, 3, 3]);
    }

    #[test]
    fn forward_matches_hand_computation() {
        // 2×2 all-ones kernel, bias 0.5, over a 3×3 ramp 0..8: each output is the window sum + 0.5.
        let c = conv(1, 1, 2, Conv2dConfig::default());
        c.weight().data_mut().fill(1.0);
        c.bias().unwrap().data_mut().fill(0.5);
        let y = c.forward(&ramp(&[1, 1, 3, 3], 1.0), Mode::Eval).unwrap();
        assert_eq!(y.dims(), &[1, 1, 2, 2]);
        assert_close(&y.to_vec(), &[8.5, 12.5, 20.5, 24.5]);
        // With padding 1 and stride 2 the corners see one value each: 0, 2, 6, 8 (+ 0.5).
        let c = conv(
            1,
            1,
            2,
            Conv2dConfig {
                stride: (2, 2),
                padding: (1, 1),
                ..Default::default()
            },
        );
        c.weight().data_mut().copy_from_slice(&[0.0, 0.0, 0.0, 1.0]);
        c.bias().unwrap().data_mut().fill(0.5);
        let y = c.forward(&ramp(&[1, 1, 3, 3], 1.0), Mode::Eval).unwrap();
        assert_close(&y.to_vec(), &[0.5, 2.5, 6.5, 8.5]);
    }

    #[test]
    fn init_bounds_names_and_description() {
        let c = conv(
            20,
            50,
            5,
            Conv2dConfig {
                padding: (2, 2),
                ..Default::default()
            },
        );
        let bound = 1.0 / (20.0 * 25.0f32).sqrt();
        for (_, t) in c.parameters() {
            let max = t.data().iter().fold(0f32, |m, x| m.max(x.abs()));
            assert!(
                max <= bound && max > 0.95 * bound,
                "max {max} vs bound {bound}"
            );
        }
        let names: Vec<String> = c.parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["weight", "bias"]);
        assert_eq!(
            c.describe(),
            "Conv2d(20, 50, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"
        );
        let dw = conv(
            8,
            8,
            3,
            Conv2dConfig {
                dilation: (2, 2),
                groups: 8,
                bias: false,
                ..Default::default()
            },
        );
        assert_eq!(dw.describe(), "Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), dilation=(2, 2), groups=8, bias=False)");
    }

    #[test]
    fn depthwise_layer_keeps_channels_apart_and_trains() {
        // groups = in_channels with multiplier 2: output channels 2c, 2c+1 read input channel c only.
        let c = conv(
            3,
            6,
            3,
            Conv2dConfig {
                padding: (1, 1),
                groups: 3,
                ..Default::default()
            },
        );
        assert_eq!(c.weight().dims(), &[6, 1, 3, 3]);
        let x = ramp(&[2, 3, 5, 4], 0.1);
        let y = c.forward(&x, Mode::Train).unwrap();
        let mut x2 = x.to_vec();
        x2[20..40].iter_mut().for_each(|v| *v += 1.0); // image 0, channel 1
        let y2 = c
            .forward(&Tensor::from_vec(x2, x.dims()).unwrap(), Mode::Train)
            .unwrap();
        let changed: Vec<usize> = (0..12)
            .filter(|p| {
                let (a, b) = (y.to_vec(), y2.to_vec());
                a[p * 20..(p + 1) * 20] != b[p * 20..(p + 1) * 20]
            })
            .collect();
        assert_eq!(changed, [2, 3]);
        y.sum().backward().unwrap();
        assert_eq!(c.weight().grad().unwrap().dims(), &[6, 1, 3, 3]);
        assert_eq!(c.bias().unwrap().grad().unwrap().to_vec(), vec![40.0; 6]);
    }

    #[test]
    fn errors_name_the_problem() {
        let new = |cin, cout, config| {
            Conv2d::new(cin, cout, (3, 3), config, &mut seeded_rng(0))
                .err()
                .unwrap()
                .to_string()
        };
        let err = new(
            3,
            4,
            Conv2dConfig {
                stride: (0, 1),
                ..Default::default()
            },
        );
        assert!(
            err.contains("Conv2d: invalid configuration: stride must be at least 1"),
            "{err}"
        );
        let err = new(
            3,
            4,
            Conv2dConfig {
                groups: 2,
                ..Default::default()
            },
        );
        assert!(
            err.contains("in_channels (3) and out_channels (4) must be divisible by groups (2)"),
            "{err}"
        );
        assert!(new(0, 4, Conv2dConfig::default()).contains("must be positive"));
        let err = conv(1, 20, 5, Conv2dConfig::default())
            .forward(&Tensor::zeros([2, 3, 28, 28]), Mode::Eval)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("input has 3 channels but weight expects 1"),
            "{err}"
        );
    }
}
