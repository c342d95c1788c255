//! `airbench94`: Keller Jordan's network for CIFAR-10 in a few seconds on a GPU (arXiv 2404.00498,
//! `legacy/airbench94.py`). A frozen 2×2 patch-whitening convolution (3 → 24 channels, its weights
//! set from the training images by the trainer, see `convkit_data::transforms::patch_whitening_filters`)
//! and GELU, three conv groups (conv → 2×2 max-pool → BN → GELU → conv → BN → GELU) of 64, 256
//! and 256 channels whose convolutions start as identities (Dirac), batch norms with a frozen
//! weight, momentum 0.4 (airbench's 0.6 in the other convention) and eps 1e-12, then a 3×3
//! max-pool, a bias-free linear layer and the logits scaled by 1/9. 1.97M parameters, 118M
//! multiply-adds per 32×32 image. Tensor names follow the reference's `nn.Sequential`:
//! `0.weight` (whitening), `2.conv1.weight`, `2.norm1.bias`, ..., `7.weight` (classifier).
use crate::error::{Error, Result};
use crate::parts::conv;
use crate::registry::ModelSpec;
use convkit_nn::init::dirac;
use convkit_nn::layers::{
    BatchNorm2d, BatchNormConfig, Conv2d, Flatten, Linear, LinearConfig, MaxPool2d,
    MaxPool2dConfig, Scale, Sequential, GELU,
};
use convkit_nn::Module;
use convkit_tensor::{ConvRng, Tensor};
use rand::Rng;

/// The registry names of this family.
pub(crate) const NAMES: &[&str] = &["airbench94"];

/// The registry's builder for [`NAMES`].
pub(crate) fn build(_name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    Ok(Box::new(airbench94(spec, rng)?))
}

/// The state_dict name of the whitening convolution (the layer the trainer initialises from the
/// training images).
pub const WHITENING_LAYER: &str = "0";

/// Side of the whitening convolution's patches.
pub const WHITENING_KERNEL: usize = 2;

/// Channels of airbench94's three conv groups.
pub const AIRBENCH94_WIDTHS: [usize; 3] = [64, 256, 256];

/// The logits' scale.
const LOGIT_SCALE: f32 = 1.0 / 9.0;

/// airbench's batch norm: frozen weight, momentum 0.4 (PyTorch's convention), eps 1e-12.
const NORM: BatchNormConfig = BatchNormConfig {
    eps: 1e-12,
    momentum: 0.4,
    affine: true,
    track_running_stats: true,
};

/// The airbench94 network for `spec`: [`airbench`] with [`AIRBENCH94_WIDTHS`].
///
/// # Errors
/// See [`airbench`].
pub fn airbench94(spec: &ModelSpec, rng: &mut impl Rng) -> Result<Sequential> {
    airbench(spec, AIRBENCH94_WIDTHS, rng)
}

/// The airbench network for `spec` with conv groups of `widths` channels.
///
/// # Shapes
/// input `[N, C, H, W]` with H and W from 25 to 48 (the last max-pool must leave 1×1) → logits
/// `[N, classes]`.
///
/// # Errors
/// An input size outside 25–48, or zero channels, widths or classes.
pub fn airbench(spec: &ModelSpec, widths: [usize; 3], rng: &mut impl Rng) -> Result<Sequential> {
    let (h, w) = spec.input_size;
    // The whitening conv takes 1 pixel, each pool halves (floor), the last max-pool takes 3.
    let last = |len: usize| (len.saturating_sub(1) >> 3) / 3;
    if last(h) != 1 || last(w) != 1 {
        return Err(Error::Unsupported {
            model: "airbench94",
            reason: format!("input {h}x{w}: its sides must be from 25 to 48 pixels"),
        });
    }
    let whiten_width = 2 * spec.in_channels * WHITENING_KERNEL * WHITENING_KERNEL;
    let whiten = conv(
        spec.in_channels,
        whiten_width,
        WHITENING_KERNEL,
        1,
        0,
        true,
        rng,
    )?;
    whiten.weight().set_requires_grad(false);
    let mut layers: Vec<(String, Box<dyn Module>)> = vec![
        (WHITENING_LAYER.into(), Box::new(whiten)),
        ("1".into(), Box::new(GELU)),
    ];
    let mut c_in = whiten_width;
    for (i, &width) in widths.iter().enumerate() {
        layers.push(((i + 2).to_string(), Box::new(conv_group(c_in, width, rng)?)));
        c_in = width;
    }
    let pool = MaxPool2d::new((3, 3), MaxPool2dConfig::default())?;
    let fc = Linear::new(c_in, spec.num_classes, LinearConfig { bias: false }, rng)?;
    layers.extend([
        ("5".to_string(), Box::new(pool) as Box<dyn Module>),
        ("6".into(), Box::new(Flatten::default())),
        ("7".into(), Box::new(fc)),
        ("8".into(), Box::new(Scale::new(LOGIT_SCALE)?)),
    ]);
    Ok(Sequential::named(layers)?)
}

