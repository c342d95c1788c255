//! Weight penalties added to the loss: L2, L1 and elastic net, on weights but not on biases or
//! normalisation parameters unless asked.
//!
//! With strength λ the penalty is the course's (CS231n) `λ·R(W)` over the selected parameters:
//! - L2: `R = Σ w²`, gradient `2λw`. SGD's `weight_decay = wd` (PyTorch) adds `wd·w` to the gradient,
//!   which is this penalty with `λ = wd / 2`.
//! - L1: `R = Σ |w|`, gradient `λ·sign(w)` (0 at 0).
//! - Elastic net: `R = Σ (β·w² + |w|)`.
//!
//! ```
//! use convkit_nn::layers::{Linear, LinearConfig};
//! use convkit_nn::regularizer::Regularizer;
//! use convkit_tensor::{seeded_rng, Tensor};
//! let fc = Linear::new(3, 2, LinearConfig::default(), &mut seeded_rng(0)).unwrap();
//! let data_loss = Tensor::scalar(1.0);
//! let loss = Regularizer::l2(1e-4).add_to(&data_loss, &fc).unwrap();
//! let by_hand: f32 = fc.weight().to_vec().iter().map(|w| 1e-4 * w * w).sum();
//! assert!((loss.item() - 1.0 - by_hand).abs() < 1e-7);
//! ```
use crate::error::{Error, Result};
use crate::module::Module;
use convkit_tensor::ops::loss::{pointwise_loss, PointwiseLoss, PointwiseLossConfig, Reduction};
use convkit_tensor::Tensor;
use serde::{Deserialize, Serialize};

/// The penalty function R(W).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Penalty {
    /// `Σ w²`.
    L2,
    /// `Σ |w|`.
    L1,
    /// `Σ (β·w² + |w|)`.
    ElasticNet { beta: f32 },
}

/// Which parameters are penalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamSelection {
    /// Parameters with at least 2 dims: Linear and Conv weights. Biases, BatchNorm/GroupNorm/
    /// LayerNorm(C) scales and shifts and PReLU slopes are 1-D and left out (a LayerNorm over several
    /// dims has a multi-dim weight: filter the parameters yourself and use [`Regularizer::penalty_of`]).
    #[default]
    WeightsOnly,
    /// Every trainable parameter.
    All,
}

/// A configured penalty `λ·R(W)` to add to a loss.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Regularizer {
    pub penalty: Penalty,
    /// λ.
    pub strength: f32,
    #[serde(default)]
    pub selection: ParamSelection,
}

impl Regularizer {
    pub fn l2(strength: f32) -> Regularizer {
        Regularizer {
            penalty: Penalty::L2,
            strength,
            selection: ParamSelection::WeightsOnly,
        }
    }

    pub fn l1(strength: f32) -> Regularizer {
        Regularizer {
            penalty: Penalty::L1,
            ..Regularizer::l2(strength)
        }
    }

    pub fn elastic_net(strength: f32, beta: f32) -> Regularizer {
        Regularizer {
            penalty: Penalty::ElasticNet { beta },
            ..Regularizer::l2(strength)
        }
    }

    /// Whether the named parameter is penalised under this selection.
    pub fn applies_to(&self, _name: &str, parameter: &Tensor) -> bool {
        match self.selection {
            ParamSelection::WeightsOnly => parameter.rank() >= 2,
            ParamSelection::All => true,
        }
    }

    /// `λ·R` over the module's selected parameters, as a scalar in the graph (so `backward()` adds
    /// its gradient to theirs).
    ///
    /// # Errors
    /// A negative or non-finite strength, or a negative elastic-net β.
    pub fn penalty(&self, module: &dyn Module) -> Result<Tensor> {
        let params: Vec<(String, Tensor)> = module
            .parameters()
            .into_iter()
            .filter(|(name, p)| self.applies_to(name, p))
            .collect();
        self.penalty_of(&params)
    }

    /// `λ·R` over exactly these parameters (no selection applied).
    ///
    /// # Errors
    /// As [`Regularizer::penalty`].
    pub fn penalty_of(&self, params: &[(String, Tensor)]) -> Result<Tensor> {
        self.validate()?;
        let mut total = Tensor::scalar(0.0);
        for (_, p) in params {
            total = total.add(&self.r(p)?)?;
        }
        Ok(total.mul_scalar(self.strength))
    }

    /// `loss + λ·R` over the module's selected parameters.
    ///
    /// # Errors
    /// As [`Regularizer::penalty`]; a loss that is not a single value.
    pub fn add_to(&self, loss: &Tensor, module: &dyn Module) -> Result<Tensor> {
        if loss.numel() != 1 {
            return Err(Error::config(
                "Regularizer",
                format!(
                    "the loss must be a single value, got shape {}",
                    loss.shape()
                ),
            ));
        }
        Ok(loss.add(&self.penalty(module)?)?)
    }

