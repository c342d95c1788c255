//! `MaxPool2d`: the maximum of each window.
use super::pool_op_config;
use crate::error::Result;
use crate::forward_pass::ForwardPass;
use crate::module::{py_bool, py_size, Module};
use convkit_tensor::ops::pool::{max_pool2d, max_pool2d_with_indices, Pool2dConfig};
use convkit_tensor::ops::unpool::PoolIndices;
use convkit_tensor::Tensor;

/// Settings of [`MaxPool2d`] besides the window (PyTorch's keyword arguments and defaults).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxPool2dConfig {
    /// Window step; `None` (the default) means the kernel size.
    pub stride: Option<(usize, usize)>,
    /// Implicit padding on each side (never wins the max); at most half the kernel.
    pub padding: (usize, usize),
    /// Round the output size up instead of down.
    pub ceil_mode: bool,
}

/// Max pooling, PyTorch's `nn.MaxPool2d` (dilation 1). No parameters.
///
/// # Shapes
/// `[N, C, H, W]` → `[N, C, H_out, W_out]` with `H_out = floor((H + 2·padding − kH) / stride) + 1`
/// (ceil with `ceil_mode`, the last window starting inside the input), likewise W.
///
/// # Errors
/// [`MaxPool2d::new`]: zero kernel or stride, padding over half the kernel. `forward`: a non-4-D input
/// or one smaller than the window after padding.
pub struct MaxPool2d {
    config: Pool2dConfig,
}

impl MaxPool2d {
    pub fn new(kernel_size: (usize, usize), config: MaxPool2dConfig) -> Result<MaxPool2d> {
        let MaxPool2dConfig {
            stride,
            padding,
            ceil_mode,
        } = config;
        Ok(MaxPool2d {
            config: pool_op_config("MaxPool2d", kernel_size, stride, padding, ceil_mode, true)?,
        })
    }

    /// The pooled output and each window's arg-max as a flat per-plane index `y·W + x`
    /// (PyTorch's `return_indices=True`), for [`crate::layers::MaxUnpool2d`].
    ///
    /// # Errors
    /// As `forward`.
    pub fn forward_with_indices(&self, x: &Tensor) -> Result<(Tensor, PoolIndices)> {
        Ok(max_pool2d_with_indices(x, &self.config)?)
    }
}

impl Module for MaxPool2d {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(max_pool2d(x, &self.config)?)
    }

    fn describe(&self) -> String {
        let c = &self.config;
        format!(
            "MaxPool2d(kernel_size={}, stride={}, padding={}, dilation=1, ceil_mode={})",
            py_size(c.kernel),
            py_size(c.stride),
            py_size(c.padding),
            py_bool(c.ceil_mode)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::{assert_close, ramp};
    use crate::Mode;

    #[test]
    fn course_notes_example() {
        // The 4×4 → 2×2 example: the max of each 2×2 block.
        let x = Tensor::from_vec(
            vec![
                1.0, 1.0, 2.0, 4.0, 5.0, 6.0, 7.0, 8.0, 3.0, 2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 4.0,
            ],
            [1, 1, 4, 4],
        )
        .unwrap();
        let pool = MaxPool2d::new((2, 2), MaxPool2dConfig::default()).unwrap();
        let y = pool.forward(&x, Mode::Eval).unwrap();
        assert_eq!(y.dims(), &[1, 1, 2, 2]);
        assert_eq!(y.to_vec(), vec![6.0, 8.0, 3.0, 4.0]);
        assert_eq!(
            pool.describe(),
            "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
        );
    }

    #[test]
    fn overlapping_padded_and_ceil_mode_sizes() {
        let x = ramp(&[2, 3, 7, 6], 1.0);
        let pool = |k, config| {
            MaxPool2d::new(k, config)
                .unwrap()
                .forward(&x, Mode::Eval)
                .unwrap()
        };
        // floor((7 + 2 − 3) / 2) + 1 = 4; floor((6 + 2 − 3) / 2) + 1 = 3.
        let y = pool(
            (3, 3),
            MaxPool2dConfig {
                stride: Some((2, 2)),
                padding: (1, 1),
                ceil_mode: false,
            },
        );
        assert_eq!(y.dims(), &[2, 3, 4, 3]);
        // Windows end at row 1, 3, 5, 6 and column 1, 3, 5: the bottom-right of each, on a ramp.
        assert_close(
            &y.to_vec()[..12],
            &[
                7.0, 9.0, 11.0, 19.0, 21.0, 23.0, 31.0, 33.0, 35.0, 37.0, 39.0, 41.0,
            ],
        );
        // ceil((7 − 2) / 2) + 1 = 4 rows, ceil((6 − 2) / 2) + 1 = 3 columns.
        let y = pool(
            (2, 2),
            MaxPool2dConfig {
                ceil_mode: true,
                ..Default::default()
            },
        );
        assert_eq!(y.dims(), &[2, 3, 4, 3]);
    }

    #[test]
    fn invalid_configurations() {
        let err = MaxPool2d::new(
            (2, 2),
            MaxPool2dConfig {
                padding: (2, 0),
                ..Default::default()
            },
        )
        .err()
        .unwrap();
        assert!(
            err.to_string()
                .contains("MaxPool2d: invalid configuration: padding (2, 0) must be at most half"),
            "{err}"
        );
        assert!(MaxPool2d::new((0, 2), MaxPool2dConfig::default()).is_err());
        assert!(MaxPool2d::new(
            (2, 2),
            MaxPool2dConfig {
                stride: Some((1, 0)),
                ..Default::default()
            }
        )
        .is_err());
    }
}
