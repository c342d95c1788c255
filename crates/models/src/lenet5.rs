//! LeNet-5 as in the course notes (the modern form): conv 20 k5 p2, ReLU, max-pool 2 → conv 50 k5
//! p2, ReLU, max-pool 2 → flatten → linear 500, ReLU → linear (classes).
use crate::error::{Error, Result};
use crate::registry::ModelSpec;
use convkit_nn::layers::{
    Conv2d, Conv2dConfig, Flatten, FlattenConfig, Linear, LinearConfig, MaxPool2d, MaxPool2dConfig,
    ReLU, Sequential,
};
use convkit_nn::Module;
use convkit_tensor::ConvRng;
use rand::Rng;

/// The registry names of this family.
pub(crate) const NAMES: &[&str] = &["lenet5"];

/// The registry's builder for [`NAMES`].
pub(crate) fn build(_name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    Ok(Box::new(lenet5(spec, rng)?))
}

/// LeNet-5 with PyTorch-style names `conv1`, `conv2`, `fc1`, `fc2` (the activation and pooling
/// layers hold no tensors). For 1×28×28 inputs the flattened features are 50·7·7 = 2450.
///
/// # Shapes
/// input `[N, C, H, W]` → logits `[N, classes]`; H and W must be at least 4 (two 2×2 poolings).
///
/// # Errors
/// An input smaller than 4×4, or zero channels or classes.
pub fn lenet5(spec: &ModelSpec, rng: &mut impl Rng) -> Result<Sequential> {
    let (h, w) = spec.input_size;
    if h < 4 || w < 4 {
        return Err(Error::Unsupported {
            model: "lenet5",
            reason: format!("input {h}x{w} is smaller than 4x4"),
        });
    }
    let conv = |c_in, c_out, rng: &mut _| {
        Conv2d::new(
            c_in,
            c_out,
            (5, 5),
            Conv2dConfig {
                padding: (2, 2),
                ..Default::default()
            },
            rng,
        )
    };
    let pool = || MaxPool2d::new((2, 2), MaxPool2dConfig::default());
    let features = 50 * (h / 2 / 2) * (w / 2 / 2);
    let layers: Vec<(&str, Box<dyn Module>)> = vec![
        ("conv1", Box::new(conv(spec.in_channels, 20, rng)?)),
        ("relu1", Box::new(ReLU)),
        ("pool1", Box::new(pool()?)),
        ("conv2", Box::new(conv(20, 50, rng)?)),
        ("relu2", Box::new(ReLU)),
        ("pool2", Box::new(pool()?)),
        ("flatten", Box::new(Flatten::new(FlattenConfig::default()))),
        (
            "fc1",
            Box::new(Linear::new(features, 500, LinearConfig::default(), rng)?),
        ),
        ("relu3", Box::new(ReLU)),
        (
            "fc2",
            Box::new(Linear::new(
                500,
                spec.num_classes,
                LinearConfig::default(),
                rng,
            )?),
        ),
    ];
    Ok(Sequential::named(
        layers
            .into_iter()
            .map(|(n, l)| (n.to_string(), l))
            .collect(),
    )?)
}
