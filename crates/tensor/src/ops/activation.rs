//! Activation functions (point-wise, PReLU with a learnable slope, maxout) and softmax /
//! log-softmax over any dim.
use super::reduce::check_dim;
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::vector_math::normal_cdf_pdf;

/// How GELU evaluates the Gaussian CDF Φ (PyTorch's `approximate` argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GeluApproximation {
    /// `x·Φ(x)` with the exact `Φ(x) = (1 + erf(x/√2)) / 2` (PyTorch's `approximate='none'`).
    #[default]
    Exact,
    /// `x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³)))` (PyTorch's `approximate='tanh'`).
    Tanh,
}

/// A point-wise activation. Derivatives use PyTorch's choices at kinks (ReLU'(0) = 0,
/// ReLU6'(0) = ReLU6'(6) = 0, Hardswish'(±3) from the middle piece).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `x`: lets a layer slot hold "no activation".
    Identity,
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    LeakyRelu {
        negative_slope: f32,
    },
    /// `x` for `x > 0`, else `alpha·(eˣ − 1)`.
    Elu {
        alpha: f32,
    },
    Gelu {
        approximate: GeluApproximation,
    },
    /// `x·sigmoid(x)` (also called swish).
    Silu,
    /// `x·relu6(x + 3)/6`.
    Hardswish,
    /// `log(1 + e^(βx))/β`, and `x` where `βx > threshold` (as PyTorch, for numerical stability).
    Softplus {
        beta: f32,
        threshold: f32,
    },
    Sigmoid,
    Tanh,
}

/// PyTorch's default GELU, matched as a constant so that its loops are monomorphic.
const GELU_EXACT: Activation = Activation::Gelu {
    approximate: GeluApproximation::Exact,
};

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_TANH_COEFF: f32 = 0.044_715;

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `tanh(√(2/π)·(x + 0.044715·x³))` and its derivative with respect to x.
fn gelu_tanh_inner(x: f32) -> (f32, f32) {
    let t = (SQRT_2_OVER_PI * (x + GELU_TANH_COEFF * x * x * x)).tanh();
    let dt = (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_COEFF * x * x);
    (t, dt)
}