/// conv → max-pool → BN → GELU → conv → BN → GELU, named as the reference's `ConvGroup`.
fn conv_group(c_in: usize, c_out: usize, rng: &mut impl Rng) -> Result<Sequential> {
    let norm = || -> Result<BatchNorm2d> { Ok(BatchNorm2d::new(c_out, NORM)?.freeze_weight()) };
    let layers: Vec<(String, Box<dyn Module>)> = vec![
        ("conv1".into(), Box::new(dirac_conv(c_in, c_out, rng)?)),
        (
            "pool".into(),
            Box::new(MaxPool2d::new((2, 2), MaxPool2dConfig::default())?),
        ),
        ("norm1".into(), Box::new(norm()?)),
        ("activ1".into(), Box::new(GELU)),
        ("conv2".into(), Box::new(dirac_conv(c_out, c_out, rng)?)),
        ("norm2".into(), Box::new(norm()?)),
        ("activ2".into(), Box::new(GELU)),
    ];
    Ok(Sequential::named(layers)?)
}

/// A bias-free 3×3 convolution (padding 1) whose first `c_in` filters are identities (each passes
/// one input channel through) and the others keep PyTorch's default initialisation.
fn dirac_conv(c_in: usize, c_out: usize, rng: &mut impl Rng) -> Result<Conv2d> {
    let layer = conv(c_in, c_out, 3, 1, 1, false, rng)?;
    let identities = c_in.min(c_out);
    let identity = Tensor::zeros([identities, c_in, 3, 3]);
    dirac(&identity, 1)?;
    layer.weight().data_mut()[..identities * c_in * 9].copy_from_slice(&identity.to_vec());
    Ok(layer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_nn::Mode;
    use convkit_tensor::seeded_rng;

    #[test]
    fn shapes_names_and_initialisation_follow_the_reference() {
        let model = airbench94(&ModelSpec::CIFAR, &mut seeded_rng(0)).unwrap();
        let names: Vec<String> = model.parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names[..3], ["0.weight", "0.bias", "2.conv1.weight"]);
        assert_eq!(names.last().unwrap(), "7.weight");
        assert_eq!(model.num_parameters(), 1_972_792);
        let frozen: Vec<String> = model
            .parameters()
            .into_iter()
            .filter(|(_, t)| !t.requires_grad())
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            frozen.len(),
            7,
            "the whitening weight and six norm weights: {frozen:?}"
        );
        assert!(frozen
            .iter()
            .skip(1)
            .all(|n| n.ends_with("weight") && n.contains("norm")));
        // The first 24 filters of group 1's first conv pass their channel through unchanged.
        let w = model.module("2.conv1").unwrap().parameters()[0].1.to_vec();
        for out in 0..24 {
            for inp in 0..24 {
                let centre = w[(out * 24 + inp) * 9 + 4];
                assert_eq!(centre, f32::from(out == inp), "filter {out}, input {inp}");
            }
        }
        assert!(
            w[24 * 24 * 9..].iter().any(|&v| v != 0.0),
            "the rest keep their init"
        );
        let x = Tensor::ones([2, 3, 32, 32]);
        assert_eq!(model.forward(&x, Mode::Train).unwrap().dims(), [2, 10]);
    }

    #[test]
    fn sizes_the_final_pool_cannot_reduce_to_one_pixel_are_refused() {
        for side in [24, 49] {
            let spec = ModelSpec {
                input_size: (side, side),
                ..ModelSpec::CIFAR
            };
            let err = airbench94(&spec, &mut seeded_rng(0)).err().unwrap();
            assert!(err.to_string().contains("from 25 to 48"), "{err}");
        }
        let spec = ModelSpec {
            input_size: (48, 25),
            ..ModelSpec::CIFAR
        };
        assert!(airbench94(&spec, &mut seeded_rng(0)).is_ok());
    }
}
