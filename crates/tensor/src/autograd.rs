//! The graph recorded by ops, `backward()`, and the `no_grad` scope.
//!
//! Every differentiable op adds one `Op` variant holding its inputs and what its backward needs.
//! `Op::backward` is one exhaustive match (an op without a backward does not compile); each arm calls
//! the backward function that sits next to the op's forward in `ops/`.
use crate::error::{Error, Result};
use crate::kernels::conv_geometry::Conv3dGeometry;
use crate::kernels::map::zip_in_place;
use crate::ops::{
    activation, adaptive_pool, conv, dropout, elementwise, group_norm, loss, lrn, matmul, norm,
    pool, reduce, shape_ops, shortcut, unpool,
};
use crate::tensor::Tensor;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

/// A recorded op: its inputs and the values saved for backward.
pub(crate) enum Op {
    Binary {
        op: elementwise::BinaryOp,
        lhs: Tensor,
        rhs: Tensor,
    },
    Unary {
        op: elementwise::UnaryOp,
        input: Tensor,
    },
    AddScalar {
        input: Tensor,
    },
    MulScalar {
        input: Tensor,
        factor: f32,
    },
    Matmul {
        lhs: Tensor,
        rhs: Tensor,
    },
    Linear {
        input: Tensor,
        weight: Tensor,
        bias: Option<Tensor>,
    },
    Sum {
        input: Tensor,
    },
    SumDims {
        input: Tensor,
        keepdim_shape: Vec<usize>,
    },
    MaxDim {
        input: Tensor,
        argmax: Vec<usize>,
        dim: usize,
    },
    Reshape {
        input: Tensor,
    },
    Transpose {
        input: Tensor,
    },
    Concat {
        inputs: Vec<Tensor>,
        dim: usize,
    },
    Narrow {
        input: Tensor,
        dim: usize,
        start: usize,
    },
    // ── activations, losses, dropout (new ones go above the end-of-section line) ──
    Activation {
        op: activation::Activation,
        input: Tensor,
    },
    Softmax {
        input: Tensor,
        dim: usize,
    },
    LogSoftmax {
        input: Tensor,
        dim: usize,
    },
    Prelu {
        input: Tensor,
        weight: Tensor,
    },
    Loss {
        input: Tensor,
        /// Present when the target requires grad.
        target: Option<Tensor>,
        saved: loss::LossSaved,
    },
    Dropout {
        input: Tensor,
        mask: Vec<f32>,
    },
    // ── end of activations, losses, dropout ──
    // ── normalisation ──
    BatchNorm {
        input: Tensor,
        weight: Option<Tensor>,
        bias: Option<Tensor>,
        /// Added before a fused ReLU.
        residual: Option<Tensor>,
        saved: norm::BatchNormSaved,
    },
    RowNorm {
        input: Tensor,
        weight: Option<Tensor>,
        bias: Option<Tensor>,
        saved: group_norm::RowNormSaved,
    },
    LocalResponseNorm {
        input: Tensor,
        params: lrn::LrnParams,
        scale: Vec<f32>,
    },
    // ── end of normalisation ──
    // ── convolutions ──
    /// Any member of the convolution family: `geometry` is that of the direct convolution,
    /// lifted to three axes; a transposed convolution is its adjoint.
    Conv {
        input: Tensor,
        weight: Tensor,
        bias: Option<Tensor>,
        geometry: Conv3dGeometry,
        transposed: bool,
    },
    // ── end of convolutions ──
    // ── pooling ──
    MaxPool2d {
        input: Tensor,
        argmax: Arc<Vec<u32>>,
        config: pool::Pool2dConfig,
    },
    AvgPool2d {
        input: Tensor,
        config: pool::Pool2dConfig,
    },
    GlobalAvgPool {
        input: Tensor,
    },
    AdaptiveAvgPool2d {
        input: Tensor,
    },
    AdaptiveMaxPool2d {
        input: Tensor,
        indices: Arc<Vec<u32>>,
    },
    MaxUnpool2d {
        input: Tensor,
        indices: Arc<Vec<u32>>,
    },
    ZeroPadShortcut {
        input: Tensor,
        stride: usize,
    },
    // ── end of pooling ──
}

/// A gradient for one input of an op.
pub(crate) type InputGrad = (Tensor, Vec<f32>);

