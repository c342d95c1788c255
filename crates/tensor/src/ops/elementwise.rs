//! Element-wise arithmetic with broadcasting, scalar ops and simple unary maths.
use super::broadcast::{broadcast_shape, sum_to_shape, BroadcastOffsets};
use crate::autograd::{InputGrad, Op};
use crate::error::Result;
use crate::kernels::map::{map, map2, map3};
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinaryOp {
    fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
        }
    }

    #[inline]
    fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
        }
    }

    /// (∂/∂a, ∂/∂b) of `apply` at (a, b).
    #[inline]
    fn partials(self, a: f32, b: f32) -> (f32, f32) {
        match self {
            BinaryOp::Add => (1.0, 1.0),
            BinaryOp::Sub => (1.0, -1.0),
            BinaryOp::Mul => (b, a),
            BinaryOp::Div => (1.0 / b, -a / (b * b)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Exp,
    Log,
    Sqrt,
}

impl UnaryOp {
    #[inline]
    fn apply(self, x: f32) -> f32 {
        match self {
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Sqrt => x.sqrt(),
        }
    }

    /// d(apply)/dx from the input x and the output y.
    #[inline]
    fn derivative(self, x: f32, y: f32) -> f32 {
        match self {
            UnaryOp::Exp => y,
            UnaryOp::Log => 1.0 / x,
            UnaryOp::Sqrt => 0.5 / y,
        }
    }
}

fn binary(op: BinaryOp, lhs: &Tensor, rhs: &Tensor) -> Result<Tensor> {
    let shape = broadcast_shape(op.name(), lhs.shape(), rhs.shape())?;
    let (a, b) = (lhs.data(), rhs.data());
    let out: Vec<f32> = if lhs.shape() == rhs.shape() {
        map2(&a, &b, |x, y| op.apply(x, y))
    } else if rhs.numel() == 1 && lhs.shape() == &shape {
        let y = b[0];
        map(&a, |x| op.apply(x, y))
    } else {
        BroadcastOffsets::new(&shape, lhs.shape())
            .zip(BroadcastOffsets::new(&shape, rhs.shape()))
            .map(|(i, j)| op.apply(a[i], b[j]))
            .collect()
    };
    drop((a, b));
    let op = Op::Binary {
        op,
        lhs: lhs.clone(),
        rhs: rhs.clone(),
    };
    Ok(Tensor::from_op(out, shape, op))
}

pub(crate) fn binary_backward(
    op: BinaryOp,
    lhs: &Tensor,
    rhs: &Tensor,
    out: &Tensor,
    grad: &[f32],
) -> Vec<InputGrad> {
    let (a, b) = (lhs.data(), rhs.data());
    if lhs.shape() == rhs.shape() {
        // No broadcast: each needed gradient is one parallel element-wise pass, nothing to sum;
        // the sum and difference (residual connections) need no operand at all, only (parallel)
        // copies of the gradient.
        let mut grads = Vec::new();
        if lhs.requires_grad() {
            let g = match op {
                BinaryOp::Add | BinaryOp::Sub => map(grad, |g| g),
                _ => map3(grad, &a, &b, |g, a, b| g * op.partials(a, b).0),
            };
            grads.push((lhs.clone(), g));
        }
        if rhs.requires_grad() {
            let g = match op {
                BinaryOp::Add => map(grad, |g| g),
                BinaryOp::Sub => map(grad, |g| -g),
                _ => map3(grad, &a, &b, |g, a, b| g * op.partials(a, b).1),
            };
            grads.push((rhs.clone(), g));
        }
        return grads;
    }
    let mut grad_a = vec![0.0; out.numel()];
    let mut grad_b = vec![0.0; out.numel()];
    let offsets = BroadcastOffsets::new(out.shape(), lhs.shape())
        .zip(BroadcastOffsets::new(out.shape(), rhs.shape()));
    for (k, (i, j)) in offsets.enumerate() {
        let (da, db) = op.partials(a[i], b[j]);
        grad_a[k] = grad[k] * da;
        grad_b[k] = grad[k] * db;
    }
    let mut grads = Vec::new();
    if lhs.requires_grad() {
        grads.push((lhs.clone(), sum_to_shape(&grad_a, out.shape(), lhs.shape())));
    }
    if rhs.requires_grad() {
        grads.push((rhs.clone(), sum_to_shape(&grad_b, out.shape(), rhs.shape())));
    }
    grads
}

fn unary(op: UnaryOp, input: &Tensor) -> Tensor {
    let out = input.data().iter().map(|&x| op.apply(x)).collect();
    Tensor::from_op(
        out,
        input.shape().clone(),
        Op::Unary {
            op,
            input: input.clone(),
        },
    )
}

pub(crate) fn unary_backward(
    op: UnaryOp,
    input: &Tensor,
    out: &Tensor,
    grad: &[f32],
) -> Vec<InputGrad> {
    let (x, y) = (input.data(), out.data());
    let g = grad
        .iter()
        .zip(x.iter().zip(y.iter()))
        .map(|(g, (&x, &y))| g * op.derivative(x, y))
        .collect();
    vec![(input.clone(), g)]
}

pub(crate) fn add_scalar_backward(input: &Tensor, grad: &[f32]) -> Vec<InputGrad> {
    vec![(input.clone(), grad.to_vec())]
}

pub(crate) fn mul_scalar_backward(input: &Tensor, factor: f32, grad: &[f32]) -> Vec<InputGrad> {
    vec![(input.clone(), grad.iter().map(|g| g * factor).collect())]
}

impl Tensor {
    /// `self + rhs`, broadcasting (per-channel bias `[C,1,1]` over NCHW, per-feature `[D]` over N×D, scalars).
    ///
    /// # Errors
    /// When the shapes cannot be broadcast together.
    pub fn add(&self, rhs: &Tensor) -> Result<Tensor> {
        binary(BinaryOp::Add, self, rhs)
    }

    /// `self - rhs`, broadcasting like [`Tensor::add`].
    pub fn sub(&self, rhs: &Tensor) -> Result<Tensor> {
        binary(BinaryOp::Sub, self, rhs)
    }

    /// `self * rhs` element-wise, broadcasting like [`Tensor::add`].
    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        binary(BinaryOp::Mul, self, rhs)
    }

    /// `self / rhs` element-wise, broadcasting like [`Tensor::add`].
    pub fn div(&self, rhs: &Tensor) -> Result<Tensor> {
        binary(BinaryOp::Div, self, rhs)
    }

    pub fn add_scalar(&self, value: f32) -> Tensor {
        let out = self.data().iter().map(|x| x + value).collect();
        Tensor::from_op(
            out,
            self.shape().clone(),
            Op::AddScalar {
                input: self.clone(),
            },
        )
    }

    pub fn mul_scalar(&self, factor: f32) -> Tensor {
        let out = self.data().iter().map(|x| x * factor).collect();
        Tensor::from_op(
            out,
            self.shape().clone(),
            Op::MulScalar {
                input: self.clone(),
                factor,
            },
        )
    }

    pub fn neg(&self) -> Tensor {
        self.mul_scalar(-1.0)
    }

    pub fn exp(&self) -> Tensor {
        unary(UnaryOp::Exp, self)
    }

    /// Natural logarithm (NaN/−inf for non-positive values, as in PyTorch).
    pub fn log(&self) -> Tensor {
        unary(UnaryOp::Log, self)
    }

    pub fn sqrt(&self) -> Tensor {
        unary(UnaryOp::Sqrt, self)
    }
}
