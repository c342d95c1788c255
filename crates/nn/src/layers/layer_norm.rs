//! `LayerNorm`: normalisation of each sample over its last dims.
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::init;
use crate::module::{join_name, parameter, py_bool, py_float, Module, TensorKind};
use convkit_tensor::{layer_norm, Tensor};

/// Settings of [`LayerNorm`] besides `normalized_shape` (PyTorch's keyword arguments and defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerNormConfig {
    pub eps: f32,
    /// Learn an elementwise scale (`weight`, init 1) and shift (`bias`, init 0) of `normalized_shape`.
    pub elementwise_affine: bool,
    /// Learn the shift (only with `elementwise_affine`).
    pub bias: bool,
}

impl Default for LayerNormConfig {
    fn default() -> Self {
        LayerNormConfig {
            eps: 1e-5,
            elementwise_affine: true,
            bias: true,
        }
    }
}

/// Layer normalisation, PyTorch's `nn.LayerNorm(normalized_shape)`: each sample is normalised by
/// the mean and biased variance of its last `normalized_shape.len()` dims (e.g. `[C, H, W]`), then
/// scaled and shifted elementwise. The same in train and eval. Parameters `weight`, `bias`.
///
/// # Shapes
/// `[*, normalized_shape...]` → the same shape.
///
/// # Errors
/// `new`: an empty or zero-sized `normalized_shape`, `eps ≤ 0`. `forward`: an input whose trailing
/// dims differ from `normalized_shape`.
pub struct LayerNorm {
    normalized_shape: Vec<usize>,
    config: LayerNormConfig,
    weight: Option<Tensor>,
    bias: Option<Tensor>,
}

impl LayerNorm {
    pub fn new(normalized_shape: &[usize], config: LayerNormConfig) -> Result<LayerNorm> {
        if normalized_shape.is_empty()
            || normalized_shape.contains(&0)
            || config.eps.is_nan()
            || config.eps <= 0.0
        {
            return Err(Error::config(
                "LayerNorm",
                format!("normalized_shape {normalized_shape:?} must be non-empty with positive dims and eps {} positive", config.eps),
            ));
        }
        let param = |value, on: bool| -> Result<Option<Tensor>> {
            if !on {
                return Ok(None);
            }
            let t = parameter("LayerNorm", normalized_shape)?;
            init::constant(&t, value);
            Ok(Some(t))
        };
        Ok(LayerNorm {
            normalized_shape: normalized_shape.to_vec(),
            config,
            weight: param(1.0, config.elementwise_affine)?,
            bias: param(0.0, config.elementwise_affine && config.bias)?,
        })
    }
}

impl Module for LayerNorm {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(layer_norm(
            x,
            &self.normalized_shape,
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.config.eps,
        )?)
    }

    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        for (name, t) in [("weight", &self.weight), ("bias", &self.bias)] {
            if let Some(t) = t {
                visitor(&join_name(prefix, name), t, TensorKind::Parameter);
            }
        }
    }

    fn describe(&self) -> String {
        let shape: Vec<String> = self
            .normalized_shape
            .iter()
            .map(|d| d.to_string())
            .collect();
        let trailing = if shape.len() == 1 { "," } else { "" };
        format!(
            "LayerNorm(({}{trailing}), eps={}, elementwise_affine={})",
            shape.join(", "),
            py_float(self.config.eps),
            py_bool(self.config.elementwise_affine)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::assert_close;
    use crate::Mode;

    #[test]
    fn normalises_each_sample_over_the_last_dims() {
        let ln = LayerNorm::new(&[2, 2], LayerNormConfig::default()).unwrap();
        let x = Tensor::from_vec(vec![1., 2., 3., 4., 10., 10., 10., 14.], [2, 2, 2]).unwrap();
        let y = ln.forward(&x, Mode::Train).unwrap();
        let s = 1.0 / (1.25f32 + 1e-5).sqrt();
        let t = 1.0 / (3.0f32 + 1e-5).sqrt();
        assert_close(
            &y.to_vec(),
            &[-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s, -t, -t, -t, 3.0 * t],
        );
        let names: Vec<String> = ln.parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["weight", "bias"]);
        assert_eq!(
            ln.describe(),
            "LayerNorm((2, 2), eps=1e-05, elementwise_affine=True)"
        );
        let err = ln
            .forward(&Tensor::zeros([2, 3, 2]), Mode::Train)
            .unwrap_err();
        assert!(err.to_string().contains("trailing dims"), "{err}");
        assert!(LayerNorm::new(&[], LayerNormConfig::default()).is_err());
    }
}
