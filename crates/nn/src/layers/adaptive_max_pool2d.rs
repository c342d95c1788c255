//! `AdaptiveMaxPool2d`: max pooling to a fixed output size; `(1, 1)` is global max pooling.
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::module::{py_size, Module};
use convkit_tensor::ops::adaptive_pool::{adaptive_max_pool2d, adaptive_max_pool2d_with_indices};
use convkit_tensor::ops::unpool::PoolIndices;
use convkit_tensor::Tensor;

/// Adaptive max pooling, PyTorch's `nn.AdaptiveMaxPool2d`: output cell `(i, j)` is the maximum
/// of input rows `⌊i·H/H_out⌋ .. ⌈(i+1)·H/H_out⌉` and columns likewise. `output_size (1, 1)` is
/// global max pooling.
///
/// # Shapes
/// `[N, C, H, W]` → `[N, C, H_out, W_out]`.
///
/// # Errors
/// [`AdaptiveMaxPool2d::new`]: a zero output size. `forward`: a non-4-D input or an empty plane.
pub struct AdaptiveMaxPool2d {
    output_size: (usize, usize),
}

impl AdaptiveMaxPool2d {
    pub fn new(output_size: (usize, usize)) -> Result<AdaptiveMaxPool2d> {
        if output_size.0 == 0 || output_size.1 == 0 {
            return Err(Error::config(
                "AdaptiveMaxPool2d",
                format!("output_size must be at least (1, 1), got {output_size:?}"),
            ));
        }
        Ok(AdaptiveMaxPool2d { output_size })
    }

    /// Global max pooling: `AdaptiveMaxPool2d((1, 1))`.
    pub fn global() -> AdaptiveMaxPool2d {
        AdaptiveMaxPool2d {
            output_size: (1, 1),
        }
    }

    /// The pooled output and the arg-max indices (PyTorch's `return_indices=True`), for
    /// [`crate::layers::MaxUnpool2d`].
    ///
    /// # Errors
    /// As `forward`.
    pub fn forward_with_indices(&self, x: &Tensor) -> Result<(Tensor, PoolIndices)> {
        Ok(adaptive_max_pool2d_with_indices(x, self.output_size)?)
    }
}

impl Module for AdaptiveMaxPool2d {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(adaptive_max_pool2d(x, self.output_size)?)
    }

    fn describe(&self) -> String {
        format!(
            "AdaptiveMaxPool2d(output_size={})",
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
    fn bin_maxima_and_global_max() {
        let pool = AdaptiveMaxPool2d::new((1, 2)).unwrap();
        let (y, idx) = pool
            .forward_with_indices(&ramp(&[1, 1, 2, 5], 1.0))
            .unwrap();
        // Columns [0, 3) and [2, 5) of rows 0..2: maxima 7 and 9.
        assert_close(&y.to_vec(), &[7.0, 9.0]);
        assert_eq!(idx.indices(), &[7, 9]);
        let g = AdaptiveMaxPool2d::global();
        let y = g.forward(&ramp(&[2, 2, 2, 2], -1.0), Mode::Eval).unwrap();
        assert_close(&y.to_vec(), &[0.0, -4.0, -8.0, -12.0]);
        assert_eq!(g.describe(), "AdaptiveMaxPool2d(output_size=1)");
        assert!(AdaptiveMaxPool2d::new((2, 0)).is_err());
    }
}
