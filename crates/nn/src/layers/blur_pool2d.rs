//! `BlurPool2d`: anti-aliased downsampling (blur with a binomial filter, then subsample).
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::module::Module;
use convkit_tensor::ops::blur_pool::blur_pool2d;
use convkit_tensor::Tensor;

/// Settings of [`BlurPool2d`] besides the channel count (the reference implementation's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlurPool2dConfig {
    /// Taps per axis of the binomial filter (3: `[1, 2, 1]`, 5: `[1, 4, 6, 4, 1]`).
    pub filt_size: usize,
    pub stride: usize,
    /// Zero padding on each side; `None` means `(filt_size − 1) / 2` ("same" before subsampling).
    pub padding: Option<usize>,
}

impl Default for BlurPool2dConfig {
    fn default() -> Self {
        BlurPool2dConfig {
            filt_size: 3,
            stride: 2,
            padding: None,
        }
    }
}

/// Anti-aliased downsampling (Zhang, "Making Convolutional Networks Shift-Invariant Again"): each
/// channel is blurred by a fixed, normalised binomial filter and then subsampled by `stride`. Use
/// `MaxPool2d(k, stride=1)` then `BlurPool2d` in place of a strided max-pool, or a stride-1 conv
/// then `BlurPool2d` in place of a strided conv. No parameters (the filter is fixed), zero padding
/// (the reference pads by reflection).
///
/// # Shapes
/// `[N, C, H, W]` → `[N, C, H_out, W_out]`, `H_out = ⌊(H + 2·padding − filt_size) / stride⌋ + 1`;
/// with the default padding and an odd filter, `⌈H / stride⌉`.
///
/// # Errors
/// `new`: zero channels, filter size or stride. `forward`: a non-4-D input, another channel count,
/// a filter larger than the padded input.
pub struct BlurPool2d {
    channels: usize,
    config: BlurPool2dConfig,
    padding: usize,
}

impl BlurPool2d {
    pub fn new(channels: usize, config: BlurPool2dConfig) -> Result<BlurPool2d> {
        if channels == 0 || config.filt_size == 0 || config.stride == 0 {
            return Err(Error::config(
                "BlurPool2d",
                format!(
                    "channels, filt_size and stride must be positive, got {channels}, {config:?}"
                ),
            ));
        }
        let padding = config.padding.unwrap_or((config.filt_size - 1) / 2);
        Ok(BlurPool2d {
            channels,
            config,
            padding,
        })
    }
}

impl Module for BlurPool2d {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        if x.rank() != 4 || x.dims()[1] != self.channels {
            return Err(Error::config(
                "BlurPool2d",
                format!("expects [N, {}, H, W], got {}", self.channels, x.shape()),
            ));
        }
        Ok(blur_pool2d(
            x,
            self.config.filt_size,
            self.config.stride,
            self.padding,
        )?)
    }

    fn describe(&self) -> String {
        format!(
            "BlurPool2d({}, filt_size={}, stride={}, padding={})",
            self.channels, self.config.filt_size, self.config.stride, self.padding
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::assert_close;
    use crate::Mode;

    #[test]
    fn constant_interior_is_kept_and_a_shifted_edge_changes_smoothly() {
        let blur = BlurPool2d::new(2, BlurPool2dConfig::default()).unwrap();
        let y = blur
            .forward(&Tensor::ones([1, 2, 7, 7]), Mode::Eval)
            .unwrap();
        assert_eq!(y.dims(), &[1, 2, 4, 4]);
        // Interior windows see only ones: the normalised filter keeps the value.
        assert!((y.get(&[0, 1, 1, 2]).unwrap() - 1.0).abs() < 1e-6);
        // [1, 2, 1]/4 along a row: a one-pixel impulse at column 2 of 5 becomes 1/4, 1/2 ... at stride 1.
        let blur1 = BlurPool2d::new(
            1,
            BlurPool2dConfig {
                stride: 1,
                ..Default::default()
            },
        )
        .unwrap();
        let mut v = vec![0.0; 25];
        v[12] = 16.0;
        let y = blur1
            .forward(&Tensor::from_vec(v, [1, 1, 5, 5]).unwrap(), Mode::Eval)
            .unwrap();
        assert_close(&y.to_vec()[6..9], &[1.0, 2.0, 1.0]);
        assert_close(&y.to_vec()[11..14], &[2.0, 4.0, 2.0]);
        assert_eq!(
            blur.describe(),
            "BlurPool2d(2, filt_size=3, stride=2, padding=1)"
        );
        assert!(blur
            .forward(&Tensor::ones([1, 3, 7, 7]), Mode::Eval)
            .is_err());
        assert!(BlurPool2d::new(
            2,
            BlurPool2dConfig {
                stride: 0,
                ..Default::default()
            }
        )
        .is_err());
    }
}
