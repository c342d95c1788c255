//! Point-wise losses between a prediction and a target of the same shape: MSE, L1, smooth L1 and
//! binary cross-entropy with logits. Each is a row of [`PointwiseLoss::eval`]'s table: the value and
//! its derivatives with respect to the prediction and the target.
use super::{finish, grad_needed, LossParts, Reduction};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A point-wise loss `ℓ(x, t)` (x the prediction, t the target).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PointwiseLoss {
    /// `(x − t)²`.
    Mse,
    /// `|x − t|` (derivative 0 where x = t, as PyTorch).
    L1,
    /// `0.5·d²/β` where `|d| < β`, else `|d| − 0.5·β`, with `d = x − t`; `β = 0` is L1.
    SmoothL1 { beta: f32 },
    /// `−[p·t·log σ(x) + (1 − t)·log(1 − σ(x))]` on logits x, computed stably as
    /// `p·t·softplus(−x) + (1 − t)·softplus(x)`; p is the positive-class weight (1 by default).
    BceWithLogits,
}

/// `log(1 + eˣ)` without overflow.
fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl PointwiseLoss {
    fn name(self) -> &'static str {
        match self {
            PointwiseLoss::Mse => "mse_loss",
            PointwiseLoss::L1 => "l1_loss",
            PointwiseLoss::SmoothL1 { .. } => "smooth_l1_loss",
            PointwiseLoss::BceWithLogits => "binary_cross_entropy_with_logits",
        }
    }

    /// (ℓ, ∂ℓ/∂x, ∂ℓ/∂t) at (x, t); `pos_weight` is used by BCE only.
    #[inline]
    fn eval(self, x: f32, t: f32, pos_weight: f32) -> (f32, f32, f32) {
        let d = x - t;
        let sign = if d > 0.0 {
            1.0
        } else if d < 0.0 {
            -1.0
        } else {
            0.0
        };
        match self {
            PointwiseLoss::Mse => (d * d, 2.0 * d, -2.0 * d),
            PointwiseLoss::L1 => (d.abs(), sign, -sign),
            PointwiseLoss::SmoothL1 { beta } => {
                if d.abs() < beta {
                    (0.5 * d * d / beta, d / beta, -d / beta)
                } else {
                    (d.abs() - 0.5 * beta, sign, -sign)
                }
            }
            PointwiseLoss::BceWithLogits => {
                let (sp_neg, sp_pos) = (softplus(-x), softplus(x));
                let s = sigmoid(x);
                let value = pos_weight * t * sp_neg + (1.0 - t) * sp_pos;
                let dx = (1.0 - t) * s - pos_weight * t * (1.0 - s);
                let dt = pos_weight * sp_neg - sp_pos;
                (value, dx, dt)
            }
        }
    }
}

/// Settings of [`pointwise_loss`].
#[derive(Clone, Debug, Default)]
pub struct PointwiseLossConfig {
    pub reduction: Reduction,
    /// BCE-with-logits only: the weight of positive examples per class, `[C]` broadcast over the
    /// last dim of the input (PyTorch's `pos_weight`; a constant). 1 when `None`.
    pub pos_weight: Option<Tensor>,
}

/// A point-wise loss of `input` against `target` (same shape), reduced as configured; gradients flow
/// to both where they require grad. The mean divides by the number of elements.
///
/// # Shapes
/// input and target any equal shape → that shape with [`Reduction::None`], else a scalar.
///
/// # Errors
/// Shapes that differ; a `pos_weight` on a loss other than BCE, or whose length is not the last dim;
/// a negative smooth-L1 `beta`.
pub fn pointwise_loss(
    kind: PointwiseLoss,
    input: &Tensor,
    target: &Tensor,
    config: &PointwiseLossConfig,
) -> Result<Tensor> {
    let op = kind.name();
    if input.shape() != target.shape() {
        return Err(Error::shape(
            op,
            format!(
                "prediction shape {} differs from target shape {}",
                input.shape(),
                target.shape()
            ),
        ));
    }
    if let PointwiseLoss::SmoothL1 { beta } = kind {
        if beta.is_nan() || beta < 0.0 {
            return Err(Error::config(
                op,
                format!("beta must be non-negative, got {beta}"),
            ));
        }
    }
    let last = input.dims().last().copied().unwrap_or(1);
    let pos_weight = match (&config.pos_weight, kind) {
        (None, _) => vec![1.0],
        (Some(w), PointwiseLoss::BceWithLogits) if w.rank() == 1 && w.numel() == last => w.to_vec(),
        (Some(w), _) => {
            return Err(Error::shape(
                op,
                format!(
                "pos_weight {} applies to BCE with logits only, as [C] with C the last dim of {}",
                w.shape(),
                input.shape()
            ),
            ))
        }
    };
    let (x, t) = (input.data(), target.data());
    let (grad_x, grad_t) = (grad_needed(&[Some(input)]), grad_needed(&[Some(target)]));
    let n = x.len();
    let mut values = Vec::with_capacity(n);
    let mut d_input = Vec::with_capacity(if grad_x { n } else { 0 });
    let mut d_target = Vec::with_capacity(if grad_t { n } else { 0 });
    for (e, (&xe, &te)) in x.iter().zip(t.iter()).enumerate() {
        let p = if pos_weight.len() == 1 {
            pos_weight[0]
        } else {
            pos_weight[e % last]
        };
        let (v, dx, dt) = kind.eval(xe, te, p);
        values.push(v as f64);
        if grad_x {
            d_input.push(dx);
        }
        if grad_t {
            d_target.push(dt);
        }
    }
    drop((x, t));
    let parts = LossParts {
        values,
        d_input,
        d_target,
        layout: (n, 1, 1),
        mean_divisor: n as f64,
    };
    Ok(finish(
        parts,
        config.reduction,
        input.shape().clone(),
        input,
        Some(target),
    ))
}

impl Tensor {
    /// Mean squared error `mean((self − target)²)`; both must have the same shape. Returns a scalar.
    ///
    /// # Errors
    /// When the shapes differ.
    pub fn mse_loss(&self, target: &Tensor) -> Result<Tensor> {
        pointwise_loss(
            PointwiseLoss::Mse,
            self,
            target,
            &PointwiseLossConfig::default(),
        )
    }
}
