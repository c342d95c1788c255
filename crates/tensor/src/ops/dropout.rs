//! Inverted dropout and its structured variants: each *group* of elements (one element, one channel
//! of one sample, one whole sample) is zeroed with probability p, survivors are scaled by 1/(1−p) so
//! the expectation is unchanged, and evaluation passes the input through untouched.
//!
//! DropConnect is dropout applied to a layer's weight instead of its activations (see the nn
//! crate's `DropConnect` layer).
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use rand::Rng;

/// What stochastic depth drops: a residual branch per sample, or for the whole batch at once
/// (torchvision's `mode="row"` / `mode="batch"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StochasticDepthMode {
    #[default]
    Row,
    Batch,
}

impl Tensor {
    /// Inverted dropout of single elements. In eval (`training == false`) or with `p == 0` it returns
    /// the input unchanged, so no rescaling is needed at test time.
    ///
    /// # Errors
    /// When `p` is outside `[0, 1]`.
    pub fn dropout(&self, p: f32, training: bool, rng: &mut impl Rng) -> Result<Tensor> {
        self.drop_groups("dropout", p, training, 1, rng)
    }

    /// Channel dropout (PyTorch's `Dropout2d`, also right for 1-D/3-D feature maps): every channel of
    /// every sample, `x[n, c, ...]`, is zeroed as a whole with probability p, survivors scaled by
    /// 1/(1−p). Identity in eval.
    ///
    /// # Shapes
    /// `[N, C, *]` → the same shape.
    ///
    /// # Errors
    /// When `p` is outside `[0, 1]` or the input has fewer than 2 dims.
    pub fn dropout2d(&self, p: f32, training: bool, rng: &mut impl Rng) -> Result<Tensor> {
        if self.rank() < 2 {
            return Err(Error::shape(
                "dropout2d",
                format!("input must be [N, C, *], got {}", self.shape()),
            ));
        }
        let channel_len = self.dims()[2..].iter().product();
        self.drop_groups("dropout2d", p, training, channel_len, rng)
    }

    /// Stochastic depth (Huang et al. 2016, torchvision's `stochastic_depth`) for the output of a
    /// residual branch: in [`StochasticDepthMode::Row`] each sample's branch is dropped with
    /// probability p, in `Batch` the whole batch's; survivors are scaled by 1/(1−p). Add the result
    /// to the identity path: a dropped branch leaves the block an identity. Identity in eval.
    ///
    /// # Shapes
    /// `[N, *]` → the same shape.
    ///
    /// # Errors
    /// When `p` is outside `[0, 1]` or the input is a scalar.
    pub fn stochastic_depth(
        &self,
        p: f32,
        mode: StochasticDepthMode,
        training: bool,
        rng: &mut impl Rng,
    ) -> Result<Tensor> {
        let Some(&batch) = self.dims().first() else {
            return Err(Error::shape(
                "stochastic_depth",
                "input must be [N, *], got a scalar",
            ));
        };
        let group_len = match mode {
            StochasticDepthMode::Row => self.numel() / batch.max(1),
            StochasticDepthMode::Batch => self.numel(),
        };
        self.drop_groups("stochastic_depth", p, training, group_len.max(1), rng)
    }

    /// Zeroes each run of `group_len` consecutive elements with probability p, scaling the others by
    /// 1/(1−p); one random draw per group.
    fn drop_groups(
        &self,
        op: &'static str,
        p: f32,
        training: bool,
        group_len: usize,
        rng: &mut impl Rng,
    ) -> Result<Tensor> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::config(
                op,
                format!("probability must be in [0, 1], got {p}"),
            ));
        }
        if !training || p == 0.0 || self.numel() == 0 {
            return Ok(self.clone());
        }
        let keep_scale = if p < 1.0 { 1.0 / (1.0 - p) } else { 0.0 };
        let groups = self.numel() / group_len;
        let mut mask = Vec::with_capacity(self.numel());
        for _ in 0..groups {
            let m = if rng.random::<f32>() < p {
                0.0
            } else {
                keep_scale
            };
            mask.extend(std::iter::repeat_n(m, group_len));
        }
        let out = self.data().iter().zip(&mask).map(|(x, m)| x * m).collect();
        Ok(Tensor::from_op(
            out,
            self.shape().clone(),
            Op::Dropout {
                input: self.clone(),
                mask,
            },
        ))
    }
}

pub(crate) fn dropout_backward(input: &Tensor, mask: &[f32], grad: &[f32]) -> Vec<InputGrad> {
    vec![(
        input.clone(),
        grad.iter().zip(mask).map(|(g, m)| g * m).collect(),
    )]
}
