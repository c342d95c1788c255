//! The convolution layers ([`ConvNd`](super::ConvNd) at each rank, and
//! [`ConvTransposeNd`](super::ConvTransposeNd)): shapes, hand-computed outputs, init bounds,
//! state_dict names, PyTorch's descriptions and errors.
use super::*;
use crate::layers::testing::{assert_close, ramp};
use crate::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};

mod conv1d {
    use super::*;

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

mod conv2d {
    use super::*;

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

mod conv3d {
    use super::*;

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

mod conv_transpose2d {
    use super::*;

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

mod conv_transpose_ranks {
    use super::*;

    #[test]
    fn one_and_three_axes_share_the_layer() {
        let c = ConvTranspose1d::new(
            4,
            6,
            3,
            ConvTranspose1dConfig {
                stride: 2,
                output_padding: 1,
                groups: 2,
                ..Default::default()
            },
            &mut seeded_rng(0),
        )
        .unwrap();
        assert_eq!(c.weight().dims(), &[4, 3, 3]);
        // (5 − 1)·2 + 2 + 1 + 1 = 12
        let y = c.forward(&Tensor::zeros([2, 4, 5]), Mode::Eval).unwrap();
        assert_eq!(y.dims(), &[2, 6, 12]);
        assert_eq!(
            c.describe(),
            "ConvTranspose1d(4, 6, kernel_size=(3,), stride=(2,), output_padding=(1,), groups=2)"
        );
        let c = ConvTranspose3d::new(
            2,
            3,
            (2, 1, 3),
            ConvTranspose3dConfig {
                stride: (2, 1, 1),
                padding: (0, 0, 1),
                bias: false,
                ..Default::default()
            },
            &mut seeded_rng(0),
        )
        .unwrap();
        let y = c
            .forward(&ramp(&[1, 2, 3, 4, 5], 0.1), Mode::Train)
            .unwrap();
        assert_eq!(y.dims(), &[1, 3, 6, 4, 5]);
        y.sum().backward().unwrap();
        assert_eq!(c.weight().grad().unwrap().dims(), &[2, 3, 2, 1, 3]);
        let names: Vec<String> = c.parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["weight"]);
        let err = c
            .forward(&Tensor::zeros([1, 2, 3, 4]), Mode::Eval)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("conv_transpose3d: needs input [N, C, D, H, W]"),
            "{err}"
        );
    }
}
