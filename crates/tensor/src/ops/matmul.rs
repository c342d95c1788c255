//! Matrix products: `matmul` of 2-D tensors and the fused `linear` layer op.
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::kernels::gemm::sgemm;
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
        sgemm(
            m,
            n,
            k,
            &self.data(),
            false,
            &rhs.data(),
            false,
            &mut out,
            false,
            true,
        );
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
        sgemm(m, k, n, grad, false, &rhs.data(), true, &mut g, false, true);
        grads.push((lhs.clone(), g));
    }
    if rhs.requires_grad() {
        // dB [K,N] = Aᵀ · dC
        let mut g = vec![0.0; k * n];
        sgemm(k, n, m, &lhs.data(), true, grad, false, &mut g, false, true);
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
    sgemm(
        n,
        out_features,
        features,
        &input.data(),
        false,
        &weight.data(),
        true,
        &mut out,
        true,
        true,
    );
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
        sgemm(
            n,
            in_f,
            out_f,
            grad,
            false,
            &weight.data(),
            false,
            &mut g,
            false,
            true,
        );
        grads.push((input.clone(), g));
    }
    if weight.requires_grad() {
        // dW [out,in] = dYᵀ · X
        let mut g = vec![0.0; out_f * in_f];
        sgemm(
            out_f,
            in_f,
            n,
            grad,
            true,
            &input.data(),
            false,
            &mut g,
            false,
            true,
        );
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
