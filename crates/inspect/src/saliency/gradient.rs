//! Gradient maps: vanilla gradient (Simonyan et al. 2014), SmoothGrad (Smilkov et al. 2017) and
//! guided backpropagation (Springenberg et al. 2015).
use super::{chunks, input_gradients, prepare, Attribution, GradientRule};
use crate::error::{Error, Result};
use convkit_nn::Module;
use convkit_tensor::{seeded_rng, Tensor};

/// `∂ logit[class] / ∂ image`, the plain gradient.
///
/// # Shapes
/// `image` `[C, H, W]` → attribution `[C, H, W]`.
///
/// # Errors
/// An image that is not `[C, H, W]` or that the model cannot take; a class out of range.
pub fn vanilla_gradient(
    model: &dyn Module,
    image: &Tensor,
    class: Option<usize>,
) -> Result<Attribution> {
    gradient_map(model, image, class, GradientRule::Plain)
}

/// Guided backpropagation: the gradient with every ReLU *module* letting only positive gradients
/// through (ReLUs applied as functions inside a block are not guided). Its maps look sharp but
/// barely depend on the top layers' weights (Adebayo et al. 2018): it fails the parameter
/// randomisation sanity check, which this crate's tests reproduce.
///
/// # Shapes
/// `image` `[C, H, W]` → attribution `[C, H, W]`.
///
/// # Errors
/// As [`vanilla_gradient`].
pub fn guided_backprop(
    model: &dyn Module,
    image: &Tensor,
    class: Option<usize>,
) -> Result<Attribution> {
    gradient_map(model, image, class, GradientRule::Guided)
}

fn gradient_map(
    model: &dyn Module,
    image: &Tensor,
    class: Option<usize>,
    rule: GradientRule,
) -> Result<Attribution> {
    let (batch, class) = prepare(model, image, class)?;
    let (grad, _) = input_gradients(model, &batch, class, rule)?;
    Ok(Attribution {
        values: grad.reshape(image.dims())?,
        class,
    })
}

/// SmoothGrad's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmoothGradConfig {
    /// Noisy copies averaged: 50.
    pub samples: usize,
    /// Noise standard deviation over the image's value range (max − min): 0.15 (the paper finds
    /// 10–20% best).
    pub noise_level: f32,
    /// Seed of the noise.
    pub seed: u64,
    /// Noisy images per forward/backward pass: 32.
    pub batch_size: usize,
}

impl Default for SmoothGradConfig {
    fn default() -> Self {
        SmoothGradConfig {
            samples: 50,
            noise_level: 0.15,
            seed: 0,
            batch_size: 32,
        }
    }
}

/// SmoothGrad: the mean gradient of the class score (the class of the clean image) over
/// `samples` copies of the image with Gaussian noise of standard deviation
/// `noise_level · (max − min)` added.
///
/// # Shapes
/// `image` `[C, H, W]` → attribution `[C, H, W]`.
///
/// # Errors
/// As [`vanilla_gradient`]; zero samples or a negative noise level.
pub fn smoothgrad(
    model: &dyn Module,
    image: &Tensor,
    class: Option<usize>,
    config: &SmoothGradConfig,
) -> Result<Attribution> {
    if config.samples == 0 || !(config.noise_level >= 0.0 && config.noise_level.is_finite()) {
        return Err(Error::config(
            "smoothgrad",
            format!(
                "needs at least 1 sample and a noise level ≥ 0, got {} and {}",
                config.samples, config.noise_level
            ),
        ));
    }
    let (_, class) = prepare(model, image, class)?;
    let values = image.to_vec();
    let (lo, hi) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let sigma = config.noise_level * (hi - lo);
    let mut rng = seeded_rng(config.seed);
    let per = values.len();
    let mut sum = vec![0f64; per];
    for range in chunks(config.samples, config.batch_size) {
        let noise = Tensor::randn([range.len() * per], &mut rng).mul_scalar(sigma);
        let noisy: Vec<f32> = noise
            .data()
            .iter()
            .enumerate()
            .map(|(i, n)| values[i % per] + n)
            .collect();
        let mut dims = vec![range.len()];
        dims.extend_from_slice(image.dims());
        let batch = Tensor::from_vec(noisy, dims)?;
        let (grad, _) = input_gradients(model, &batch, class, GradientRule::Plain)?;
        for (i, g) in grad.data().iter().enumerate() {
            sum[i % per] += f64::from(*g);
        }
    }
    let mean = sum
        .iter()
        .map(|s| (s / config.samples as f64) as f32)
        .collect();
    Ok(Attribution {
        values: Tensor::from_vec(mean, image.dims())?,
        class,
    })
}