impl Op {
    pub(crate) fn inputs(&self) -> Vec<&Tensor> {
        match self {
            Op::Binary { lhs, rhs, .. } | Op::Matmul { lhs, rhs } => vec![lhs, rhs],
            Op::Unary { input, .. }
            | Op::AddScalar { input }
            | Op::MulScalar { input, .. }
            | Op::Sum { input }
            | Op::SumDims { input, .. }
            | Op::MaxDim { input, .. }
            | Op::Reshape { input }
            | Op::Transpose { input }
            | Op::Narrow { input, .. } => vec![input],
            Op::Concat { inputs, .. } => inputs.iter().collect(),
            Op::Linear {
                input,
                weight,
                bias,
            } => with_weight_and_bias(input, Some(weight), bias.as_ref()),
            // ── activations, losses, dropout ──
            Op::Activation { input, .. }
            | Op::Softmax { input, .. }
            | Op::LogSoftmax { input, .. }
            | Op::Dropout { input, .. } => vec![input],
            Op::Prelu { input, weight } => vec![input, weight],
            Op::Loss { input, target, .. } => std::iter::once(input).chain(target).collect(),
            // ── end of activations, losses, dropout ──
            // ── normalisation ──
            Op::BatchNorm {
                input,
                weight,
                bias,
                residual,
                ..
            } => {
                let mut inputs = with_weight_and_bias(input, weight.as_ref(), bias.as_ref());
                inputs.extend(residual);
                inputs
            }
            Op::RowNorm {
                input,
                weight,
                bias,
                ..
            } => with_weight_and_bias(input, weight.as_ref(), bias.as_ref()),
            Op::LocalResponseNorm { input, .. } => vec![input],
            // ── end of normalisation ──
            // ── convolutions ──
            Op::Conv {
                input,
                weight,
                bias,
                ..
            } => with_weight_and_bias(input, Some(weight), bias.as_ref()),
            // ── end of convolutions ──
            // ── pooling ──
            Op::MaxPool2d { input, .. }
            | Op::AvgPool2d { input, .. }
            | Op::GlobalAvgPool { input }
            | Op::AdaptiveAvgPool2d { input }
            | Op::AdaptiveMaxPool2d { input, .. }
            | Op::MaxUnpool2d { input, .. }
            | Op::ZeroPadShortcut { input, .. } => vec![input],
            // ── end of pooling ──
        }
    }

    /// Gradients of this op's inputs (those that require grad) given the output and its gradient.
    fn backward(&self, out: &Tensor, grad: &[f32]) -> Vec<InputGrad> {
        match self {
            Op::Binary { op, lhs, rhs } => elementwise::binary_backward(*op, lhs, rhs, out, grad),
            Op::Unary { op, input } => elementwise::unary_backward(*op, input, out, grad),
            Op::AddScalar { input } => elementwise::add_scalar_backward(input, grad),
            Op::MulScalar { input, factor } => {
                elementwise::mul_scalar_backward(input, *factor, grad)
            }
            Op::Matmul { lhs, rhs } => matmul::matmul_backward(lhs, rhs, grad),
            Op::Linear {
                input,
                weight,
                bias,
            } => matmul::linear_backward(input, weight, bias.as_ref(), grad),
            Op::Sum { input } => reduce::sum_backward(input, grad),
            Op::SumDims {
                input,
                keepdim_shape,
            } => reduce::sum_dims_backward(input, keepdim_shape, grad),
            Op::MaxDim { input, argmax, dim } => {
                reduce::max_dim_backward(input, argmax, *dim, grad)
            }
            Op::Reshape { input } => shape_ops::reshape_backward(input, grad),
            Op::Transpose { input } => shape_ops::transpose_backward(input, grad),
            Op::Concat { inputs, dim } => shape_ops::concat_backward(inputs, *dim, grad),
            Op::Narrow { input, dim, start } => {
                shape_ops::narrow_backward(input, *dim, *start, out, grad)
            }
            // ── activations, losses, dropout ──
            Op::Activation { op, input } => activation::activation_backward(*op, input, out, grad),
            Op::Softmax { input, dim } => activation::softmax_backward(input, *dim, out, grad),
            Op::LogSoftmax { input, dim } => {
                activation::log_softmax_backward(input, *dim, out, grad)
            }
            Op::Prelu { input, weight } => activation::prelu_backward(input, weight, grad),
            Op::Loss {
                input,
                target,
                saved,
            } => loss::loss_backward(input, target.as_ref(), saved, grad),
            Op::Dropout { input, mask } => dropout::dropout_backward(input, mask, grad),
            // ── end of activations, losses, dropout ──
            // ── normalisation ──
            Op::BatchNorm {
                input,
                weight,
                bias,
                residual,
                saved,
            } => norm::batch_norm_backward(
                input,
                weight.as_ref(),
                bias.as_ref(),
                residual.as_ref(),
                saved,
                out,
                grad,
            ),
            Op::RowNorm {
                input,
                weight,
                bias,
                saved,
            } => group_norm::row_norm_backward(input, weight.as_ref(), bias.as_ref(), saved, grad),
            Op::LocalResponseNorm {
                input,
                params,
                scale,
            } => lrn::local_response_norm_backward(input, params, scale, out, grad),
            // ── end of normalisation ──
            // ── convolutions ──
            Op::Conv {
                input,
                weight,
                bias,
                geometry,
                transposed,
            } => conv::conv_backward(input, weight, bias.as_ref(), geometry, *transposed, grad),
            // ── end of convolutions ──
            // ── pooling ──
            Op::MaxPool2d {
                input,
                argmax,
                config,
            } => pool::max_pool2d_backward(input, argmax, config, grad),
            Op::AvgPool2d { input, config } => pool::avg_pool2d_backward(input, config, grad),
            Op::GlobalAvgPool { input } => pool::global_avg_pool_backward(input, grad),
            Op::AdaptiveAvgPool2d { input } => {
                adaptive_pool::adaptive_avg_pool2d_backward(input, out, grad)
            }
            Op::AdaptiveMaxPool2d { input, indices } => {
                adaptive_pool::adaptive_max_pool2d_backward(input, indices, out, grad)
            }
            Op::MaxUnpool2d { input, indices } => {
                unpool::max_unpool2d_backward(input, indices, out, grad)
            }
            Op::ZeroPadShortcut { input, stride } => {
                shortcut::zero_pad_shortcut_backward(input, *stride, grad)
            } // ── end of pooling ──
        }
    }
}

