//! Shape changes: reshape, flatten, 2-D transpose, concat and narrow (a slice along one dim).
use super::reduce::check_dim;
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

impl Tensor {
    /// The same values under another shape with as many elements (shares storage, no copy).
    ///
    /// # Errors
    /// When the element counts differ.
    pub fn reshape(&self, dims: &[usize]) -> Result<Tensor> {
        let shape = Shape::new(dims);
        if shape.numel() != self.numel() {
            return Err(Error::shape(
                "reshape",
                format!(
                    "cannot view shape {} ({} elements) as {shape} ({} elements)",
                    self.shape(),
                    self.numel(),
                    shape.numel()
                ),
            ));
        }
        Ok(self.share_storage(
            shape,
            Some(Op::Reshape {
                input: self.clone(),
            }),
        ))
    }

    /// Merges dims `start_dim..` into one: `[N, C, H, W]` with start 1 becomes `[N, C·H·W]`.
    pub fn flatten(&self, start_dim: usize) -> Result<Tensor> {
        if start_dim >= self.rank() {
            return Err(Error::shape(
                "flatten",
                format!(
                    "start dim {start_dim} is out of range for shape {}",
                    self.shape()
                ),
            ));
        }
        let mut dims = self.dims()[..start_dim].to_vec();
        dims.push(self.dims()[start_dim..].iter().product());
        self.reshape(&dims)
    }

    /// Transpose of a 2-D tensor.
    pub fn transpose(&self) -> Result<Tensor> {
        let &[rows, cols] = self.dims() else {
            return Err(Error::shape(
                "transpose",
                format!("needs a 2-D tensor, got shape {}", self.shape()),
            ));
        };
        let out = transpose_buffer(&self.data(), rows, cols);
        Ok(Tensor::from_op(
            out,
            Shape::new(&[cols, rows]),
            Op::Transpose {
                input: self.clone(),
            },
        ))
    }

    /// Joins tensors along `dim`; all other dims must agree.
    ///
    /// # Errors
    /// When the list is empty, ranks differ, `dim` is out of range or another dim disagrees.
    pub fn concat(tensors: &[Tensor], dim: usize) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| Error::shape("concat", "needs at least one tensor"))?;
        check_dim("concat", first.shape(), dim)?;
        for t in tensors {
            let same_rest = t.rank() == first.rank()
                && t.dims()
                    .iter()
                    .zip(first.dims())
                    .enumerate()
                    .all(|(i, (a, b))| i == dim || a == b);
            if !same_rest {
                return Err(Error::shape(
                    "concat",
                    format!(
                        "shape {} does not match {} outside dim {dim}",
                        t.shape(),
                        first.shape()
                    ),
                ));
            }
        }
        let (outer, _, inner) = first.shape().split_at_dim(dim);
        let total: usize = tensors.iter().map(|t| t.dims()[dim]).sum();
        let mut out = Vec::with_capacity(outer * total * inner);
        let guards: Vec<_> = tensors.iter().map(|t| t.data()).collect();
        for o in 0..outer {
            for (t, data) in tensors.iter().zip(&guards) {
                let chunk = t.dims()[dim] * inner;
                out.extend_from_slice(&data[o * chunk..(o + 1) * chunk]);
            }
        }
        drop(guards);
        let mut dims = first.dims().to_vec();
        dims[dim] = total;
        Ok(Tensor::from_op(
            out,
            Shape::from(dims),
            Op::Concat {
                inputs: tensors.to_vec(),
                dim,
            },
        ))
    }

    /// `len` entries of `dim` starting at `start` (a copy).
    pub fn narrow(&self, dim: usize, start: usize, len: usize) -> Result<Tensor> {
        check_dim("narrow", self.shape(), dim)?;
        if start + len > self.dims()[dim] {
            return Err(Error::shape(
                "narrow",
                format!(
                    "range {start}..{} is outside dim {dim} of shape {}",
                    start + len,
                    self.shape()
                ),
            ));
        }
        let (outer, n, inner) = self.shape().split_at_dim(dim);
        let data = self.data();
        let mut out = Vec::with_capacity(outer * len * inner);
        for o in 0..outer {
            out.extend_from_slice(&data[(o * n + start) * inner..(o * n + start + len) * inner]);
        }
        drop(data);
        let mut dims = self.dims().to_vec();
        dims[dim] = len;
        Ok(Tensor::from_op(
            out,
            Shape::from(dims),
            Op::Narrow {
                input: self.clone(),
                dim,
                start,
            },
        ))
    }
}

fn transpose_buffer(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = data[r * cols + c];
        }
    }
    out
}

pub(crate) fn reshape_backward(input: &Tensor, grad: &[f32]) -> Vec<InputGrad> {
    vec![(input.clone(), grad.to_vec())]
}

pub(crate) fn transpose_backward(input: &Tensor, grad: &[f32]) -> Vec<InputGrad> {
    let (rows, cols) = (input.dims()[0], input.dims()[1]);
    vec![(input.clone(), transpose_buffer(grad, cols, rows))]
}

pub(crate) fn concat_backward(inputs: &[Tensor], dim: usize, grad: &[f32]) -> Vec<InputGrad> {
    let (outer, _, inner) = inputs[0].shape().split_at_dim(dim);
    let total: usize = inputs.iter().map(|t| t.dims()[dim]).sum();
    let mut grads = Vec::new();
    let mut offset = 0;
    for t in inputs {
        let chunk = t.dims()[dim] * inner;
        if t.requires_grad() {
            let mut g = Vec::with_capacity(t.numel());
            for o in 0..outer {
                let base = o * total * inner + offset;
                g.extend_from_slice(&grad[base..base + chunk]);
            }
            grads.push((t.clone(), g));
        }
        offset += chunk;
    }
    grads
}

pub(crate) fn narrow_backward(
    input: &Tensor,
    dim: usize,
    start: usize,
    out: &Tensor,
    grad: &[f32],
) -> Vec<InputGrad> {
    let (outer, n, inner) = input.shape().split_at_dim(dim);
    let len = out.dims()[dim];
    let mut g = vec![0.0; input.numel()];
    for o in 0..outer {
        let dst = (o * n + start) * inner;
        g[dst..dst + len * inner].copy_from_slice(&grad[o * len * inner..(o + 1) * len * inner]);
    }
    vec![(input.clone(), g)]
}
