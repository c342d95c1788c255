//! `MaxUnpool2d`: the partial inverse of `MaxPool2d`, given its indices.
use crate::error::{Error, Result};
use crate::module::py_size;
use convkit_tensor::ops::unpool::{max_unpool2d, PoolIndices};
use convkit_tensor::{conv_transpose_out_len, Tensor};

/// Max-unpooling, PyTorch's `nn.MaxUnpool2d(kernel_size, stride, padding)`: each value goes back to
/// the position its max-pooling index names; all other outputs are zero. It takes two inputs, so it
/// is called directly rather than as a [`crate::Module`] in a `Sequential`:
/// `unpool.forward(&pooled, &indices, None)` with the indices from
/// [`crate::layers::MaxPool2d::forward_with_indices`].
///
/// # Shapes
/// `[N, C, H_in, W_in]` → `[N, C, H_out, W_out]`, by default
/// `H_out = (H_in − 1)·stride − 2·padding + kernel`, likewise W; or the `output_size` given (e.g.
/// `indices.input_hw()`, the size before pooling, when floor rounding dropped a row).
///
/// # Errors
/// `new`: a zero kernel or stride. `forward`: an input of another shape than the indices, an index
/// outside the output, an output size PyTorch's formula makes empty.
pub struct MaxUnpool2d {
    kernel_size: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
}

impl MaxUnpool2d {
    /// `stride` defaults to the kernel size, as in PyTorch.
    pub fn new(
        kernel_size: (usize, usize),
        stride: Option<(usize, usize)>,
        padding: (usize, usize),
    ) -> Result<MaxUnpool2d> {
        let stride = stride.unwrap_or(kernel_size);
        if [kernel_size.0, kernel_size.1, stride.0, stride.1].contains(&0) {
            return Err(Error::config(
                "MaxUnpool2d",
                format!("kernel {kernel_size:?} and stride {stride:?} must be at least 1"),
            ));
        }
        Ok(MaxUnpool2d {
            kernel_size,
            stride,
            padding,
        })
    }

    /// Unpools `x` with `indices`; see the type's docs for the output size.
    ///
    /// # Errors
    /// See the type's docs.
    pub fn forward(
        &self,
        x: &Tensor,
        indices: &PoolIndices,
        output_size: Option<(usize, usize)>,
    ) -> Result<Tensor> {
        let size = match output_size {
            Some(s) => s,
            None => {
                // PyTorch's default: the transposed-convolution size of the pooling window.
                let axis = |len: usize, k: usize, s: usize, p: usize| {
                    conv_transpose_out_len(len.max(1), k, s, p, 1, 0)
                };
                let d = x.dims();
                let (Some(h), Some(w)) = (
                    d.get(2)
                        .and_then(|&h| axis(h, self.kernel_size.0, self.stride.0, self.padding.0)),
                    d.get(3)
                        .and_then(|&w| axis(w, self.kernel_size.1, self.stride.1, self.padding.1)),
                ) else {
                    return Err(Error::config(
                        "MaxUnpool2d",
                        format!(
                            "no output size fits input {} with padding {:?}",
                            x.shape(),
                            self.padding
                        ),
                    ));
                };
                (h, w)
            }
        };
        Ok(max_unpool2d(x, indices, size)?)
    }

    /// PyTorch's `print(module)` line.
    pub fn describe(&self) -> String {
        format!(
            "MaxUnpool2d(kernel_size={}, stride={}, padding={})",
            py_size(self.kernel_size),
            py_size(self.stride),
            py_size(self.padding)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::assert_close;
    use crate::layers::{MaxPool2d, MaxPool2dConfig};

    #[test]
    fn inverse_of_max_pool_with_its_indices() {
        // The course's 4×4 example: maxima 6, 8, 3, 4 go back to their cells.
        let x = Tensor::from_vec(
            vec![
                1., 1., 2., 4., 5., 6., 7., 8., 3., 2., 1., 0., 1., 2., 3., 4.,
            ],
            [1, 1, 4, 4],
        )
        .unwrap();
        let pool = MaxPool2d::new((2, 2), MaxPool2dConfig::default()).unwrap();
        let (y, idx) = pool.forward_with_indices(&x).unwrap();
        assert_close(&y.to_vec(), &[6.0, 8.0, 3.0, 4.0]);
        assert_eq!(idx.indices(), &[5, 7, 8, 15]);
        let unpool = MaxUnpool2d::new((2, 2), None, (0, 0)).unwrap();
        let z = unpool.forward(&y, &idx, None).unwrap();
        let mut want = vec![0.0; 16];
        for (i, v) in [(5, 6.0), (7, 8.0), (8, 3.0), (15, 4.0)] {
            want[i] = v;
        }
        assert_close(&z.to_vec(), &want);
        assert_eq!(
            unpool.describe(),
            "MaxUnpool2d(kernel_size=2, stride=2, padding=0)"
        );
        let err = unpool.forward(&y, &idx, Some((1, 4))).unwrap_err();
        assert!(err.to_string().contains("outside the output size"), "{err}");
    }
}
