//! Losses. Every loss is one graph node ([`Op::Loss`]): the forward pass computes the values and,
//! when a gradient will be needed, each input element's derivative (a table of derivatives per loss,
//! next to its value), so one backward serves them all.
//!
//! - [`class`]: cross-entropy, NLL, multi-margin (SVM hinge), over `[N, C, *]` scores.
//! - [`pointwise`]: MSE, L1, smooth L1, BCE-with-logits, element by element.
pub mod class;
pub mod pointwise;

pub use class::{
    cross_entropy, multi_margin_loss, multiclass_hinge_loss, nll_loss, ClassTarget,
    CrossEntropyConfig, MultiMarginConfig,
};
pub use pointwise::{pointwise_loss, PointwiseLoss, PointwiseLossConfig};

use crate::autograd::{is_grad_enabled, InputGrad, Op};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// How per-element (or per-sample) losses become the result, PyTorch's `reduction` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Every loss value, unreduced.
    None,
    /// The average (for class losses with weights, PyTorch's weighted mean: see each loss).
    #[default]
    Mean,
    /// The total.
    Sum,
}

/// What a loss node keeps for backward: the derivative of the loss value each input element feeds,
/// already multiplied by the reduction's factor.
pub(crate) struct LossSaved {
    d_input: Vec<f32>,
    /// Empty when the target needs no gradient.
    d_target: Vec<f32>,
    /// The input as (outer, reduced, inner): element `(o, c, i)` feeds loss value `o·inner + i`.
    /// Class losses reduce over the class dim; point-wise ones have `reduced = 1`.
    layout: (usize, usize, usize),
    reduction: Reduction,
}

/// Loss values and derivatives, filled by one loss's forward pass.
pub(crate) struct LossParts {
    /// One value per loss term (`outer·inner` of them), in f64 for the reduction.
    pub values: Vec<f64>,
    pub d_input: Vec<f32>,
    pub d_target: Vec<f32>,
    pub layout: (usize, usize, usize),
    /// The divisor of the mean (the number of terms, or the weight total for weighted class losses).
    pub mean_divisor: f64,
}

/// Whether a loss over these tensors will be recorded for backward (so derivatives are worth computing).
pub(crate) fn grad_needed(tensors: &[Option<&Tensor>]) -> bool {
    is_grad_enabled() && tensors.iter().flatten().any(|t| t.requires_grad())
}

/// Reduces the loss values and records the node; `unreduced_shape` is the shape of the `None` result.
pub(crate) fn finish(
    parts: LossParts,
    reduction: Reduction,
    unreduced_shape: Shape,
    input: &Tensor,
    target: Option<&Tensor>,
) -> Tensor {
    let LossParts {
        values,
        mut d_input,
        mut d_target,
        layout,
        mean_divisor,
    } = parts;
    let (out, shape, factor) = match reduction {
        Reduction::None => (
            values.iter().map(|&v| v as f32).collect(),
            unreduced_shape,
            1.0,
        ),
        Reduction::Sum => (
            vec![values.iter().sum::<f64>() as f32],
            Shape::new(&[]),
            1.0,
        ),
        Reduction::Mean => {
            // PyTorch gives NaN for the mean of no terms (0/0); so do we.
            let mean = values.iter().sum::<f64>() / mean_divisor;
            (vec![mean as f32], Shape::new(&[]), 1.0 / mean_divisor)
        }
    };
    if factor != 1.0 {
        let factor = factor as f32;
        d_input.iter_mut().for_each(|d| *d *= factor);
        d_target.iter_mut().for_each(|d| *d *= factor);
    }
    let saved = LossSaved {
        d_input,
        d_target,
        layout,
        reduction,
    };
    let target = target.filter(|t| t.requires_grad()).cloned();
    Tensor::from_op(
        out,
        shape,
        Op::Loss {
            input: input.clone(),
            target,
            saved,
        },
    )
}

/// d loss / d element = (saved derivative) × (the upstream gradient of the value it feeds).
pub(crate) fn loss_backward(
    input: &Tensor,
    target: Option<&Tensor>,
    saved: &LossSaved,
    grad: &[f32],
) -> Vec<InputGrad> {
    let (outer, reduced, inner) = saved.layout;
    let upstream = |e: usize| match saved.reduction {
        Reduction::None => grad[(e / (reduced * inner)) * inner + e % inner],
        Reduction::Mean | Reduction::Sum => grad[0],
    };
    debug_assert_eq!(saved.d_input.len(), outer * reduced * inner);
    let scale = |d: &[f32]| -> Vec<f32> {
        d.iter()
            .enumerate()
            .map(|(e, &d)| d * upstream(e))
            .collect()
    };
    let mut grads = Vec::new();
    if input.requires_grad() {
        grads.push((input.clone(), scale(&saved.d_input)));
    }
    if let Some(target) = target {
        grads.push((target.clone(), scale(&saved.d_target)));
    }
    grads
}
