//! Matrix products: `matmul` of 2-D tensors and the fused `linear` layer op.
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::kernels::gemm::{Gemm, MatMut, MatRef};
use crate::shape::Shape;
use crate::tensor::Tensor;

impl Tensor {
    /// Matrix product `[M, K] · [K, N] → [M, N]`.
    ///
    /// # Errors
    /// When either operand is not 2-D or the inner dims differ.
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        let (&[m, k], &[k2, n]) = (self.dims(), rhs.dims()) else {
            return Err(Error::shape(
                "matmul",
                format!(
                    "needs 2-D operands, got {} and {}",
                    self.shape(),
                    rhs.shape()
                ),
            ));
        };
        if k != k2 {
            return Err(Error::shape(
                "matmul",
                format!(
                    "inner dims differ: {} · {} ({k} vs {k2})",
                    self.shape(),
                    rhs.shape()
                ),
            ));
        }
        let mut out = vec![0.0; m * n];
        Gemm {
            a: MatRef::new(&self.data(), m, k),
            b: MatRef::new(&rhs.data(), k, n),
            c: MatMut::new(&mut out, m, n),
            accumulate: false,
            parallel: true,
        }
        .run();
        Ok(Tensor::from_op(
            out,
            Shape::new(&[m, n]),
            Op::Matmul {
                lhs: self.clone(),
                rhs: rhs.clone(),
            },
        ))
    }
}

pub(crate) fn matmul_backward(lhs: &Tensor, rhs: &Tensor, grad: &[f32]) -> Vec<InputGrad> {
    let (m, k, n) = (lhs.dims()[0], lhs.dims()[1], rhs.dims()[1]);
    let mut grads = Vec::new();
    if lhs.requires_grad() {
        // dA [M,K] = dC [M,N] · Bᵀ
        let mut g = vec![0.0; m * k];
        Gemm {
            a: MatRef::new(grad, m, n),
            b: MatRef::new(&rhs.data(), k, n).t(),
            c: MatMut::new(&mut g, m, k),
            accumulate: false,
            parallel: true,
        }
        .run();
        grads.push((lhs.clone(), g));
    }
    if rhs.requires_grad() {
        // dB [K,N] = Aᵀ · dC
        let mut g = vec![0.0; k * n];
        Gemm {
            a: MatRef::new(&lhs.data(), m, k).t(),
            b: MatRef::new(grad, m, n),
            c: MatMut::new(&mut g, k, n),
            accumulate: false,
            parallel: true,
        }
        .run();
        grads.push((rhs.clone(), g));
    }
    grads
}

/// A fully-connected layer: `y = x · weightᵀ + bias`, PyTorch's `F.linear`.
///
/// # Shapes
/// input `[N, in]`, weight `[out, in]`, bias `[out]`, output `[N, out]`.
///
/// # Errors
/// When the input is not 2-D, its feature count differs from the weight's, or the bias size differs.
pub fn linear(input: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let (&[n, features], &[out_features, in_features]) = (input.dims(), weight.dims()) else {
        return Err(Error::shape(
            "linear",
            format!(
                "needs input [N, in] and weight [out, in], got {} and {}",
                input.shape(),
                weight.shape()
            ),
        ));
    };
    if features != in_features {
        return Err(Error::shape(
            "linear",
            format!(
                "input has {features} features but weight expects {in_features} (input {}, weight {})",
                input.shape(),
                weight.shape()
            ),
        ));
    }
    if let Some(b) = bias.filter(|b| b.dims() != [out_features]) {
        return Err(Error::shape(
            "linear",
            format!(
                "bias has shape {} but weight has {out_features} outputs",
                b.shape()
            ),
        ));
    }
    let mut out = match bias {
        Some(b) => b.data().repeat(n),
        None => vec![0.0; n * out_features],
    };
    // out [N, out] += X [N, in] · Wᵀ
    Gemm {
        a: MatRef::new(&input.data(), n, features),
        b: MatRef::new(&weight.data(), out_features, features).t(),
        c: MatMut::new(&mut out, n, out_features),
        accumulate: true,
        parallel: true,
    }
    .run();
    let op = Op::Linear {
        input: input.clone(),
        weight: weight.clone(),
        bias: bias.cloned(),
    };
    Ok(Tensor::from_op(out, Shape::new(&[n, out_features]), op))
}

pub(crate) fn linear_backward(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    grad: &[f32],
) -> Vec<InputGrad> {
    let (n, in_f, out_f) = (input.dims()[0], input.dims()[1], weight.dims()[0]);
    let mut grads = Vec::new();
    if input.requires_grad() {
        // dX [N,in] = dY [N,out] · W [out,in]
        let mut g = vec![0.0; n * in_f];
        Gemm {
            a: MatRef::new(grad, n, out_f),
            b: MatRef::new(&weight.data(), out_f, in_f),
            c: MatMut::new(&mut g, n, in_f),
            accumulate: false,
            parallel: true,
        }
        .run();
        grads.push((input.clone(), g));
    }
    if weight.requires_grad() {
        // dW [out,in] = dYᵀ · X
        let mut g = vec![0.0; out_f * in_f];
        Gemm {
            a: MatRef::new(grad, n, out_f).t(),
            b: MatRef::new(&input.data(), n, in_f),
            c: MatMut::new(&mut g, out_f, in_f),
            accumulate: false,
            parallel: true,
        }
        .run();
        grads.push((weight.clone(), g));
    }
    if let Some(b) = bias.filter(|b| b.requires_grad()) {
        let mut g = vec![0.0; out_f];
        for row in grad.chunks_exact(out_f) {
            g.iter_mut().zip(row).for_each(|(g, r)| *g += r);
        }
        grads.push((b.clone(), g));
    }
    grads
}
