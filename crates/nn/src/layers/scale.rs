//! `Scale`: multiplies its input by a fixed factor (airbench's `Mul`, the logit scale after a
//! bias-free classifier).
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::module::{py_float, Module};
use convkit_tensor::Tensor;

/// `y = factor · x`, a constant (not trained) factor. No parameters.
///
/// # Shapes
/// any shape → the same shape.
///
/// # Errors
/// `new`: a factor that is not a finite number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    factor: f32,
}

impl Scale {
    pub fn new(factor: f32) -> Result<Scale> {
        if !factor.is_finite() {
            return Err(Error::config(
                "Scale",
                format!("the factor must be a finite number, got {factor}"),
            ));
        }
        Ok(Scale { factor })
    }

    pub fn factor(&self) -> f32 {
        self.factor
    }
}

impl Module for Scale {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(x.mul_scalar(self.factor))
    }

    fn describe(&self) -> String {
        format!("Scale(factor={})", py_float(self.factor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::ramp;
    use crate::Mode;

    #[test]
    fn scales_values_and_gradients() {
        let x = ramp(&[2, 3], 1.0).with_grad();
        let scale = Scale::new(1.0 / 9.0).unwrap();
        let y = scale.forward(&x, Mode::Train).unwrap();
        let expected: Vec<f32> = x.to_vec().iter().map(|v| v / 9.0).collect();
        assert_eq!(y.to_vec(), expected);
        y.sum().backward().unwrap();
        assert!(x.grad().unwrap().to_vec().iter().all(|&g| g == 1.0 / 9.0));
        assert_eq!(scale.describe(), "Scale(factor=0.11111111)");
        assert!(Scale::new(f32::NAN).is_err());
    }
}