    fn validate(&self) -> Result<()> {
        let beta = match self.penalty {
            Penalty::ElasticNet { beta } => beta,
            _ => 0.0,
        };
        let valid = |v: f32| v >= 0.0 && v.is_finite();
        if !valid(self.strength) || !valid(beta) {
            return Err(Error::config(
                "Regularizer",
                format!("strength and beta must be finite and non-negative, got {self:?}"),
            ));
        }
        Ok(())
    }

    /// R(p) for one parameter: Σ p² and Σ |p| are the sum-reduced MSE and L1 losses against zero.
    fn r(&self, p: &Tensor) -> Result<Tensor> {
        let zero = Tensor::zeros(p.shape().clone());
        let sum = PointwiseLossConfig {
            reduction: Reduction::Sum,
            pos_weight: None,
        };
        let squares = || pointwise_loss(PointwiseLoss::Mse, p, &zero, &sum);
        let abs = || pointwise_loss(PointwiseLoss::L1, p, &zero, &sum);
        Ok(match self.penalty {
            Penalty::L2 => squares()?,
            Penalty::L1 => abs()?,
            Penalty::ElasticNet { beta } => squares()?.mul_scalar(beta).add(&abs()?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{BatchNorm1d, BatchNormConfig, Linear, LinearConfig, PReLU, Sequential};
    use convkit_tensor::seeded_rng;

    fn model() -> Sequential {
        let mut rng = seeded_rng(0);
        Sequential::new(vec![
            Box::new(Linear::new(3, 4, LinearConfig::default(), &mut rng).unwrap()),
            Box::new(BatchNorm1d::new(4, BatchNormConfig::default()).unwrap()),
            Box::new(PReLU::new(Default::default()).unwrap()),
            Box::new(Linear::new(4, 2, LinearConfig::default(), &mut rng).unwrap()),
        ])
    }

    /// (penalty term, its derivative) of one weight w for strength λ and β.
    type ByHand = fn(f32, f32, f32) -> (f32, f32);

    /// Each parameter's gradient after `backward()` of the penalty alone.
    fn grads(
        model: &Sequential,
        reg: &Regularizer,
    ) -> (f32, Vec<(String, Tensor, Option<Tensor>)>) {
        model.parameters().iter().for_each(|(_, p)| p.zero_grad());
        let penalty = reg.penalty(model).unwrap();
        penalty.backward().unwrap();
        let grads = model
            .parameters()
            .into_iter()
            .map(|(n, p)| {
                let g = p.grad();
                (n, p, g)
            })
            .collect();
        (penalty.item(), grads)
    }

    #[test]
    fn value_and_gradient_on_weights_only() {
        let model = model();
        let (lambda, beta) = (0.01f32, 0.5f32);
        let cases: [(Regularizer, ByHand); 3] = [
            (Regularizer::l2(lambda), |w, l, _| (l * w * w, 2.0 * l * w)),
            (Regularizer::l1(lambda), |w, l, _| {
                (l * w.abs(), l * w.signum())
            }),
            (Regularizer::elastic_net(lambda, beta), |w, l, b| {
                (l * (b * w * w + w.abs()), l * (2.0 * b * w + w.signum()))
            }),
        ];
        for (reg, by_hand) in cases {
            let (value, grads) = grads(&model, &reg);
            let mut expected = 0.0;
            for (name, p, g) in grads {
                if name.ends_with("weight") && p.rank() == 2 {
                    let w = p.to_vec();
                    expected += w.iter().map(|&w| by_hand(w, lambda, beta).0).sum::<f32>();
                    let want: Vec<f32> = w.iter().map(|&w| by_hand(w, lambda, beta).1).collect();
                    let got = g.expect("weights get a gradient").to_vec();
                    for (a, b) in got.iter().zip(&want) {
                        assert!((a - b).abs() < 1e-6, "{name}: {a} vs {b}");
                    }
                } else {
                    assert!(g.is_none(), "{name} must not be penalised");
                }
            }
            assert!((value - expected).abs() < 1e-6, "{value} vs {expected}");
        }
    }

    #[test]
    fn all_parameters_when_asked_and_config_errors() {
        let model = model();
        let reg = Regularizer {
            selection: ParamSelection::All,
            ..Regularizer::l2(1.0)
        };
        let total: f32 = model
            .parameters()
            .iter()
            .flat_map(|(_, p)| p.to_vec())
            .map(|w| w * w)
            .sum();
        assert!((reg.penalty(&model).unwrap().item() - total).abs() < 1e-5);
        assert!(Regularizer::l2(-1.0).penalty(&model).is_err());
        assert!(Regularizer::elastic_net(0.1, f32::NAN)
            .penalty(&model)
            .is_err());
        let err = Regularizer::l1(0.1)
            .add_to(&Tensor::zeros([2]), &model)
            .unwrap_err();
        assert!(err.to_string().contains("single value"), "{err}");
        let parsed: Regularizer = serde_json::from_str(
            r#"{"penalty": {"elastic_net": {"beta": 0.5}}, "strength": 0.001}"#,
        )
        .unwrap();
        assert_eq!(parsed, Regularizer::elastic_net(0.001, 0.5));
    }
}
