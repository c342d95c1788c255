//! Local response normalisation across channels (AlexNet's), PyTorch's `F.local_response_norm`.
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
pub use crate::kernels::lrn::LrnParams;
use crate::kernels::lrn::{lrn_backward, lrn_forward};
use crate::tensor::Tensor;

impl Default for LrnParams {
    /// PyTorch's defaults with AlexNet's window: size 5, α 1e-4, β 0.75, k 1.
    fn default() -> Self {
        LrnParams {
            size: 5,
            alpha: 1e-4,
            beta: 0.75,
            k: 1.0,
        }
    }
}

fn layout(x: &Tensor, p: &LrnParams) -> Result<(usize, usize)> {
    if p.size == 0 {
        return Err(Error::config(
            "local_response_norm",
            "size must be at least 1",
        ));
    }
    if x.rank() < 3 {
        return Err(Error::shape(
            "local_response_norm",
            format!(
                "input must be [N, C, *] with at least one spatial dim, got {}",
                x.shape()
            ),
        ));
    }
    Ok((x.dims()[1], x.dims()[2..].iter().product()))
}

/// Local response normalisation: `y_c = x_c / (k + α/size · Σ_{j ∈ win(c)} x_j²)^β` over a window of
/// `size` neighbouring channels (`c − ⌊size/2⌋ ..= c + ⌊(size−1)/2⌋`), zero-padded at the ends.
///
/// # Shapes
/// input `[N, C, *]` (at least 3-D) → output of the same shape.
///
/// # Errors
/// A zero `size`, an input of rank < 3.
pub fn local_response_norm(x: &Tensor, params: &LrnParams) -> Result<Tensor> {
    let (c, spatial) = layout(x, params)?;
    let mut scale = vec![0.0; x.numel()];
    let mut out = vec![0.0; x.numel()];
    lrn_forward(params, c, spatial, &x.data(), &mut scale, &mut out);
    let op = Op::LocalResponseNorm {
        input: x.clone(),
        params: *params,
        scale,
    };
    Ok(Tensor::from_op(out, x.shape().clone(), op))
}

pub(crate) fn local_response_norm_backward(
    input: &Tensor,
    params: &LrnParams,
    scale: &[f32],
    out: &Tensor,
    grad: &[f32],
) -> Vec<InputGrad> {
    let (c, spatial) = layout(input, params).expect("checked in forward");
    let mut dx = vec![0.0; input.numel()];
    lrn_backward(
        params,
        c,
        spatial,
        (&input.data(), scale, &out.data()),
        grad,
        &mut dx,
    );
    vec![(input.clone(), dx)]
}
