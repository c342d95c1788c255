//! Pieces the zoo's families share: layer shorthands with PyTorch's defaults, and the input-size
//! arithmetic that turns "this input is too small" into an error naming the minimum size.
use crate::error::{Error, Result};
use crate::registry::ModelSpec;
use convkit_nn::layers::{
    Conv2d, Conv2dConfig, Dropout, DropoutConfig, Linear, LinearConfig, MaxPool2d, MaxPool2dConfig,
    Sequential,
};
use convkit_nn::Module;
use convkit_tensor::window_out_len;
use rand::Rng;

/// A layer list with `state_dict` names, for [`named`].
pub(crate) type Layers = Vec<(&'static str, Box<dyn Module>)>;

/// A [`Sequential`] of the given named layers.
pub(crate) fn named(layers: Layers) -> Result<Sequential> {
    Ok(Sequential::named(
        layers
            .into_iter()
            .map(|(n, l)| (n.to_string(), l))
            .collect(),
    )?)
}

/// A square `k×k` convolution (dilation 1, one group).
pub(crate) fn conv(
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    padding: usize,
    bias: bool,
    rng: &mut impl Rng,
) -> Result<Conv2d> {
    let config = Conv2dConfig {
        stride: (stride, stride),
        padding: (padding, padding),
        bias,
        ..Default::default()
    };
    Ok(Conv2d::new(c_in, c_out, (k, k), config, rng)?)
}

/// A square `k×k` max-pooling with the given stride.
pub(crate) fn max_pool(
    k: usize,
    stride: usize,
    padding: usize,
    ceil_mode: bool,
) -> Result<MaxPool2d> {
    let config = MaxPool2dConfig {
        stride: Some((stride, stride)),
        padding: (padding, padding),
        ceil_mode,
    };
    Ok(MaxPool2d::new((k, k), config)?)
}

/// A fully connected layer with a bias.
pub(crate) fn linear(c_in: usize, c_out: usize, rng: &mut impl Rng) -> Result<Linear> {
    Ok(Linear::new(c_in, c_out, LinearConfig::default(), rng)?)
}

/// Dropout with probability `p`.
pub(crate) fn dropout(p: f32, rng: &mut impl Rng) -> Result<Dropout> {
    Ok(Dropout::new(DropoutConfig { p }, rng)?)
}

/// One spatial step of a network, a convolution or pooling window along one axis.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    /// Pooling's `ceil_mode` (PyTorch's rule: the last window must start inside the input or the
    /// left padding).
    pub ceil_mode: bool,
}

impl Step {
    /// A window without padding or ceil mode.
    pub(crate) const fn plain(kernel: usize, stride: usize) -> Step {
        Step {
            kernel,
            stride,
            padding: 0,
            ceil_mode: false,
        }
    }

    /// A padded window (a convolution keeping or shrinking the size).
    pub(crate) const fn padded(kernel: usize, stride: usize, padding: usize) -> Step {
        Step {
            kernel,
            stride,
            padding,
            ceil_mode: false,
        }
    }

    /// A pooling window with `ceil_mode=True`.
    pub(crate) const fn ceil(kernel: usize, stride: usize) -> Step {
        Step {
            kernel,
            stride,
            padding: 0,
            ceil_mode: true,
        }
    }

    /// The output length for an input of `len`, `None` when no window fits: PyTorch's
    /// `pooling_output_shape` (in ceil mode a window may overhang the input's end).
    fn out(self, len: usize) -> Option<usize> {
        window_out_len(
            len,
            self.kernel,
            self.stride,
            self.padding,
            1,
            self.ceil_mode,
        )
    }
}

/// The length after every step in turn, `None` when some step gets less than its window.
fn out_len(len: usize, steps: &[Step]) -> Option<usize> {
    steps.iter().try_fold(len, |len, s| s.out(len))
}

/// The (height, width) that `spec`'s input has after `steps`, or [`Error::Unsupported`] naming
/// `model` and the smallest input size the steps accept.
pub(crate) fn spatial_out(
    model: &'static str,
    spec: &ModelSpec,
    steps: &[Step],
) -> Result<(usize, usize)> {
    let (h, w) = spec.input_size;
    match (out_len(h, steps), out_len(w, steps)) {
        (Some(oh), Some(ow)) => Ok((oh, ow)),
        _ => {
            // Output lengths grow with the input, so the first length that fits is the minimum.
            let min = (1..)
                .find(|&len| out_len(len, steps).is_some())
                .expect("a large enough input fits any finite stack of windows");
            Err(Error::Unsupported {
                model,
                reason: format!("input {h}x{w} is too small: the minimum is {min}x{min}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytorch_output_lengths() {
        // AlexNet: 227 → conv 11/4 → 55 → pool 3/2 → 27.
        assert_eq!(
            out_len(227, &[Step::plain(11, 4), Step::plain(3, 2)]),
            Some(27)
        );
        // GoogLeNet's ceil-mode pools: 112 → 56, 14 → 7 (2/2), 16 → 8, 4 → 2, 2 → 1.
        assert_eq!(out_len(112, &[Step::ceil(3, 2)]), Some(56));
        assert_eq!(out_len(16, &[Step::ceil(3, 2)]), Some(8));
        assert_eq!(out_len(4, &[Step::ceil(3, 2)]), Some(2));
        assert_eq!(out_len(2, &[Step::ceil(2, 2)]), Some(1));
        // The last window may not start in the right padding: 5 with k2 s2 p1 ceil gives 3, not 4.
        let padded_ceil = Step {
            kernel: 2,
            stride: 2,
            padding: 1,
            ceil_mode: true,
        };
        assert_eq!(out_len(5, &[padded_ceil]), Some(3));
        assert_eq!(out_len(2, &[Step::plain(3, 2)]), None);
    }

    #[test]
    fn too_small_names_the_minimum() {
        let spec = ModelSpec {
            in_channels: 3,
            num_classes: 10,
            input_size: (8, 40),
        };
        let err = spatial_out(
            "toy",
            &spec,
            &[Step::plain(3, 1), Step::plain(2, 2), Step::plain(5, 1)],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "toy: input 8x40 is too small: the minimum is 12x12"
        );
    }
}
