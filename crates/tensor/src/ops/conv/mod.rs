//! Convolutions (cross-correlation, as in PyTorch): 1-D, 2-D and 3-D with stride, padding,
//! dilation and groups, and the transposed 2-D convolution.
//!
//! 2-D work happens in `kernels::conv2d` (im2col + GEMM, parallel over the batch; 1×1 stride-1
//! unpadded kernels skip im2col) or, for depthwise convolutions (`groups == C_in`), in the direct
//! kernels of `kernels::depthwise`. 1-D convolutions run as 2-D ones over `[N, C, 1, L]`; 3-D ones
//! use `kernels::conv3d` (vol2col + GEMM); the transposed convolution reuses the 2-D kernels with
//! forward and input gradient swapped.
mod check;
mod conv1d;
mod conv3d;
mod transpose;

pub use conv1d::{conv1d, Conv1dConfig};
pub(crate) use conv3d::conv3d_backward;
pub use conv3d::{conv3d, Conv3dConfig};
pub(crate) use transpose::conv_transpose2d_backward;
pub use transpose::{conv_transpose2d, ConvTranspose2dConfig};

use crate::autograd::{InputGrad, Op};
use crate::error::Result;
use crate::kernels::conv2d::{
    conv2d_backward_input, conv2d_backward_weight, conv2d_forward_new, Conv2dGeometry,
};
use crate::kernels::depthwise::{
    depthwise_backward_input, depthwise_backward_weight, depthwise_forward, is_depthwise,
};
use crate::shape::Shape;
use crate::tensor::Tensor;
use check::{check_channels, check_hyper, conv_output_sizes};

/// Hyper-parameters of [`conv2d`], as (height, width) pairs; PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dConfig {
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
}

