//! The course's three weight initialisations applied to a whole model: the training side of the
//! initialisation experiment (`init_stats` shows the activations, this trains with them).
use crate::error::Result;
use crate::init::{calculate_fan_in_and_fan_out, normal, zeros};
use crate::Module;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// How each weight of fan-in `D_in` is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// `0.01·N(0, 1)`.
    Small,
    /// `N(0, 1)/√D_in` (the course's simplified Xavier).
    Xavier,
    /// `N(0, 1)·√(2/D_in)` (Kaiming/He for ReLU).
    Kaiming,
}

impl Scheme {
    /// The standard deviation for a weight with `fan_in` inputs per output.
    pub fn std(self, fan_in: usize) -> f32 {
        match self {
            Scheme::Small => 0.01,
            Scheme::Xavier => 1.0 / (fan_in as f32).sqrt(),
            Scheme::Kaiming => (2.0 / fan_in as f32).sqrt(),
        }
    }

    /// Its name in configuration files and flags.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Small => "small",
            Scheme::Xavier => "xavier",
            Scheme::Kaiming => "kaiming",
        }
    }
}

/// Redraws every weight of ≥ 2 dims (convolutions, linear layers) of `model` from `scheme` and
/// zeroes the bias beside it; normalisation layers' 1-dim weights keep their values. Returns how
/// many weights were redrawn.
///
/// # Errors
/// A weight without elements (no fan-in to scale by).
pub fn reinitialise(model: &dyn Module, scheme: Scheme, rng: &mut impl Rng) -> Result<usize> {
    let parameters = model.parameters();
    let mut redrawn = Vec::new();
    for (name, tensor) in &parameters {
        if tensor.dims().len() >= 2 {
            let (fan_in, _) = calculate_fan_in_and_fan_out(tensor.dims())?;
            normal(tensor, 0.0, scheme.std(fan_in), rng);
            redrawn.push(name.strip_suffix("weight").unwrap_or(name));
        }
    }
    for (name, tensor) in &parameters {
        if name
            .strip_suffix("bias")
            .is_some_and(|layer| redrawn.contains(&layer))
        {
            zeros(tensor);
        }
    }
    Ok(redrawn.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{
        BatchNorm2d, BatchNormConfig, Conv2d, Conv2dConfig, Linear, LinearConfig, Sequential,
    };
    use convkit_tensor::seeded_rng;

    #[test]
    fn weights_follow_the_scheme_biases_are_zeroed_and_norms_are_kept() {
        let rng = &mut seeded_rng(0);
        let conv = Conv2d::new(16, 64, (3, 3), Conv2dConfig::default(), rng).unwrap();
        let bn = BatchNorm2d::new(64, BatchNormConfig::default()).unwrap();
        let fc = Linear::new(400, 300, LinearConfig::default(), rng).unwrap();
        let model = Sequential::named(vec![
            ("conv".into(), Box::new(conv) as Box<dyn Module>),
            ("bn".into(), Box::new(bn)),
            ("fc".into(), Box::new(fc)),
        ])
        .unwrap();
        let count = reinitialise(&model, Scheme::Kaiming, &mut seeded_rng(1)).unwrap();
        assert_eq!(count, 2);
        let tensors: std::collections::HashMap<String, Vec<f32>> = model
            .parameters()
            .into_iter()
            .map(|(n, t)| (n, t.to_vec()))
            .collect();
        let std = |v: &[f32]| (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
        let conv_target = (2.0f32 / (16.0 * 9.0)).sqrt();
        assert!((std(&tensors["conv.weight"]) / conv_target - 1.0).abs() < 0.03);
        assert!((std(&tensors["fc.weight"]) / (2.0f32 / 400.0).sqrt() - 1.0).abs() < 0.03);
        assert!(tensors["conv.bias"]
            .iter()
            .chain(&tensors["fc.bias"])
            .all(|&b| b == 0.0));
        assert!(tensors["bn.weight"].iter().all(|&w| w == 1.0));
        assert_eq!(Scheme::Small.std(10), 0.01);
    }
}
