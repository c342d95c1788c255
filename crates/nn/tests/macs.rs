//! `Module::macs` of the conv and linear layers against a count made by the layer itself: with
//! all-ones weights, no bias, all-ones input and no padding, every output element is the number of
//! products summed into it, so the sum of the output is the number of multiply-adds.
use convkit_nn::layers::{
    Conv1d, Conv1dConfig, Conv2d, Conv2dConfig, Conv3d, Conv3dConfig, ConvTranspose2d,
    ConvTranspose2dConfig, Linear, LinearConfig,
};
use convkit_nn::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};

/// Checks `layer.macs` on `input_dims` against the products it actually sums.
fn assert_macs_counted(layer: &dyn Module, weight: &Tensor, input_dims: &[usize]) {
    weight.data_mut().fill(1.0);
    let x = Tensor::ones(input_dims);
    let y = layer.forward(&x, Mode::Eval).unwrap();
    let counted: f64 = y.to_vec().iter().map(|&v| f64::from(v)).sum();
    assert_eq!(
        layer.macs(x.dims(), y.dims()),
        counted as u64,
        "{}",
        layer.describe()
    );
}

#[test]
fn conv_and_linear_macs_equal_the_products_summed() {
    let rng = &mut seeded_rng(0);
    let c2 = Conv2dConfig {
        stride: (2, 1),
        dilation: (1, 2),
        groups: 2,
        bias: false,
        ..Default::default()
    };
    let conv2 = Conv2d::new(4, 6, (3, 2), c2, rng).unwrap();
    assert_macs_counted(&conv2, conv2.weight(), &[2, 4, 9, 8]);
    let c1 = Conv1dConfig {
        stride: 2,
        bias: false,
        ..Default::default()
    };
    let conv1 = Conv1d::new(3, 5, 3, c1, rng).unwrap();
    assert_macs_counted(&conv1, conv1.weight(), &[2, 3, 11]);
    let c3 = Conv3dConfig {
        bias: false,
        ..Default::default()
    };
    let conv3 = Conv3d::new(2, 3, (2, 3, 2), c3, rng).unwrap();
    assert_macs_counted(&conv3, conv3.weight(), &[1, 2, 4, 5, 3]);
    let ct = ConvTranspose2dConfig {
        stride: (2, 3),
        groups: 2,
        bias: false,
        ..Default::default()
    };
    let tconv = ConvTranspose2d::new(4, 6, (3, 2), ct, rng).unwrap();
    assert_macs_counted(&tconv, tconv.weight(), &[2, 4, 5, 4]);
    let linear = Linear::new(7, 3, LinearConfig { bias: false }, rng).unwrap();
    assert_macs_counted(&linear, linear.weight(), &[5, 7]);
}

#[test]
fn resnet_stem_conv_has_the_published_118m_macs() {
    // 7×7 stride-2 conv, 3 → 64 channels, 224 → 112: 112·112·64 · 3·49 = 118,013,952.
    let config = Conv2dConfig {
        stride: (2, 2),
        padding: (3, 3),
        bias: false,
        ..Default::default()
    };
    let conv = Conv2d::new(3, 64, (7, 7), config, &mut seeded_rng(0)).unwrap();
    assert_eq!(
        conv.macs(&[1, 3, 224, 224], &[1, 64, 112, 112]),
        118_013_952
    );
}
