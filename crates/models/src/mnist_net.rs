//! `mnistnet`: the small MNIST CNN of Wong, Rice and Kolter's fast adversarial training ("Fast is
//! better than free", 2020): two 4×4 stride-2 convolutions (16 and 32 channels, ReLU; no pooling),
//! a hidden linear layer of 100 units and the classifier — 0.17M parameters.
use crate::error::{Error, Result};
use crate::registry::ModelSpec;
use convkit_nn::layers::{Conv2d, Conv2dConfig, Flatten, Linear, LinearConfig, ReLU, Sequential};
use convkit_nn::Module;
use convkit_tensor::ConvRng;
use rand::Rng;

/// The registry names of this family.
pub(crate) const NAMES: &[&str] = &["mnistnet"];

/// The registry's builder for [`NAMES`].
pub(crate) fn build(_name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    Ok(Box::new(mnist_net(spec, rng)?))
}

/// The network, named like a `nn.Sequential`: `0` and `2` the convolutions, `5` and `7` the
/// linear layers.
///
/// # Shapes
/// input `[N, C, H, W]` with H, W ≥ 4 → logits `[N, classes]` (28×28 gives 7×7 maps).
///
/// # Errors
/// An input smaller than 4×4, or zero channels or classes.
pub fn mnist_net(spec: &ModelSpec, rng: &mut impl Rng) -> Result<Sequential> {
    let (h, w) = spec.input_size;
    if h < 4 || w < 4 {
        return Err(Error::Unsupported {
            model: "mnistnet",
            reason: format!("input {h}x{w} is smaller than 4x4"),
        });
    }
    // Each 4×4 convolution with stride 2 and padding 1 halves the size (rounding down).
    let (oh, ow) = (h / 2 / 2, w / 2 / 2);
    let strided = Conv2dConfig {
        stride: (2, 2),
        padding: (1, 1),
        ..Default::default()
    };
    let layers: Vec<Box<dyn Module>> = vec![
        Box::new(Conv2d::new(spec.in_channels, 16, (4, 4), strided, rng)?),
        Box::new(ReLU),
        Box::new(Conv2d::new(16, 32, (4, 4), strided, rng)?),
        Box::new(ReLU),
        Box::new(Flatten::default()),
        Box::new(Linear::new(
            32 * oh * ow,
            100,
            LinearConfig::default(),
            rng,
        )?),
        Box::new(ReLU),
        Box::new(Linear::new(
            100,
            spec.num_classes,
            LinearConfig::default(),
            rng,
        )?),
    ];
    Ok(Sequential::new(layers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_nn::Mode;
    use convkit_tensor::{seeded_rng, Tensor};

    #[test]
    fn shapes_and_parameter_count() {
        let model = mnist_net(&ModelSpec::MNIST, &mut seeded_rng(0)).unwrap();
        let expected = (16 * 16 + 16) + (32 * 16 * 16 + 32) + (1568 * 100 + 100) + (100 * 10 + 10);
        assert_eq!(model.num_parameters(), expected);
        let logits = model
            .forward(&Tensor::zeros([2, 1, 28, 28]), Mode::Eval)
            .unwrap();
        assert_eq!(logits.dims(), [2, 10]);
        let odd = ModelSpec {
            input_size: (13, 9),
            ..ModelSpec::MNIST
        };
        let model = mnist_net(&odd, &mut seeded_rng(0)).unwrap();
        assert_eq!(
            model
                .forward(&Tensor::zeros([1, 1, 13, 9]), Mode::Eval)
                .unwrap()
                .dims(),
            [1, 10]
        );
        let tiny = ModelSpec {
            input_size: (3, 28),
            ..ModelSpec::MNIST
        };
        assert!(mnist_net(&tiny, &mut seeded_rng(0)).is_err());
    }
}
