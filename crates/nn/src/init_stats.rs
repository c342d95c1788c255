//! The course's weight-initialisation experiment: push a batch of standard normal inputs through a
//! deep stack of fully-connected layers (no bias) and watch the activations' statistics per layer.
//! Too small weights make them collapse toward 0; Xavier (`std = 1/√D_in`) keeps tanh layers alive
//! but collapses ReLU ones; Kaiming (`std = √(2/D_in)`) keeps ReLU layers alive.
//!
//! ```
//! use convkit_nn::init_stats::{activation_stats, Nonlinearity, Scheme, StatsConfig};
//! use convkit_tensor::seeded_rng;
//! let config = StatsConfig { width: 256, ..StatsConfig::default() };
//! let layers = activation_stats(&config, &mut seeded_rng(0)).unwrap();
//! assert_eq!(layers.len(), 6);
//! ```
use crate::error::{Error, Result};
use crate::init;
use convkit_tensor::limits::check_tensor;
use convkit_tensor::Tensor;
use rand::Rng;

/// The activation after each layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nonlinearity {
    Tanh,
    Relu,
}

pub use crate::reinit::Scheme;

/// The experiment's settings; the default is the course's: 6 layers of 4096 → 4096 weights
/// (its `dims = [4096] * 7`), a batch of 16, tanh, Xavier.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatsConfig {
    pub layers: usize,
    pub width: usize,
    pub batch: usize,
    pub nonlinearity: Nonlinearity,
    pub scheme: Scheme,
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig {
            layers: 6,
            width: 4096,
            batch: 16,
            nonlinearity: Nonlinearity::Tanh,
            scheme: Scheme::Xavier,
        }
    }
}

/// One layer's activations and their statistics (population std, as numpy's `std`).
pub struct LayerStats {
    pub mean: f32,
    pub std: f32,
    /// The `batch · width` activations, for a histogram.
    pub values: Vec<f32>,
}

/// Runs the experiment: `x ~ N(0, 1)` of shape `[batch, width]`, then for each layer
/// `x = f(x·W)` with `W` drawn by the scheme; returns each layer's activations.
///
/// # Errors
/// A zero layer count, width or batch; a weight or the activations kept for all layers above
/// [`convkit_tensor::limits::TENSOR_BYTES`].
pub fn activation_stats(config: &StatsConfig, rng: &mut impl Rng) -> Result<Vec<LayerStats>> {
    let StatsConfig {
        layers,
        width,
        batch,
        nonlinearity,
        scheme,
    } = *config;
    if layers == 0 || width == 0 || batch == 0 {
        return Err(Error::config(
            "init-stats",
            format!("layers, width and batch must be at least 1, got {layers}, {width}, {batch}"),
        ));
    }
    // Sizes come from flags: check every buffer before allocating (the histograms keep every
    // layer's activations).
    check_tensor("init-stats weight", &[width, width])?;
    check_tensor(
        "init-stats activations of all layers",
        &[layers, batch, width],
    )?;
    let mut x = Tensor::randn([batch, width], rng);
    let mut out = Vec::with_capacity(layers);
    for _ in 0..layers {
        let w = Tensor::zeros([width, width]);
        init::normal(&w, 0.0, scheme.std(width), rng);
        let z = x.matmul(&w)?;
        x = match nonlinearity {
            Nonlinearity::Tanh => z.tanh(),
            Nonlinearity::Relu => z.relu(),
        };
        let values = x.to_vec();
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = values
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        out.push(LayerStats {
            mean: mean as f32,
            std: var.sqrt() as f32,
            values,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_tensor::seeded_rng;

    fn stds(nonlinearity: Nonlinearity, scheme: Scheme, width: usize) -> Vec<f32> {
        let config = StatsConfig {
            nonlinearity,
            scheme,
            width,
            ..StatsConfig::default()
        };
        activation_stats(&config, &mut seeded_rng(0))
            .unwrap()
            .iter()
            .map(|l| l.std)
            .collect()
    }

    /// The course's figures for Xavier + tanh, each within 0.02.
    #[test]
    fn xavier_tanh_reproduces_the_course() {
        let got = stds(Nonlinearity::Tanh, Scheme::Xavier, 4096);
        let course = [0.63, 0.49, 0.41, 0.36, 0.32, 0.30];
        for (layer, (g, c)) in got.iter().zip(course).enumerate() {
            assert!(
                (g - c).abs() < 0.02,
                "layer {}: std {g}, course {c}",
                layer + 1
            );
        }
    }

    /// Small weights collapse toward 0 geometrically (the course: 0.49, 0.29, 0.18, 0.11, 0.07,
    /// 0.05); with ReLU Xavier collapses (each layer halves the variance) and Kaiming holds.
    #[test]
    fn small_collapses_and_kaiming_holds_for_relu() {
        let small = stds(Nonlinearity::Tanh, Scheme::Small, 4096);
        let course = [0.49, 0.29, 0.18, 0.11, 0.07, 0.05];
        for (g, c) in small.iter().zip(course) {
            assert!((g - c).abs() < 0.01, "{small:?}");
        }
        let xavier = stds(Nonlinearity::Relu, Scheme::Xavier, 1024);
        assert!(xavier[5] < 0.25 * xavier[0], "{xavier:?}");
        let kaiming = stds(Nonlinearity::Relu, Scheme::Kaiming, 1024);
        assert!((kaiming[5] / kaiming[0] - 1.0).abs() < 0.25, "{kaiming:?}");
        assert!(activation_stats(
            &StatsConfig {
                width: 0,
                ..StatsConfig::default()
            },
            &mut seeded_rng(0)
        )
        .is_err());
    }
}