/// An op's inputs: the data input, then the weight and bias where present (PyTorch's order).
fn with_weight_and_bias<'a>(
    input: &'a Tensor,
    weight: Option<&'a Tensor>,
    bias: Option<&'a Tensor>,
) -> Vec<&'a Tensor> {
    std::iter::once(input).chain(weight).chain(bias).collect()
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Runs `f` without recording any graph (evaluation, optimiser updates, gradient checks).
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let previous = GRAD_ENABLED.with(|g| g.replace(false));
    let _restore = RestoreGrad(previous);
    f()
}

/// Restores the grad mode even if `f` unwinds.
struct RestoreGrad(bool);

impl Drop for RestoreGrad {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.0));
    }
}

/// Graph nodes reachable from `root`, every tensor after all the tensors it was computed from.
pub(crate) fn topological_order(root: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut visited = std::collections::HashSet::new();
    // Iterative post-order DFS: deep networks would overflow the stack with recursion.
    let mut stack: Vec<(Tensor, bool)> = vec![(root.clone(), false)];
    while let Some((t, children_done)) = stack.pop() {
        if children_done {
            order.push(t);
            continue;
        }
        if !visited.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Some(op) = t.node() {
            for input in op.inputs() {
                if input.requires_grad() && !visited.contains(&input.id()) {
                    stack.push((input.clone(), false));
                }
            }
        }
    }
    order
}

pub(crate) fn backward(root: &Tensor) -> Result<()> {
    if root.numel() != 1 {
        return Err(Error::Backward(format!(
            "backward() needs a single value (a loss), got a tensor of shape {}",
            root.shape()
        )));
    }
    if !root.requires_grad() {
        return Err(Error::Backward(
            "the tensor does not depend on anything that requires grad".into(),
        ));
    }
    let mut grads: HashMap<usize, Vec<f32>> = HashMap::new();
    grads.insert(root.id(), vec![1.0]);
    for t in topological_order(root).iter().rev() {
        let Some(grad) = grads.remove(&t.id()) else {
            continue;
        };
        match t.node() {
            None => t.accumulate_grad(grad),
            Some(op) => {
                for (input, input_grad) in op.backward(t, &grad) {
                    debug_assert_eq!(input_grad.len(), input.numel());
                    match grads.get_mut(&input.id()) {
                        Some(g) => zip_in_place(g, &input_grad, |g, x| g + x),
                        None => {
                            grads.insert(input.id(), input_grad);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