impl Default for Conv2dConfig {
    fn default() -> Self {
        Conv2dConfig {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

impl Conv2dConfig {
    /// Rejects settings that are never valid, whatever the input.
    ///
    /// # Errors
    /// A zero stride, dilation or group count.
    pub fn validate(&self) -> Result<()> {
        check_hyper(
            "conv2d",
            &[self.stride.0, self.stride.1],
            &[self.dilation.0, self.dilation.1],
            self.groups,
        )
    }

    /// Output size along one axis: `floor((len + 2·pad − dilation·(k − 1) − 1) / stride) + 1`,
    /// or None when the dilated kernel is larger than the padded input.
    pub fn output_len(
        len: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
    ) -> Option<usize> {
        let span = dilation * (kernel.max(1) - 1) + 1;
        let padded = len + 2 * padding;
        (padded >= span).then(|| (padded - span) / stride.max(1) + 1)
    }
}

/// The kernel geometry of a checked (input, weight, bias) triple; errors are named `op`.
fn geometry(
    op: &'static str,
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &Conv2dConfig,
) -> Result<Conv2dGeometry> {
    let pair = |(a, b): (usize, usize)| [a, b];
    check_hyper(
        op,
        &pair(config.stride),
        &pair(config.dilation),
        config.groups,
    )?;
    check_channels(op, input, weight, bias, config.groups, 2, false)?;
    conv_output_sizes(
        op,
        input,
        weight,
        &pair(config.stride),
        &pair(config.padding),
        &pair(config.dilation),
    )?;
    let (&[n, c_in, h, w], &[c_out, _, kh, kw]) = (input.dims(), weight.dims()) else {
        unreachable!("ranks were checked");
    };
    Ok(Conv2dGeometry {
        n,
        c_in,
        h,
        w,
        c_out,
        kh,
        kw,
        stride: config.stride,
        padding: config.padding,
        dilation: config.dilation,
        groups: config.groups,
    })
}

/// Forward kernel for a 2-D geometry: the direct depthwise kernel when `groups == c_in`, else
/// im2col + GEMM (which itself skips im2col for unpadded stride-1 1×1 kernels).
pub(crate) fn forward_kernel(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
) -> Vec<f32> {
    if is_depthwise(g) {
        let mut out = vec![0.0; g.output_len()];
        depthwise_forward(g, x, w, b, &mut out);
        out
    } else {
        conv2d_forward_new(g, x, w, b)
    }
}

/// Input-gradient kernel for a 2-D geometry, dispatched as [`forward_kernel`].
pub(crate) fn backward_input_kernel(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    if is_depthwise(g) {
        depthwise_backward_input(g, dy, w, dx)
    } else {
        conv2d_backward_input(g, dy, w, dx)
    }
}

/// Weight/bias-gradient kernel for a 2-D geometry, dispatched as [`forward_kernel`].
pub(crate) fn backward_weight_kernel(
    g: &Conv2dGeometry,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
) {
    if is_depthwise(g) {
        depthwise_backward_weight(g, x, dy, dw, db)
    } else {
        conv2d_backward_weight(g, x, dy, dw, db)
    }
}

/// 2-D convolution, PyTorch's `F.conv2d`.
///
/// Depthwise convolutions (`groups == C_in > 1`, any channel multiplier) run on a direct kernel;
/// unpadded stride-1 1×1 convolutions multiply the input by the weight with no im2col copy; the
/// rest run as im2col + GEMM.
///
/// # Shapes
/// input `[N, C_in, H, W]`, weight `[C_out, C_in/groups, kH, kW]`, bias `[C_out]`, output
/// `[N, C_out, H_out, W_out]` with `H_out = floor((H + 2·pad − dil·(kH − 1) − 1) / stride) + 1`
/// (likewise W).
///
/// # Errors
/// Zero stride/dilation/groups; non-4-D tensors; channels that don't match the weight or aren't
/// divisible by groups; a bias of the wrong size; a kernel larger than the padded input.
///
/// ```
/// use convkit_tensor::{ops::conv::{conv2d, Conv2dConfig}, Tensor};
/// let x = Tensor::ones([1, 3, 32, 32]);
/// let w = Tensor::ones([10, 3, 5, 5]);
/// let y = conv2d(&x, &w, None, &Conv2dConfig { padding: (2, 2), ..Default::default() }).unwrap();
/// assert_eq!(y.dims(), &[1, 10, 32, 32]);
/// ```
pub fn conv2d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &Conv2dConfig,
) -> Result<Tensor> {
    conv2d_named("conv2d", input, weight, bias, config)
}

/// [`conv2d`] with errors named `op` (conv1d runs as a conv2d over `[N, C, 1, L]`).
fn conv2d_named(
    op: &'static str,
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &Conv2dConfig,
) -> Result<Tensor> {
    let g = geometry(op, input, weight, bias, config)?;
    let bias_data = bias.map(|b| b.data());
    let out = forward_kernel(
        &g,
        &input.data(),
        &weight.data(),
        bias_data.as_deref().map(|b| b.as_slice()),
    );
    drop(bias_data);
    let op = Op::Conv2d {
        input: input.clone(),
        weight: weight.clone(),
        bias: bias.cloned(),
        config: *config,
    };
    Ok(Tensor::from_op(
        out,
        Shape::new(&[g.n, g.c_out, g.out_h(), g.out_w()]),
        op,
    ))
}

pub(crate) fn conv2d_backward(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &Conv2dConfig,
    grad: &[f32],
) -> Vec<InputGrad> {
    let g = geometry("conv2d", input, weight, bias, config).expect("checked in forward");
    conv_grads(
        [input, weight],
        bias,
        |dx| backward_input_kernel(&g, grad, &weight.data(), dx),
        |dw, db| backward_weight_kernel(&g, &input.data(), grad, dw, db),
    )
}

/// The gradients of a convolution's `[input, weight]` and bias that require grad, from the
/// input-gradient kernel `dx(buffer)` and the weight/bias-gradient kernel `dwb(dw, db)` (which
/// overwrite their buffers; `db` is None when the bias needs no gradient).
pub(crate) fn conv_grads(
    [input, weight]: [&Tensor; 2],
    bias: Option<&Tensor>,
    dx: impl FnOnce(&mut [f32]),
    dwb: impl FnOnce(&mut [f32], Option<&mut [f32]>),
) -> Vec<InputGrad> {
    let mut grads = Vec::new();
    if input.requires_grad() {
        let mut grad_input = vec![0.0; input.numel()];
        dx(&mut grad_input);
        grads.push((input.clone(), grad_input));
    }
    let bias = bias.filter(|b| b.requires_grad());
    if weight.requires_grad() || bias.is_some() {
        let mut grad_weight = vec![0.0; weight.numel()];
        let mut grad_bias = vec![0.0; bias.map_or(0, |b| b.numel())];
        dwb(
            &mut grad_weight,
            bias.is_some().then_some(&mut grad_bias[..]),
        );
        if weight.requires_grad() {
            grads.push((weight.clone(), grad_weight));
        }
        if let Some(b) = bias {
            grads.push((b.clone(), grad_bias));
        }
    }
    grads
}
