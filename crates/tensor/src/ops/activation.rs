//! Activation functions and softmax / log-softmax over a dim.
use super::reduce::check_dim;
use crate::autograd::{InputGrad, Op};
use crate::error::Result;
use crate::tensor::Tensor;

/// A point-wise activation. Derivatives use PyTorch's choices at kinks (ReLU'(0) = 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Relu,
    LeakyRelu { negative_slope: f32 },
    Sigmoid,
    Tanh,
}

impl Activation {
    #[inline]
    fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu { negative_slope } => {
                if x > 0.0 {
                    x
                } else {
                    x * negative_slope
                }
            }
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => x.tanh(),
        }
    }

    /// dy/dx from the input x and the output y.
    #[inline]
    fn derivative(self, x: f32, y: f32) -> f32 {
        match self {
            Activation::Relu => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu { negative_slope } => {
                if x > 0.0 {
                    1.0
                } else {
                    negative_slope
                }
            }
            Activation::Sigmoid => y * (1.0 - y),
            Activation::Tanh => 1.0 - y * y,
        }
    }
}

impl Tensor {
    /// Applies a point-wise activation. Shape is unchanged.
    pub fn activation(&self, op: Activation) -> Tensor {
        let x = self.data();
        // ReLU as a constant variant: a per-element `match` on `op` would stop vectorisation.
        let out = match op {
            Activation::Relu => crate::kernels::map::map(&x, |v| Activation::Relu.apply(v)),
            _ => crate::kernels::map::map(&x, |v| op.apply(v)),
        };
        drop(x);
        Tensor::from_op(
            out,
            self.shape().clone(),
            Op::Activation {
                op,
                input: self.clone(),
            },
        )
    }

    pub fn relu(&self) -> Tensor {
        self.activation(Activation::Relu)
    }

    pub fn leaky_relu(&self, negative_slope: f32) -> Tensor {
        self.activation(Activation::LeakyRelu { negative_slope })
    }

    pub fn sigmoid(&self) -> Tensor {
        self.activation(Activation::Sigmoid)
    }

    pub fn tanh(&self) -> Tensor {
        self.activation(Activation::Tanh)
    }

    /// Softmax over `dim` (numerically stable: the max is subtracted first).
    ///
    /// # Errors
    /// When `dim` is out of range.
    pub fn softmax(&self, dim: usize) -> Result<Tensor> {
        check_dim("softmax", self.shape(), dim)?;
        let out = softmax_along(&self.data(), self.shape().split_at_dim(dim), false);
        Ok(Tensor::from_op(
            out,
            self.shape().clone(),
            Op::Softmax {
                input: self.clone(),
                dim,
            },
        ))
    }

    /// Log-softmax over `dim`, computed as `x - max - log(sum(exp(x - max)))`.
    ///
    /// # Errors
    /// When `dim` is out of range.
    pub fn log_softmax(&self, dim: usize) -> Result<Tensor> {
        check_dim("log_softmax", self.shape(), dim)?;
        let out = softmax_along(&self.data(), self.shape().split_at_dim(dim), true);
        Ok(Tensor::from_op(
            out,
            self.shape().clone(),
            Op::LogSoftmax {
                input: self.clone(),
                dim,
            },
        ))
    }
}

/// Softmax (or log-softmax) of a buffer split as (outer, n, inner) along the softmax dim.
pub(crate) fn softmax_along(
    data: &[f32],
    (outer, n, inner): (usize, usize, usize),
    log: bool,
) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for o in 0..outer {
        for i in 0..inner {
            let idx = |k: usize| (o * n + k) * inner + i;
            let max = (0..n)
                .map(|k| data[idx(k)])
                .fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = (0..n).map(|k| (data[idx(k)] - max).exp()).sum();
            let log_sum = sum.ln();
            for k in 0..n {
                let shifted = data[idx(k)] - max;
                out[idx(k)] = if log {
                    shifted - log_sum
                } else {
                    shifted.exp() / sum
                };
            }
        }
    }
    out
}

pub(crate) fn activation_backward(
    op: Activation,
    input: &Tensor,
    out: &Tensor,
    grad: &[f32],
) -> Vec<InputGrad> {
    let (x, y) = (input.data(), out.data());
    let g = match op {
        Activation::Relu => crate::kernels::map::map3(grad, &x, &y, |g, x, y| {
            g * Activation::Relu.derivative(x, y)
        }),
        _ => crate::kernels::map::map3(grad, &x, &y, |g, x, y| g * op.derivative(x, y)),
    };
    vec![(input.clone(), g)]
}

/// dx = y ⊙ (g − Σ g·y) along the dim.
pub(crate) fn softmax_backward(
    input: &Tensor,
    dim: usize,
    out: &Tensor,
    grad: &[f32],
) -> Vec<InputGrad> {
    let (outer, n, inner) = input.shape().split_at_dim(dim);
    let y = out.data();
    let mut g = vec![0.0; grad.len()];
    for o in 0..outer {
        for i in 0..inner {
            let idx = |k: usize| (o * n + k) * inner + i;
            let dot: f32 = (0..n).map(|k| grad[idx(k)] * y[idx(k)]).sum();
            for k in 0..n {
                g[idx(k)] = y[idx(k)] * (grad[idx(k)] - dot);
            }
        }
    }
    vec![(input.clone(), g)]
}

/// dx = g − softmax ⊙ Σ g along the dim (softmax = exp of the output).
pub(crate) fn log_softmax_backward(
    input: &Tensor,
    dim: usize,
    out: &Tensor,
    grad: &[f32],
) -> Vec<InputGrad> {
    let (outer, n, inner) = input.shape().split_at_dim(dim);
    let y = out.data();
    let mut g = vec![0.0; grad.len()];
    for o in 0..outer {
        for i in 0..inner {
            let idx = |k: usize| (o * n + k) * inner + i;
            let total: f32 = (0..n).map(|k| grad[idx(k)]).sum();
            for k in 0..n {
                g[idx(k)] = grad[idx(k)] - y[idx(k)].exp() * total;
            }
        }
    }
    vec![(input.clone(), g)]
}
