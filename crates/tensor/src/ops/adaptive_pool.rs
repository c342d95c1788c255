//! Adaptive and global 2-D pooling: average or maximum over PyTorch's bins, to any output size.
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::kernels::adaptive_pool::{
    adaptive_avg_pool2d_backward as avg_backward_kernel, adaptive_avg_pool2d_forward,
    adaptive_max_pool2d_forward, max_pool_indices_backward,
};
use crate::ops::unpool::PoolIndices;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::sync::Arc;

/// (n, c, h, w) of a valid adaptive pooling input.
fn check(op: &'static str, input: &Tensor, out: (usize, usize)) -> Result<[usize; 4]> {
    let &[n, c, h, w] = input.dims() else {
        return Err(Error::shape(
            op,
            format!("input must be [N, C, H, W], got {}", input.shape()),
        ));
    };
    if out.0 == 0 || out.1 == 0 {
        return Err(Error::config(
            op,
            format!("output size {out:?} must be at least (1, 1)"),
        ));
    }
    if h == 0 || w == 0 {
        return Err(Error::shape(
            op,
            format!("input {} has an empty plane", input.shape()),
        ));
    }
    Ok([n, c, h, w])
}

/// Adaptive average pooling, PyTorch's `F.adaptive_avg_pool2d`: output cell `(i, j)` averages
/// input rows `⌊i·H/H_out⌋ .. ⌈(i+1)·H/H_out⌉` and columns likewise. `(1, 1)` is global average
/// pooling.
///
/// # Shapes
/// input `[N, C, H, W]` → `[N, C, H_out, W_out]` (any output size, also larger than the input).
///
/// # Errors
/// A non-4-D input, an empty plane, a zero output size.
pub fn adaptive_avg_pool2d(input: &Tensor, output_size: (usize, usize)) -> Result<Tensor> {
    let [n, c, h, w] = check("adaptive_avg_pool2d", input, output_size)?;
    let mut out = vec![0.0; n * c * output_size.0 * output_size.1];
    adaptive_avg_pool2d_forward((h, w), output_size, &input.data(), &mut out);
    let op = Op::AdaptiveAvgPool2d {
        input: input.clone(),
    };
    Ok(Tensor::from_op(
        out,
        Shape::new(&[n, c, output_size.0, output_size.1]),
        op,
    ))
}

pub(crate) fn adaptive_avg_pool2d_backward(
    input: &Tensor,
    out: &Tensor,
    grad: &[f32],
) -> Vec<InputGrad> {
    let (d, o) = (input.dims(), out.dims());
    let mut grad_input = vec![0.0; input.numel()];
    avg_backward_kernel((d[2], d[3]), (o[2], o[3]), grad, &mut grad_input);
    vec![(input.clone(), grad_input)]
}

/// Adaptive max pooling, PyTorch's `F.adaptive_max_pool2d`, with the arg-max of every bin as flat
/// per-plane indices `y·W + x` (what [`crate::ops::unpool::max_unpool2d`] takes).
///
/// # Shapes
/// As [`adaptive_avg_pool2d`]; the indices have the output's shape.
///
/// # Errors
/// As [`adaptive_avg_pool2d`].
pub fn adaptive_max_pool2d_with_indices(
    input: &Tensor,
    output_size: (usize, usize),
) -> Result<(Tensor, PoolIndices)> {
    let [n, c, h, w] = check("adaptive_max_pool2d", input, output_size)?;
    let len = n * c * output_size.0 * output_size.1;
    let (mut out, mut indices) = (vec![0.0; len], vec![0u32; len]);
    adaptive_max_pool2d_forward((h, w), output_size, &input.data(), &mut out, &mut indices);
    let indices = Arc::new(indices);
    let shape = Shape::new(&[n, c, output_size.0, output_size.1]);
    let op = Op::AdaptiveMaxPool2d {
        input: input.clone(),
        indices: indices.clone(),
    };
    let pooled = PoolIndices::new(indices, shape.clone(), (h, w));
    Ok((Tensor::from_op(out, shape, op), pooled))
}

/// Adaptive max pooling without the indices; see [`adaptive_max_pool2d_with_indices`].
///
/// # Shapes
/// As [`adaptive_avg_pool2d`].
///
/// # Errors
/// As [`adaptive_avg_pool2d`].
pub fn adaptive_max_pool2d(input: &Tensor, output_size: (usize, usize)) -> Result<Tensor> {
    adaptive_max_pool2d_with_indices(input, output_size).map(|(t, _)| t)
}

/// Global max pooling (`AdaptiveMaxPool2d(1)`): the maximum of each channel plane.
///
/// # Shapes
/// input `[N, C, H, W]` → `[N, C, 1, 1]`.
///
/// # Errors
/// A non-4-D input or an empty plane.
pub fn global_max_pool2d(input: &Tensor) -> Result<Tensor> {
    adaptive_max_pool2d(input, (1, 1))
}

pub(crate) fn adaptive_max_pool2d_backward(
    input: &Tensor,
    indices: &[u32],
    out: &Tensor,
    grad: &[f32],
) -> Vec<InputGrad> {
    let (d, o) = (input.dims(), out.dims());
    let mut grad_input = vec![0.0; input.numel()];
    max_pool_indices_backward(d[2] * d[3], o[2] * o[3], grad, indices, &mut grad_input);
    vec![(input.clone(), grad_input)]
}
