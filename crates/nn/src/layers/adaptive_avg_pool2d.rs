//! `AdaptiveAvgPool2d`: average pooling to a fixed output size (only 1×1 for now).
use crate::error::{Error, Result};
use crate::module::{py_size, Mode, Module, TensorKind};
use convkit_tensor::ops::pool::global_avg_pool2d;
use convkit_tensor::Tensor;

/// Adaptive average pooling, PyTorch's `nn.AdaptiveAvgPool2d`, for `output_size = (1, 1)` (global
/// average pooling, as at the head of ResNets); other sizes are rejected until needed.
///
/// # Shapes
/// `[N, C, H, W]` → `[N, C, 1, 1]`: the mean of each channel plane.
///
/// # Errors
/// [`AdaptiveAvgPool2d::new`]: an output size other than `(1, 1)`. `forward`: a non-4-D input.
pub struct AdaptiveAvgPool2d {
    output_size: (usize, usize),
}

impl AdaptiveAvgPool2d {
    pub fn new(output_size: (usize, usize)) -> Result<AdaptiveAvgPool2d> {
        if output_size != (1, 1) {
            return Err(Error::config(
                "AdaptiveAvgPool2d",
                format!("only output_size (1, 1) is supported, got {output_size:?}"),
            ));
        }
        Ok(AdaptiveAvgPool2d { output_size })
    }
}

impl Module for AdaptiveAvgPool2d {
    fn forward(&self, x: &Tensor, _mode: Mode) -> Result<Tensor> {
        Ok(global_avg_pool2d(x)?)
    }

    fn visit(&self, _prefix: &str, _visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {}

    fn describe(&self) -> String {
        format!(
            "AdaptiveAvgPool2d(output_size={})",
            py_size(self.output_size)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::{assert_close, ramp};

    #[test]
    fn plane_means() {
        let pool = AdaptiveAvgPool2d::new((1, 1)).unwrap();
        let y = pool.forward(&ramp(&[2, 3, 2, 2], 1.0), Mode::Eval).unwrap();
        assert_eq!(y.dims(), &[2, 3, 1, 1]);
        assert_close(&y.to_vec(), &[1.5, 5.5, 9.5, 13.5, 17.5, 21.5]);
        assert_eq!(pool.describe(), "AdaptiveAvgPool2d(output_size=1)");
        let err = AdaptiveAvgPool2d::new((7, 7)).err().unwrap();
        assert!(
            err.to_string()
                .contains("only output_size (1, 1) is supported, got (7, 7)"),
            "{err}"
        );
        assert!(pool.forward(&Tensor::zeros([2, 3]), Mode::Eval).is_err());
    }
}
