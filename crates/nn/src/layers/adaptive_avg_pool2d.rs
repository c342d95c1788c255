//! `AdaptiveAvgPool2d`: average pooling to a fixed output size.
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::module::{py_size, Module};
use convkit_tensor::ops::adaptive_pool::adaptive_avg_pool2d;
use convkit_tensor::ops::pool::global_avg_pool2d;
use convkit_tensor::Tensor;

/// Adaptive average pooling, PyTorch's `nn.AdaptiveAvgPool2d`: output cell `(i, j)` averages the
/// input rows `⌊i·H/H_out⌋ .. ⌈(i+1)·H/H_out⌉` and columns likewise; `(1, 1)` is global average
/// pooling (the head of ResNets), `(7, 7)` VGG's and AlexNet's.
///
/// # Shapes
/// `[N, C, H, W]` → `[N, C, H_out, W_out]` for `output_size = (H_out, W_out)`, whatever H and W.
///
/// # Errors
/// [`AdaptiveAvgPool2d::new`]: a zero output size. `forward`: a non-4-D input or an empty plane.
pub struct AdaptiveAvgPool2d {
    output_size: (usize, usize),
}

impl AdaptiveAvgPool2d {
    pub fn new(output_size: (usize, usize)) -> Result<AdaptiveAvgPool2d> {
        if output_size.0 == 0 || output_size.1 == 0 {
            return Err(Error::config(
                "AdaptiveAvgPool2d",
                format!("output_size must be at least (1, 1), got {output_size:?}"),
            ));
        }
        Ok(AdaptiveAvgPool2d { output_size })
    }
}

impl Module for AdaptiveAvgPool2d {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(if self.output_size == (1, 1) {
            global_avg_pool2d(x)?
        } else {
            adaptive_avg_pool2d(x, self.output_size)?
        })
    }

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
    use crate::Mode;

    #[test]
    fn plane_means_and_overlapping_bins() {
        let pool = AdaptiveAvgPool2d::new((1, 1)).unwrap();
        let y = pool.forward(&ramp(&[2, 3, 2, 2], 1.0), Mode::Eval).unwrap();
        assert_eq!(y.dims(), &[2, 3, 1, 1]);
        assert_close(&y.to_vec(), &[1.5, 5.5, 9.5, 13.5, 17.5, 21.5]);
        assert_eq!(pool.describe(), "AdaptiveAvgPool2d(output_size=1)");
        // A row 0..5 into 2 bins: [0, 3) and [2, 5).
        let pool = AdaptiveAvgPool2d::new((1, 2)).unwrap();
        let y = pool.forward(&ramp(&[1, 1, 1, 5], 1.0), Mode::Eval).unwrap();
        assert_close(&y.to_vec(), &[1.0, 3.0]);
        assert_eq!(pool.describe(), "AdaptiveAvgPool2d(output_size=(1, 2))");
        let err = AdaptiveAvgPool2d::new((0, 7)).err().unwrap();
        assert!(err.to_string().contains("at least (1, 1)"), "{err}");
        assert!(pool.forward(&Tensor::zeros([2, 3]), Mode::Eval).is_err());
    }
}
