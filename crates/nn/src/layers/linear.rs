//! `Linear`: a fully-connected layer, `y = x·Wᵀ + b`.
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::init::default_layer_init;
use crate::module::{join_name, parameter, py_bool, Module, TensorKind};
use convkit_tensor::Tensor;
use rand::Rng;

/// Settings of [`Linear`] besides its sizes (PyTorch's keyword arguments and defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinearConfig {
    /// Learn an additive bias.
    pub bias: bool,
}

impl Default for LinearConfig {
    fn default() -> Self {
        LinearConfig { bias: true }
    }
}

/// A fully-connected layer, PyTorch's `nn.Linear`: weight `[out_features, in_features]`, bias
/// `[out_features]`, both initialised from U(−1/√in_features, 1/√in_features).
///
/// # Shapes
/// input `[*, in_features]` → output `[*, out_features]` (any number of leading dims, at least one).
///
/// # Errors
/// [`Linear::new`]: zero `in_features` or `out_features`. `forward`: an input whose last dim is not
/// `in_features`.
///
/// ```
/// use convkit_nn::{layers::{Linear, LinearConfig}, Mode, Module};
/// use convkit_tensor::{seeded_rng, Tensor};
/// let fc = Linear::new(4, 2, LinearConfig::default(), &mut seeded_rng(0)).unwrap();
/// let y = fc.forward(&Tensor::ones([3, 4]), Mode::Eval).unwrap();
/// assert_eq!(y.dims(), &[3, 2]);
/// ```
pub struct Linear {
    in_features: usize,
    out_features: usize,
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    pub fn new(
        in_features: usize,
        out_features: usize,
        config: LinearConfig,
        rng: &mut impl Rng,
    ) -> Result<Linear> {
        if in_features == 0 || out_features == 0 {
            return Err(Error::config(
                "Linear",
                format!("in_features and out_features must be positive, got {in_features} and {out_features}"),
            ));
        }
        let weight = parameter("Linear", &[out_features, in_features])?;
        let bias = if config.bias {
            Some(parameter("Linear", &[out_features])?)
        } else {
            None
        };
        default_layer_init(&weight, bias.as_ref(), rng)?;
        Ok(Linear {
            in_features,
            out_features,
            weight,
            bias,
        })
    }

    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// The layer's function with another weight of the same shape in place of its own (DropConnect
    /// passes a masked copy).
    pub fn forward_with_weight(&self, x: &Tensor, weight: &Tensor) -> Result<Tensor> {
        // [*, in] → [rows, in] → [rows, out] → [*, out]; 1-D and 2-D inputs go to `linear` as they are,
        // which reports the shape error for anything but [N, in].
        let dims = x.dims();
        if dims.len() <= 2 {
            return Ok(convkit_tensor::linear(x, weight, self.bias.as_ref())?);
        }
        let (&features, lead) = dims.split_last().expect("rank > 2");
        let rows = x.reshape(&[lead.iter().product(), features])?;
        let y = convkit_tensor::linear(&rows, weight, self.bias.as_ref())?;
        let mut dims = lead.to_vec();
        dims.push(self.out_features);
        Ok(y.reshape(&dims)?)
    }
}

impl Module for Linear {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        self.forward_with_weight(x, &self.weight)
    }

    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        visitor(
            &join_name(prefix, "weight"),
            &self.weight,
            TensorKind::Parameter,
        );
        if let Some(bias) = &self.bias {
            visitor(&join_name(prefix, "bias"), bias, TensorKind::Parameter);
        }
    }

    /// `output elements · in_features`, bias not counted.
    fn macs(&self, _input: &[usize], output: &[usize]) -> u64 {
        (output.iter().product::<usize>() * self.in_features) as u64
    }

    fn describe(&self) -> String {
        let bias = py_bool(self.bias.is_some());
        format!(
            "Linear(in_features={}, out_features={}, bias={bias})",
            self.in_features, self.out_features
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::assert_close;
    use crate::Mode;
    use convkit_tensor::seeded_rng;

    #[test]
    fn forward_matches_hand_computation() {
        let fc = Linear::new(3, 2, LinearConfig::default(), &mut seeded_rng(0)).unwrap();
        fc.weight()
            .data_mut()
            .copy_from_slice(&[1.0, 2.0, 3.0, -1.0, 0.5, 0.0]);
        fc.bias().unwrap().data_mut().copy_from_slice(&[0.5, -0.5]);
        let x = Tensor::from_vec(vec![1.0, 1.0, 1.0, 2.0, 0.0, -1.0], [2, 3]).unwrap();
        let y = fc.forward(&x, Mode::Eval).unwrap();
        assert_eq!(y.dims(), &[2, 2]);
        assert_close(&y.to_vec(), &[6.5, -1.0, -0.5, -2.5]);
        // Leading dims are carried through: [2, 1, 3] → [2, 1, 2], same values.
        let y3 = fc
            .forward(&x.reshape(&[2, 1, 3]).unwrap(), Mode::Eval)
            .unwrap();
        assert_eq!(y3.dims(), &[2, 1, 2]);
        assert_close(&y3.to_vec(), &y.to_vec());
    }

    #[test]
    fn names_description_and_errors() {
        let fc = Linear::new(2450, 500, LinearConfig { bias: false }, &mut seeded_rng(0)).unwrap();
        assert_eq!(
            fc.describe(),
            "Linear(in_features=2450, out_features=500, bias=False)"
        );
        let names: Vec<String> = fc.parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["weight"]);
        assert_eq!(fc.num_parameters(), 2450 * 500);
        let bound = 1.0 / 2450f32.sqrt();
        assert!(fc.weight().data().iter().all(|w| w.abs() <= bound));
        let err = fc.forward(&Tensor::zeros([4, 7]), Mode::Eval).unwrap_err();
        assert!(
            err.to_string()
                .contains("input has 7 features but weight expects 2450"),
            "{err}"
        );
        let err = Linear::new(0, 3, LinearConfig::default(), &mut seeded_rng(0))
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("Linear: invalid configuration"),
            "{err}"
        );
    }
}
