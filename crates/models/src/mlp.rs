//! `mlp5`, `mlp10`, `mlp20`: plain multi-layer perceptrons (flatten, then that many hidden linear
//! layers of 256 units with ReLU, then the classifier), no normalisation: the deep plain nets of the
//! course's initialisation experiment, where the weights' scale alone decides whether the signal
//! survives the depth (train them with `--weight-init small|xavier|kaiming`).
use crate::error::{Error, Result};
use crate::registry::ModelSpec;
use convkit_nn::layers::{Flatten, Linear, LinearConfig, ReLU, Sequential};
use convkit_nn::Module;
use convkit_tensor::ConvRng;
use rand::Rng;

/// The registry names of this family.
pub(crate) const NAMES: &[&str] = &["mlp5", "mlp10", "mlp20"];

/// Units of every hidden layer.
const WIDTH: usize = 256;

/// The registry's builder for [`NAMES`].
pub(crate) fn build(name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    let hidden = name
        .trim_start_matches("mlp")
        .parse()
        .map_err(|_| Error::Unsupported {
            model: "mlp",
            reason: format!("no MLP is called '{name}'"),
        })?;
    Ok(Box::new(mlp(spec, hidden, rng)?))
}

/// The MLP with `hidden` ReLU layers of 256 units, named like a `nn.Sequential`: `0` flatten,
/// `1.weight` the first linear layer, `2` its ReLU, ..., the classifier last.
///
/// # Shapes
/// input `[N, C, H, W]` (any, flattened to C·H·W features) → logits `[N, classes]`.
///
/// # Errors
/// Zero hidden layers, or a spec with zero channels, pixels or classes.
pub fn mlp(spec: &ModelSpec, hidden: usize, rng: &mut impl Rng) -> Result<Sequential> {
    if hidden == 0 {
        return Err(Error::Unsupported {
            model: "mlp",
            reason: "at least one hidden layer is needed".into(),
        });
    }
    let (h, w) = spec.input_size;
    let mut layers: Vec<Box<dyn Module>> = vec![Box::new(Flatten::default())];
    let mut features = spec.in_channels * h * w;
    for _ in 0..hidden {
        layers.push(Box::new(Linear::new(
            features,
            WIDTH,
            LinearConfig::default(),
            rng,
        )?));
        layers.push(Box::new(ReLU));
        features = WIDTH;
    }
    layers.push(Box::new(Linear::new(
        features,
        spec.num_classes,
        LinearConfig::default(),
        rng,
    )?));
    Ok(Sequential::new(layers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_nn::Mode;
    use convkit_tensor::{seeded_rng, Tensor};

    #[test]
    fn depth_and_shapes() {
        let model = mlp(&ModelSpec::MNIST, 10, &mut seeded_rng(0)).unwrap();
        let expected = (784 * 256 + 256) + 9 * (256 * 256 + 256) + (256 * 10 + 10);
        assert_eq!(model.num_parameters(), expected);
        let logits = model
            .forward(&Tensor::zeros([3, 1, 28, 28]), Mode::Eval)
            .unwrap();
        assert_eq!(logits.dims(), [3, 10]);
        assert!(mlp(&ModelSpec::MNIST, 0, &mut seeded_rng(0)).is_err());
        let err = build("mlpx", &ModelSpec::MNIST, &mut seeded_rng(0))
            .err()
            .unwrap();
        assert!(err.to_string().contains("mlpx"), "{err}");
    }
}
