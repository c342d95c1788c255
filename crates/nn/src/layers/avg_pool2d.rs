//! `AvgPool2d`: the mean of each window.
use super::pool_op_config;
use crate::error::Result;
use crate::forward_pass::ForwardPass;
use crate::module::{py_size, Module};
use convkit_tensor::ops::pool::{avg_pool2d, Pool2dConfig};
use convkit_tensor::Tensor;

/// Settings of [`AvgPool2d`] besides the window (PyTorch's keyword arguments and defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2dConfig {
    /// Window step; `None` (the default) means the kernel size.
    pub stride: Option<(usize, usize)>,
    /// Implicit zero padding on each side; at most half the kernel.
    pub padding: (usize, usize),
    /// Round the output size up instead of down.
    pub ceil_mode: bool,
    /// Count padded cells in the divisor.
    pub count_include_pad: bool,
}

impl Default for AvgPool2dConfig {
    fn default() -> Self {
        AvgPool2dConfig {
            stride: None,
            padding: (0, 0),
            ceil_mode: false,
            count_include_pad: true,
        }
    }
}

/// Average pooling, PyTorch's `nn.AvgPool2d`. No parameters.
///
/// # Shapes
/// `[N, C, H, W]` → `[N, C, H_out, W_out]` with `H_out = floor((H + 2·padding − kH) / stride) + 1`
/// (ceil with `ceil_mode`), likewise W.
///
/// # Errors
/// [`AvgPool2d::new`]: zero kernel or stride, padding over half the kernel. `forward`: a non-4-D input
/// or one smaller than the window after padding.
pub struct AvgPool2d {
    config: Pool2dConfig,
}

impl AvgPool2d {
    pub fn new(kernel_size: (usize, usize), config: AvgPool2dConfig) -> Result<AvgPool2d> {
        let AvgPool2dConfig {
            stride,
            padding,
            ceil_mode,
            count_include_pad,
        } = config;
        let config = pool_op_config(
            "AvgPool2d",
            kernel_size,
            stride,
            padding,
            ceil_mode,
            count_include_pad,
        )?;
        Ok(AvgPool2d { config })
    }
}

impl Module for AvgPool2d {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(avg_pool2d(x, &self.config)?)
    }

    fn describe(&self) -> String {
        let c = &self.config;
        format!(
            "AvgPool2d(kernel_size={}, stride={}, padding={})",
            py_size(c.kernel),
            py_size(c.stride),
            py_size(c.padding)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::{assert_close, ramp};
    use crate::Mode;

    #[test]
    fn window_means_with_and_without_padding_in_the_divisor() {
        let x = ramp(&[1, 1, 4, 4], 1.0);
        let pool = AvgPool2d::new((2, 2), AvgPool2dConfig::default()).unwrap();
        let y = pool.forward(&x, Mode::Eval).unwrap();
        assert_eq!(y.dims(), &[1, 1, 2, 2]);
        assert_close(&y.to_vec(), &[2.5, 4.5, 10.5, 12.5]);
        assert_eq!(
            pool.describe(),
            "AvgPool2d(kernel_size=2, stride=2, padding=0)"
        );
        // 2×2 windows, padding 1, stride 2 → 3×3. The first row of windows sees x[0,0] = 0, then
        // x[0,1] + x[0,2] = 3, then x[0,3] = 3: divided by 4 with padding counted, by the real count without.
        let padded = AvgPool2dConfig {
            stride: Some((2, 2)),
            padding: (1, 1),
            ..Default::default()
        };
        let y = AvgPool2d::new((2, 2), padded)
            .unwrap()
            .forward(&x, Mode::Eval)
            .unwrap();
        assert_eq!(y.dims(), &[1, 1, 3, 3]);
        assert_close(&y.to_vec()[..3], &[0.0, 1.5 / 2.0, 0.75]);
        let exclude = AvgPool2dConfig {
            count_include_pad: false,
            ..padded
        };
        let y = AvgPool2d::new((2, 2), exclude)
            .unwrap()
            .forward(&x, Mode::Eval)
            .unwrap();
        assert_close(&y.to_vec()[..3], &[0.0, 1.5, 3.0]);
    }

    #[test]
    fn errors() {
        let err = AvgPool2d::new(
            (3, 3),
            AvgPool2dConfig {
                stride: Some((0, 1)),
                ..Default::default()
            },
        )
        .err()
        .unwrap();
        assert!(
            err.to_string()
                .starts_with("AvgPool2d: invalid configuration"),
            "{err}"
        );
        let err = AvgPool2d::new((5, 5), AvgPool2dConfig::default())
            .unwrap()
            .forward(&Tensor::zeros([1, 1, 3, 3]), Mode::Eval);
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("larger than the padded input"));
    }
}
