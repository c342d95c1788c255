//! `ReLU`: the rectified linear unit as a layer.
use crate::error::Result;
use crate::module::{Mode, Module, TensorKind};
use convkit_tensor::Tensor;

/// `max(0, x)` elementwise, PyTorch's `nn.ReLU`. No parameters.
///
/// # Shapes
/// any shape → the same shape.
///
/// # Errors
/// None: `forward` always succeeds.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReLU;

impl Module for ReLU {
    fn forward(&self, x: &Tensor, _mode: Mode) -> Result<Tensor> {
        Ok(x.relu())
    }

    fn visit(&self, _prefix: &str, _visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {}

    fn describe(&self) -> String {
        "ReLU()".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_negatives() {
        let x = Tensor::from_vec(vec![-2.0, -0.5, 0.0, 1.5], [2, 2]).unwrap();
        let y = ReLU.forward(&x, Mode::Train).unwrap();
        assert_eq!(y.dims(), &[2, 2]);
        assert_eq!(y.to_vec(), vec![0.0, 0.0, 0.0, 1.5]);
        assert_eq!(ReLU.describe(), "ReLU()");
        assert!(ReLU.named_tensors().is_empty());
    }
}
