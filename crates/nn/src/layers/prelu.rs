//! `PReLU`: ReLU with a learnable negative slope.
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::module::{join_name, parameter, Module, TensorKind};
use convkit_tensor::Tensor;

/// Settings of [`PReLU`] (PyTorch's arguments and defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PReLUConfig {
    /// 1 (one slope shared by all channels) or the number of channels (dim 1 of the input).
    pub num_parameters: usize,
    /// The initial slope.
    pub init: f32,
}

impl Default for PReLUConfig {
    fn default() -> Self {
        PReLUConfig {
            num_parameters: 1,
            init: 0.25,
        }
    }
}

/// PyTorch's `nn.PReLU`: `max(0, x) + a·min(0, x)` with a learnable slope `a`, the parameter
/// `weight` `[num_parameters]`, initialised to `init`. The slope is a small 1-D parameter, so
/// [`crate::regularizer`]'s default selection leaves it out of weight decay.
///
/// # Shapes
/// `[N, C, *]` (or `[C]`) → the same shape; `num_parameters` is 1 or C.
///
/// # Errors
/// [`PReLU::new`]: zero `num_parameters`. `forward`: `num_parameters` neither 1 nor the input's
/// channel count.
pub struct PReLU {
    weight: Tensor,
}

impl PReLU {
    pub fn new(config: PReLUConfig) -> Result<PReLU> {
        if config.num_parameters == 0 {
            return Err(Error::config("PReLU", "num_parameters must be positive"));
        }
        let weight = parameter("PReLU", &[config.num_parameters])?;
        weight.data_mut().fill(config.init);
        Ok(PReLU { weight })
    }

    pub fn weight(&self) -> &Tensor {
        &self.weight
    }
}

impl Module for PReLU {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(x.prelu(&self.weight)?)
    }

    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        visitor(
            &join_name(prefix, "weight"),
            &self.weight,
            TensorKind::Parameter,
        );
    }

    fn describe(&self) -> String {
        format!("PReLU(num_parameters={})", self.weight.numel())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mode;

    #[test]
    fn learns_per_channel_slopes() {
        let prelu = PReLU::new(PReLUConfig {
            num_parameters: 2,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(prelu.weight().to_vec(), vec![0.25, 0.25]);
        assert_eq!(prelu.describe(), "PReLU(num_parameters=2)");
        let names: Vec<String> = prelu.parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["weight"]);
        let x = Tensor::from_vec(vec![-4.0, 1.0, -2.0, -8.0], [1, 2, 2]).unwrap();
        let y = prelu.forward(&x, Mode::Train).unwrap();
        assert_eq!(y.to_vec(), vec![-1.0, 1.0, -0.5, -2.0]);
        y.sum().backward().unwrap();
        // d/da_c = Σ x over the negative inputs of channel c.
        assert_eq!(prelu.weight().grad().unwrap().to_vec(), vec![-4.0, -10.0]);
        let err = prelu
            .forward(&Tensor::zeros([1, 3, 2]), Mode::Eval)
            .unwrap_err();
        assert!(err.to_string().contains("prelu"), "{err}");
        assert!(PReLU::new(PReLUConfig {
            num_parameters: 0,
            init: 0.25
        })
        .is_err());
    }
}
