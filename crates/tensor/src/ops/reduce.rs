//! Reductions: sum and mean over all or some dims, max and arg-max over a dim.
use super::broadcast::{sum_to_shape, BroadcastOffsets};
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Checks a list of dims for an op: each in range, none repeated.
fn check_dims(op: &'static str, shape: &Shape, dims: &[usize]) -> Result<()> {
    for (i, &d) in dims.iter().enumerate() {
        if d >= shape.rank() {
            return Err(Error::shape(
                op,
                format!("dim {d} is out of range for shape {shape}"),
            ));
        }
        if dims[..i].contains(&d) {
            return Err(Error::shape(op, format!("dim {d} is listed twice")));
        }
    }
    Ok(())
}

pub(crate) fn check_dim(op: &'static str, shape: &Shape, dim: usize) -> Result<()> {
    check_dims(op, shape, &[dim])
}

impl Tensor {
    /// Sum of all elements, as a scalar tensor.
    pub fn sum(&self) -> Tensor {
        let total = crate::kernels::map::sum(&self.data()) as f32;
        Tensor::from_op(
            vec![total],
            Shape::new(&[]),
            Op::Sum {
                input: self.clone(),
            },
        )
    }

    /// Mean of all elements, as a scalar tensor.
    pub fn mean(&self) -> Tensor {
        self.sum().mul_scalar(1.0 / self.numel() as f32)
    }

    /// Sum over `dims`; reduced dims are kept as size 1 when `keepdim`, else removed.
    ///
    /// # Errors
    /// When a dim is out of range or repeated.
    pub fn sum_dims(&self, dims: &[usize], keepdim: bool) -> Result<Tensor> {
        check_dims("sum_dims", self.shape(), dims)?;
        let keepdim_shape: Vec<usize> = self
            .dims()
            .iter()
            .enumerate()
            .map(|(i, &d)| if dims.contains(&i) { 1 } else { d })
            .collect();
        let out = sum_to_shape(&self.data(), self.shape(), &Shape::new(&keepdim_shape));
        let shape: Vec<usize> = if keepdim {
            keepdim_shape.clone()
        } else {
            self.dims()
                .iter()
                .enumerate()
                .filter(|(i, _)| !dims.contains(i))
                .map(|(_, &d)| d)
                .collect()
        };
        Ok(Tensor::from_op(
            out,
            Shape::from(shape),
            Op::SumDims {
                input: self.clone(),
                keepdim_shape,
            },
        ))
    }

    /// Mean over `dims`, like [`Tensor::sum_dims`].
    pub fn mean_dims(&self, dims: &[usize], keepdim: bool) -> Result<Tensor> {
        let count: usize = dims.iter().filter_map(|&d| self.dims().get(d)).product();
        Ok(self
            .sum_dims(dims, keepdim)?
            .mul_scalar(1.0 / count.max(1) as f32))
    }

    /// Maximum over `dim` (removed from the shape); the gradient flows to the first arg-max.
    pub fn max_dim(&self, dim: usize) -> Result<Tensor> {
        let argmax = self.argmax(dim)?;
        let (outer, n, inner) = self.shape().split_at_dim(dim);
        let data = self.data();
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                out.push(data[(o * n + argmax[o * inner + i]) * inner + i]);
            }
        }
        drop(data);
        let shape: Vec<usize> = self
            .dims()
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != dim)
            .map(|(_, &d)| d)
            .collect();
        Ok(Tensor::from_op(
            out,
            Shape::from(shape),
            Op::MaxDim {
                input: self.clone(),
                argmax,
                dim,
            },
        ))
    }

    /// Index of the maximum along `dim` for every other position (row-major over the remaining dims).
    /// Ties go to the first index; NaN counts as the maximum, as in PyTorch.
    ///
    /// # Errors
    /// When `dim` is out of range or has size 0.
    pub fn argmax(&self, dim: usize) -> Result<Vec<usize>> {
        check_dim("argmax", self.shape(), dim)?;
        let (outer, n, inner) = self.shape().split_at_dim(dim);
        if n == 0 {
            return Err(Error::shape(
                "argmax",
                format!("dim {dim} of shape {} is empty", self.shape()),
            ));
        }
        let data = self.data();
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| data[(o * n + k) * inner + i];
                let mut best = 0;
                for k in 1..n {
                    if at(k) > at(best) || (at(k).is_nan() && !at(best).is_nan()) {
                        best = k;
                    }
                }
                out.push(best);
            }
        }
        Ok(out)
    }
}

pub(crate) fn sum_backward(input: &Tensor, grad: &[f32]) -> Vec<InputGrad> {
    vec![(input.clone(), vec![grad[0]; input.numel()])]
}

pub(crate) fn sum_dims_backward(
    input: &Tensor,
    keepdim_shape: &[usize],
    grad: &[f32],
) -> Vec<InputGrad> {
    let g = BroadcastOffsets::new(input.shape(), &Shape::new(keepdim_shape))
        .map(|j| grad[j])
        .collect();
    vec![(input.clone(), g)]
}

pub(crate) fn max_dim_backward(
    input: &Tensor,
    argmax: &[usize],
    dim: usize,
    grad: &[f32],
) -> Vec<InputGrad> {
    let (outer, n, inner) = input.shape().split_at_dim(dim);
    let mut g = vec![0.0; input.numel()];
    for o in 0..outer {
        for i in 0..inner {
            g[(o * n + argmax[o * inner + i]) * inner + i] = grad[o * inner + i];
        }
    }
    vec![(input.clone(), g)]
}