impl Activation {
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Identity => x,
            Activation::Relu => x.max(0.0),
            Activation::Relu6 => x.clamp(0.0, 6.0),
            Activation::LeakyRelu { negative_slope } => {
                if x > 0.0 {
                    x
                } else {
                    x * negative_slope
                }
            }
            Activation::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            Activation::Gelu { approximate } => match approximate {
                GeluApproximation::Exact => x * normal_cdf_pdf(x).0,
                GeluApproximation::Tanh => 0.5 * x * (1.0 + gelu_tanh_inner(x).0),
            },
            Activation::Silu => x * sigmoid(x),
            Activation::Hardswish => x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
            Activation::Softplus { beta, threshold } => {
                let bx = beta * x;
                if bx > threshold {
                    x
                } else {
                    // log(1 + e^bx) = max(bx, 0) + log1p(e^−|bx|), stable for large |bx|.
                    (bx.max(0.0) + (-bx.abs()).exp().ln_1p()) / beta
                }
            }
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => x.tanh(),
        }
    }

    /// dy/dx from the input x and the output y.
    #[inline(always)]
    pub fn derivative(self, x: f32, y: f32) -> f32 {
        let step = |on: bool, slope: f32| if on { 1.0 } else { slope };
        match self {
            Activation::Identity => 1.0,
            Activation::Relu => step(x > 0.0, 0.0),
            Activation::Relu6 => step(x > 0.0 && x < 6.0, 0.0),
            Activation::LeakyRelu { negative_slope } => step(x > 0.0, negative_slope),
            // For x ≤ 0: d/dx alpha·(eˣ − 1) = alpha·eˣ = y + alpha.
            Activation::Elu { alpha } => step(x > 0.0, y + alpha),
            Activation::Gelu { approximate } => match approximate {
                GeluApproximation::Exact => {
                    let (cdf, pdf) = normal_cdf_pdf(x);
                    cdf + x * pdf
                }
                GeluApproximation::Tanh => {
                    let (t, dt) = gelu_tanh_inner(x);
                    0.5 * (1.0 + t) + 0.5 * x * dt
                }
            },
            Activation::Silu => {
                let s = sigmoid(x);
                s * (1.0 + x * (1.0 - s))
            }
            Activation::Hardswish => {
                if x < -3.0 {
                    0.0
                } else if x <= 3.0 {
                    x / 3.0 + 0.5
                } else {
                    1.0
                }
            }
            Activation::Softplus { beta, threshold } => {
                let bx = beta * x;
                step(bx > threshold, sigmoid(bx))
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
        // ReLU and GELU as constant variants: a per-element `match` on `op` would stop
        // vectorisation.
        let out = match op {
            Activation::Relu => crate::kernels::map::map(&x, |v| Activation::Relu.apply(v)),
            GELU_EXACT => crate::kernels::map::map(&x, |v| GELU_EXACT.apply(v)),
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

    /// Applies a point-wise activation in place, writing no new buffer (every tensor sharing this
    /// one's storage sees the change): for inference paths that own their activations, such as a
    /// fused convolution's epilogue.
    ///
    /// # Errors
    /// When the tensor requires grad: autodiff would see values that no recorded op produced.
    pub fn activation_(&self, op: Activation) -> Result<()> {
        if self.requires_grad() {
            return Err(Error::config(
                "activation_",
                format!(
                    "cannot apply {op:?} in place to a tensor that requires grad (shape {}): use activation()",
                    self.shape()
                ),
            ));
        }
        let mut x = self.data_mut();
        match op {
            Activation::Relu => {
                crate::kernels::map::map_in_place(&mut x, |v| Activation::Relu.apply(v))
            }
            GELU_EXACT => crate::kernels::map::map_in_place(&mut x, |v| GELU_EXACT.apply(v)),
            _ => crate::kernels::map::map_in_place(&mut x, |v| op.apply(v)),
        }
        Ok(())
    }

    /// `self = max(self + other, 0)` in place: the end of a residual block (sum with the
    /// shortcut, then ReLU) as one pass over a buffer the caller owns, for inference paths.
    ///
    /// # Errors
    /// When the tensor requires grad (as [`Tensor::activation_`]), the shapes differ, or `other`
    /// shares this tensor's storage.
    pub fn add_relu_(&self, other: &Tensor) -> Result<()> {
        let op = "add_relu_";
        if self.requires_grad() {
            return Err(Error::config(
                op,
                format!(
                    "cannot add and apply ReLU in place to a tensor that requires grad (shape {}): use add() and relu()",
                    self.shape()
                ),
            ));
        }
        if self.dims() != other.dims() {
            return Err(Error::shape(
                op,
                format!("shapes {} and {} differ", self.shape(), other.shape()),
            ));
        }
        let other = other.data();
        // A writer while `other`'s reader is held: only fails when both are the same storage.
        let Some(mut x) = self.try_data_mut() else {
            return Err(Error::config(op, "the two tensors share their storage"));
        };
        crate::kernels::map::zip_in_place(&mut x, &other, |a, b| (a + b).max(0.0));
        Ok(())
    }

    pub fn relu(&self) -> Tensor {
        self.activation(Activation::Relu)
    }

    pub fn relu6(&self) -> Tensor {
        self.activation(Activation::Relu6)
    }

    pub fn leaky_relu(&self, negative_slope: f32) -> Tensor {
        self.activation(Activation::LeakyRelu { negative_slope })
    }

    pub fn elu(&self, alpha: f32) -> Tensor {
        self.activation(Activation::Elu { alpha })
    }

    pub fn gelu(&self, approximate: GeluApproximation) -> Tensor {
        self.activation(Activation::Gelu { approximate })
    }

    pub fn silu(&self) -> Tensor {
        self.activation(Activation::Silu)
    }

    pub fn hardswish(&self) -> Tensor {
        self.activation(Activation::Hardswish)
    }

    /// `log(1 + e^(βx))/β`, linear where `βx > threshold` (PyTorch's defaults: β = 1, threshold = 20).
    ///
    /// # Errors
    /// When `beta` is zero or not finite.
    pub fn softplus(&self, beta: f32, threshold: f32) -> Result<Tensor> {
        if beta == 0.0 || !beta.is_finite() {
            return Err(Error::config(
                "softplus",
                format!("beta must be finite and non-zero, got {beta}"),
            ));
        }
        Ok(self.activation(Activation::Softplus { beta, threshold }))
    }

    pub fn sigmoid(&self) -> Tensor {
        self.activation(Activation::Sigmoid)
    }

    pub fn tanh(&self) -> Tensor {
        self.activation(Activation::Tanh)
    }

    /// PReLU, `max(0, x) + a·min(0, x)` with a learnable slope `a` (`weight`): one slope shared by all
    /// channels (`weight` of 1 element) or one per channel (dim 1 of the input; dim 0 of a 1-D input).
    ///
    /// # Shapes
    /// input any shape `[N, C, *]`, weight `[1]` or `[C]` → output the input's shape.
    ///
    /// # Errors
    /// When the weight is not 1-D or its length is neither 1 nor the channel count.
    pub fn prelu(&self, weight: &Tensor) -> Result<Tensor> {
        let channels = prelu_channels(self);
        if weight.rank() != 1 || (weight.numel() != 1 && weight.numel() != channels) {
            return Err(Error::shape(
                "prelu",
                format!(
                    "weight {} must have 1 element or one per channel ({channels}) of input {}",
                    weight.shape(),
                    self.shape()
                ),
            ));
        }
        let (x, w) = (self.data(), weight.data());
        let layout = PreluLayout::new(self, weight);
        let out = x
            .iter()
            .enumerate()
            .map(|(i, &v)| if v > 0.0 { v } else { w[layout.slope(i)] * v })
            .collect();
        drop((x, w));
        Ok(Tensor::from_op(
            out,
            self.shape().clone(),
            Op::Prelu {
                input: self.clone(),
                weight: weight.clone(),
            },
        ))
    }

    /// Maxout over channels: the input's `pieces·C` channels (dim 1) form C groups of `pieces`
    /// consecutive channels, and each output channel is the maximum of its group. Follow a Linear or
    /// Conv with `pieces·C` outputs by this to get a maxout unit of `pieces` linear pieces. The gradient
    /// flows to the first maximum of each group.
    ///
    /// # Shapes
    /// `[N, pieces·C, *]` → `[N, C, *]`.
    ///
    /// # Errors
    /// When the input has fewer than 2 dims, `pieces` is 0, or the channels are not divisible by it.
    pub fn maxout(&self, pieces: usize) -> Result<Tensor> {
        let dims = self.dims();
        if dims.len() < 2 || pieces == 0 || !dims[1].is_multiple_of(pieces) {
            return Err(Error::shape(
                "maxout",
                format!(
                    "input {} must be [N, pieces·C, *] with {pieces} pieces (a positive divisor of dim 1)",
                    self.shape()
                ),
            ));
        }
        let inner: usize = dims[2..].iter().product();
        let groups = dims[1] / pieces;
        let max = self
            .reshape(&[dims[0], groups, pieces, inner])?
            .max_dim(2)?;
        let mut out_dims = dims.to_vec();
        out_dims[1] = groups;
        max.reshape(&out_dims)
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

/// The size of PReLU's channel dim: dim 1, or dim 0 of a 1-D input (1 for a scalar).
fn prelu_channels(input: &Tensor) -> usize {
    match input.dims() {
        [] => 1,
        [c] => *c,
        [_, c, ..] => *c,
    }
}

/// Which slope of a PReLU weight applies to each element of the input.
struct PreluLayout {
    /// Elements per channel run (the product of the dims after the channel dim).
    inner: usize,
    channels: usize,
    shared: bool,
}

impl PreluLayout {
    fn new(input: &Tensor, weight: &Tensor) -> PreluLayout {
        let inner = input.dims().get(2..).map_or(1, |d| d.iter().product());
        PreluLayout {
            inner,
            channels: prelu_channels(input),
            shared: weight.numel() == 1,
        }
    }

    #[inline]
    fn slope(&self, element: usize) -> usize {
        if self.shared {
            0
        } else {
            (element / self.inner) % self.channels
        }
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
        // y > 0 exactly where x > 0: the mask needs only the output, one stream fewer to read.
        Activation::Relu => {
            crate::kernels::map::map2(grad, &y, |g, y| g * if y > 0.0 { 1.0 } else { 0.0 })
        }
        GELU_EXACT => {
            crate::kernels::map::map3(grad, &x, &y, |g, x, y| g * GELU_EXACT.derivative(x, y))
        }
        _ => crate::kernels::map::map3(grad, &x, &y, |g, x, y| g * op.derivative(x, y)),
    };
    vec![(input.clone(), g)]
}

/// dx = g where x > 0, else g·a; da = Σ g·x over the elements with x ≤ 0 (per channel or shared).
pub(crate) fn prelu_backward(input: &Tensor, weight: &Tensor, grad: &[f32]) -> Vec<InputGrad> {
    let (x, w) = (input.data(), weight.data());
    let mut grad_x = vec![0.0; x.len()];
    let mut grad_w = vec![0.0f64; w.len()];
    let layout = PreluLayout::new(input, weight);
    for i in 0..x.len() {
        let c = layout.slope(i);
        if x[i] > 0.0 {
            grad_x[i] = grad[i];
        } else {
            grad_x[i] = grad[i] * w[c];
            grad_w[c] += (grad[i] * x[i]) as f64;
        }
    }
    let mut grads = Vec::new();
    if input.requires_grad() {
        grads.push((input.clone(), grad_x));
    }
    if weight.requires_grad() {
        grads.push((weight.clone(), grad_w.iter().map(|&g| g as f32).collect()));
    }
    grads
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
