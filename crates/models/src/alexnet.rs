//! AlexNet (Krizhevsky, Sutskever & Hinton, 2012) in two forms:
//! - `alexnet`, the course's single-tower form of the paper: 96 11×11/4 → ReLU → max-pool 3/2 →
//!   LRN → 256 5×5 p2 → ReLU → max-pool 3/2 → LRN → 384 3×3 → 384 3×3 → 256 3×3 (ReLU after each)
//!   → max-pool 3/2 → dropout → fc 4096 → ReLU → dropout → fc 4096 → ReLU → fc (classes).
//!   A 3×227×227 input gives 55×55 after conv1, then 27, 13 and 6 after the three pools, 62,378,344
//!   parameters at 1000 classes. The first fc layer is sized from the input, as in the paper (no
//!   adaptive pool), so the smallest input is 67×67.
//! - `alexnet-torchvision`, torchvision's `alexnet()` exactly (64/192/384/256/256 channels, no LRN,
//!   adaptive 6×6 average pool), 61,100,840 parameters at 1000 classes; smallest input 63×63.
use crate::error::Result;
use crate::feature_classifier::{FeatureClassifier, Pooling};
use crate::parts::{conv, dropout, linear, max_pool, named, spatial_out, Step};
use crate::registry::ModelSpec;
use convkit_nn::layers::{AdaptiveAvgPool2d, Flatten, LocalResponseNorm, ReLU, Sequential};
use convkit_nn::Module;
use convkit_tensor::{ConvRng, LrnParams};
use rand::Rng;

/// The registry names of this family.
pub(crate) const NAMES: &[&str] = &["alexnet", "alexnet-torchvision"];

/// The registry's builder for [`NAMES`].
pub(crate) fn build(name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    Ok(if name == "alexnet-torchvision" {
        Box::new(alexnet_torchvision(spec, rng)?)
    } else {
        Box::new(alexnet(spec, rng)?)
    })
}

/// The spatial steps both forms share: conv1 11×11 stride 4 with the given padding, then three 3/2
/// max-pools (the convolutions between them keep the size).
fn steps(conv1_padding: usize) -> [Step; 4] {
    let pool = Step::plain(3, 2);
    [Step::padded(11, 4, conv1_padding), pool, pool, pool]
}

/// The paper's local response normalisation (size 5, α 1e-4, β 0.75, k 2), in PyTorch's
/// `LocalResponseNorm` convention, which divides α by the size.
fn lrn() -> Result<LocalResponseNorm> {
    Ok(LocalResponseNorm::new(LrnParams {
        size: 5,
        alpha: 1e-4,
        beta: 0.75,
        k: 2.0,
    })?)
}

/// The course's AlexNet (see the module doc), layers named `conv1`, `relu1`, `pool1`, `norm1`,
/// `conv2`, `relu2`, `pool2`, `norm2`, `conv3`..`conv5` with `relu3`..`relu5`, `pool3`, `flatten`,
/// `drop1`, `fc1`, `relu6`, `drop2`, `fc2`, `relu7`, `fc3`.
///
/// # Shapes
/// input `[N, C, H, W]` → logits `[N, classes]`; H and W at least 67 (227 in the paper).
///
/// # Errors
/// An input smaller than 67×67 ([`crate::Error::Unsupported`]), or zero channels or classes.
pub fn alexnet(spec: &ModelSpec, rng: &mut impl Rng) -> Result<Sequential> {
    let (h, w) = spatial_out("alexnet", spec, &steps(0))?;
    let pool = || max_pool(3, 2, 0, false);
    named(vec![
        (
            "conv1",
            Box::new(conv(spec.in_channels, 96, 11, 4, 0, true, rng)?),
        ),
        ("relu1", Box::new(ReLU)),
        ("pool1", Box::new(pool()?)),
        ("norm1", Box::new(lrn()?)),
        ("conv2", Box::new(conv(96, 256, 5, 1, 2, true, rng)?)),
        ("relu2", Box::new(ReLU)),
        ("pool2", Box::new(pool()?)),
        ("norm2", Box::new(lrn()?)),
        ("conv3", Box::new(conv(256, 384, 3, 1, 1, true, rng)?)),
        ("relu3", Box::new(ReLU)),
        ("conv4", Box::new(conv(384, 384, 3, 1, 1, true, rng)?)),
        ("relu4", Box::new(ReLU)),
        ("conv5", Box::new(conv(384, 256, 3, 1, 1, true, rng)?)),
        ("relu5", Box::new(ReLU)),
        ("pool3", Box::new(pool()?)),
        ("flatten", Box::new(Flatten::default())),
        ("drop1", Box::new(dropout(0.5, rng)?)),
        ("fc1", Box::new(linear(256 * h * w, 4096, rng)?)),
        ("relu6", Box::new(ReLU)),
        ("drop2", Box::new(dropout(0.5, rng)?)),
        ("fc2", Box::new(linear(4096, 4096, rng)?)),
        ("relu7", Box::new(ReLU)),
        ("fc3", Box::new(linear(4096, spec.num_classes, rng)?)),
    ])
}

/// torchvision's `alexnet(num_classes)`: `features.0..12`, `avgpool` (adaptive 6×6),
/// `classifier.0..6` (dropout 0.5 before each of the first two linear layers), PyTorch's default
/// initialisation as torchvision keeps it.
///
/// # Shapes
/// input `[N, C, H, W]` → logits `[N, classes]`; H and W at least 63 (224 in torchvision).
///
/// # Errors
/// An input smaller than 63×63 ([`crate::Error::Unsupported`]), or zero channels or classes.
pub fn alexnet_torchvision(spec: &ModelSpec, rng: &mut impl Rng) -> Result<FeatureClassifier> {
    spatial_out("alexnet-torchvision", spec, &steps(2))?;
    let pool = || max_pool(3, 2, 0, false);
    let features: Vec<Box<dyn Module>> = vec![
        Box::new(conv(spec.in_channels, 64, 11, 4, 2, true, rng)?),
        Box::new(ReLU),
        Box::new(pool()?),
        Box::new(conv(64, 192, 5, 1, 2, true, rng)?),
        Box::new(ReLU),
        Box::new(pool()?),
        Box::new(conv(192, 384, 3, 1, 1, true, rng)?),
        Box::new(ReLU),
        Box::new(conv(384, 256, 3, 1, 1, true, rng)?),
        Box::new(ReLU),
        Box::new(conv(256, 256, 3, 1, 1, true, rng)?),
        Box::new(ReLU),
        Box::new(pool()?),
    ];
    let classifier: Vec<Box<dyn Module>> = vec![
        Box::new(dropout(0.5, rng)?),
        Box::new(linear(256 * 6 * 6, 4096, rng)?),
        Box::new(ReLU),
        Box::new(dropout(0.5, rng)?),
        Box::new(linear(4096, 4096, rng)?),
        Box::new(ReLU),
        Box::new(linear(4096, spec.num_classes, rng)?),
    ];
    Ok(FeatureClassifier::new(
        "AlexNet",
        Sequential::new(features),
        Pooling::Adaptive(AdaptiveAvgPool2d::new((6, 6))?),
        Box::new(Sequential::new(classifier)),
    ))
}
