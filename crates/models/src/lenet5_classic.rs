//! LeNet-5 in LeCun et al.'s classic form (1998), as d2l.ai writes it in PyTorch: conv 6 k5, tanh
//! (or sigmoid), avg-pool 2 → conv 16 k5, tanh, avg-pool 2 → flatten → fc 120, tanh → fc 84, tanh →
//! fc (classes).
//!
//! The first convolution pads by 2 whatever the input: a 28×28 MNIST digit then sees the paper's
//! 32×32 geometry (28 → 28 → 14 → 10 → 5, 16·5·5 = 400 features, 61,706 parameters at 1×28×28 and
//! 10 classes). Other sizes keep the padding and size the first fc layer to fit (32×32 → 16·6·6).
//! The paper's scaled tanh `1.7159·tanh(2x/3)`, sparse C3 connections and RBF output layer are
//! replaced by their common modern stand-ins: plain tanh, full C3, a linear output.
use crate::error::Result;
use crate::parts::{conv, linear, named, spatial_out, Step};
use crate::registry::ModelSpec;
use convkit_nn::layers::{ActivationLayer, AvgPool2d, AvgPool2dConfig, Flatten, Sequential};
use convkit_nn::Module;
use convkit_tensor::{Activation, ConvRng};
use rand::Rng;

/// The registry names of this family: tanh and sigmoid activations.
pub(crate) const NAMES: &[&str] = &["lenet5-classic", "lenet5-classic-sigmoid"];

/// The registry's builder for [`NAMES`].
pub(crate) fn build(name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    let activation = if name == "lenet5-classic-sigmoid" {
        Activation::Sigmoid
    } else {
        Activation::Tanh
    };
    Ok(Box::new(lenet5_classic(activation, spec, rng)?))
}

/// Classic LeNet-5 with the given activation after every hidden layer. Layers are named `conv1`,
/// `act1`, `pool1`, `conv2`, `act2`, `pool2`, `flatten`, `fc1`, `act3`, `fc2`, `act4`, `fc3`.
///
/// # Shapes
/// input `[N, C, H, W]` → logits `[N, classes]`; H and W at least 12.
///
/// # Errors
/// An input smaller than 12×12 ([`crate::Error::Unsupported`]), or zero channels or classes.
pub fn lenet5_classic(
    activation: Activation,
    spec: &ModelSpec,
    rng: &mut impl Rng,
) -> Result<Sequential> {
    let pool = Step::plain(2, 2);
    let steps = [Step::padded(5, 1, 2), pool, Step::plain(5, 1), pool];
    let (h, w) = spatial_out("lenet5-classic", spec, &steps)?;
    let act = || Box::new(ActivationLayer::new(activation));
    let avg_pool = || AvgPool2d::new((2, 2), AvgPool2dConfig::default());
    named(vec![
        (
            "conv1",
            Box::new(conv(spec.in_channels, 6, 5, 1, 2, true, rng)?),
        ),
        ("act1", act()),
        ("pool1", Box::new(avg_pool()?)),
        ("conv2", Box::new(conv(6, 16, 5, 1, 0, true, rng)?)),
        ("act2", act()),
        ("pool2", Box::new(avg_pool()?)),
        ("flatten", Box::new(Flatten::default())),
        ("fc1", Box::new(linear(16 * h * w, 120, rng)?)),
        ("act3", act()),
        ("fc2", Box::new(linear(120, 84, rng)?)),
        ("act4", act()),
        ("fc3", Box::new(linear(84, spec.num_classes, rng)?)),
    ])
}
