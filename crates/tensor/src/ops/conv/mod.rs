//! The convolution family (cross-correlation, as in PyTorch): 1-D, 2-D and 3-D convolutions with
//! stride, padding, dilation and groups, and the transposed convolutions of the same ranks.
//!
//! One path serves them all: the settings ([`ConvConfig`], generic over the spatial rank) and the
//! tensors are checked (`check.rs`) and become one [`ConvGeometry`], which one kernel driver runs
//! (`kernels::conv`: dense 1-D and 2-D convolutions on the direct kernel of `kernels::direct_conv`
//! where their channels fill its vector blocks, else im2col/vol2col + GEMM; unit-kernel stride-1
//! unpadded convolutions skip im2col) or, for depthwise 1-D and 2-D convolutions (`groups == C_in`), the
//! direct kernels of `kernels::depthwise`. The graph records one `Op::Conv` with the geometry
//! lifted to three axes; the transposed convolution reuses the kernels with forward and input
//! gradient swapped.
mod check;
mod config;
mod inference;
mod transpose;

pub use config::{
    axes_array, Axes, Conv1dConfig, Conv2dConfig, Conv3dConfig, ConvConfig, ConvTranspose1dConfig,
    ConvTranspose2dConfig, ConvTranspose3dConfig, ConvTransposeConfig, Rank, Spatial,
};
pub use inference::InferenceConv2d;
pub use transpose::{conv_transpose1d, conv_transpose2d, conv_transpose3d, conv_transpose_nd};

use crate::autograd::{InputGrad, Op};
use crate::error::Result;
use crate::kernels::conv::{conv_backward_input_new, conv_backward_weight, conv_forward_new};
use crate::kernels::conv_geometry::{Conv3dGeometry, ConvGeometry};
use crate::kernels::depthwise::{
    depthwise_backward_input, depthwise_backward_weight, depthwise_forward, is_depthwise,
};
use crate::shape::Shape;
use crate::tensor::Tensor;
use check::{check_channels, check_kernel_fits};
use config::conv_op_name;

/// The spatial dims of a checked tensor of rank `D + 2`.
fn spatial<const D: usize>(t: &Tensor) -> [usize; D] {
    std::array::from_fn(|i| t.dims()[2 + i])
}

/// The kernel geometry of a checked (input, weight, bias) triple; errors are named `conv{D}d`.
fn geometry<const D: usize>(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &ConvConfig<D>,
) -> Result<ConvGeometry<D>>
where
    Rank<D>: Spatial<D>,
{
    let op = conv_op_name::<D>();
    config.validate()?;
    check_channels(op, input, weight, bias, config.groups, D, false)?;
    let (dims, w_dims) = (input.dims(), weight.dims());
    let g = config.geometry(
        [dims[0], dims[1], w_dims[0]],
        spatial(input),
        spatial(weight),
    );
    check_kernel_fits(op, input, weight, &g)?;
    Ok(g)
}

/// The depthwise 2-D geometry that the direct kernels run, when `g` (lifted to three axes) is a
/// depthwise convolution over a single slice.
fn depthwise(g: &Conv3dGeometry) -> Option<ConvGeometry<2>> {
    g.as_plane().filter(is_depthwise)
}

/// Forward kernel for a (lifted) geometry: the direct depthwise kernel where it applies, else the
/// driver of `kernels::conv` (direct kernel or im2col/vol2col + GEMM).
pub(crate) fn forward_kernel(
    g: &Conv3dGeometry,
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
) -> Vec<f32> {
    match depthwise(g) {
        Some(g2) => {
            let mut out = vec![0.0; g2.output_len()];
            depthwise_forward(&g2, x, w, b, &mut out);
            out
        }
        None => conv_forward_new(g, x, w, b),
    }
}

/// Input-gradient kernel for a (lifted) geometry, dispatched as [`forward_kernel`], into a new
/// buffer.
pub(crate) fn backward_input_kernel(g: &Conv3dGeometry, dy: &[f32], w: &[f32]) -> Vec<f32> {
    match depthwise(g) {
        Some(g2) => {
            let mut dx = vec![0.0; g2.input_len()];
            depthwise_backward_input(&g2, dy, w, &mut dx);
            dx
        }
        None => conv_backward_input_new(g, dy, w),
    }
}

/// Weight/bias-gradient kernel for a (lifted) geometry, dispatched as [`forward_kernel`].
pub(crate) fn backward_weight_kernel(
    g: &Conv3dGeometry,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
) {
    match depthwise(g) {
        Some(g2) => depthwise_backward_weight(&g2, x, dy, dw, db),
        None => conv_backward_weight(g, x, dy, dw, db),
    }
}

/// `D`-dimensional convolution; [`conv1d`], [`conv2d`] and [`conv3d`] are this function.
///
/// # Shapes
/// input `[N, C_in, size...]`, weight `[C_out, C_in/groups, kernel...]`, bias `[C_out]`, output
/// `[N, C_out, out...]` with `out = floor((size + 2·pad − dil·(kernel − 1) − 1) / stride) + 1` per
/// axis.
///
/// # Errors
/// Zero stride/dilation/groups; tensors whose rank is not `D + 2`; channels that don't match the
/// weight or aren't divisible by groups; a bias of the wrong size; a kernel larger than the padded
/// input.
pub fn conv_nd<const D: usize>(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &ConvConfig<D>,
) -> Result<Tensor>
where
    Rank<D>: Spatial<D>,
{
    let g = geometry(input, weight, bias, config)?;
    let lifted = g.lift::<3>();
    let bias_data = bias.map(|b| b.data());
    let out = forward_kernel(
        &lifted,
        &input.data(),
        &weight.data(),
        bias_data.as_deref().map(|b| b.as_slice()),
    );
    drop(bias_data);
    let dims = [&[g.n, g.c_out][..], &g.out_size()].concat();
    let op = Op::Conv {
        input: input.clone(),
        weight: weight.clone(),
        bias: bias.cloned(),
        geometry: lifted,
        transposed: false,
    };
    Ok(Tensor::from_op(out, Shape::new(&dims), op))
}

/// 1-D convolution, PyTorch's `F.conv1d` ([`conv_nd`] over one axis).
///
/// # Shapes
/// input `[N, C_in, L]`, weight `[C_out, C_in/groups, k]`, bias `[C_out]`, output
/// `[N, C_out, L_out]` with `L_out = floor((L + 2·pad − dil·(k − 1) − 1) / stride) + 1`.
///
/// # Errors
/// As [`conv_nd`] (non-3-D tensors).
///
/// ```
/// use convkit_tensor::{ops::conv::{conv1d, Conv1dConfig}, Tensor};
/// let x = Tensor::ones([2, 3, 16]);
/// let w = Tensor::ones([4, 3, 5]);
/// let y = conv1d(&x, &w, None, &Conv1dConfig { stride: 2, ..Default::default() }).unwrap();
/// assert_eq!(y.dims(), &[2, 4, 6]);
/// ```
pub fn conv1d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &Conv1dConfig,
) -> Result<Tensor> {
    conv_nd(input, weight, bias, config)
}

/// 2-D convolution, PyTorch's `F.conv2d` ([`conv_nd`] over two axes).
///
/// Depthwise convolutions (`groups == C_in > 1`, any channel multiplier) run on a direct kernel;
/// unpadded stride-1 1×1 convolutions multiply the input by the weight with no im2col copy; dense
/// ones with enough output channels run on a direct kernel (register tiles over the padded input,
/// no column matrix; also their weight gradient and, at stride 1, their input gradient); the rest
/// run as im2col + GEMM. For repeated inference, [`InferenceConv2d`] packs the weights once.
///
/// # Shapes
/// input `[N, C_in, H, W]`, weight `[C_out, C_in/groups, kH, kW]`, bias `[C_out]`, output
/// `[N, C_out, H_out, W_out]` with `H_out = floor((H + 2·pad − dil·(kH − 1) − 1) / stride) + 1`
/// (likewise W).
///
/// # Errors
/// As [`conv_nd`] (non-4-D tensors).
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
    conv_nd(input, weight, bias, config)
}

/// 3-D convolution, PyTorch's `F.conv3d` ([`conv_nd`] over three axes, vol2col + GEMM).
///
/// # Shapes
/// input `[N, C_in, D, H, W]`, weight `[C_out, C_in/groups, kD, kH, kW]`, bias `[C_out]`, output
/// `[N, C_out, D_out, H_out, W_out]` with `D_out = floor((D + 2·pad − dil·(kD − 1) − 1) / stride) + 1`
/// (likewise H and W).
///
/// # Errors
/// As [`conv_nd`] (non-5-D tensors).
///
/// ```
/// use convkit_tensor::{ops::conv::{conv3d, Conv3dConfig}, Tensor};
/// let x = Tensor::ones([1, 2, 6, 6, 6]);
/// let w = Tensor::ones([4, 2, 3, 3, 3]);
/// let y = conv3d(&x, &w, None, &Conv3dConfig { padding: (1, 1, 1), ..Default::default() }).unwrap();
/// assert_eq!(y.dims(), &[1, 4, 6, 6, 6]);
/// ```
pub fn conv3d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &Conv3dConfig,
) -> Result<Tensor> {
    conv_nd(input, weight, bias, config)
}

/// Backward of a recorded `Op::Conv`: the gradients of input, weight and bias that require grad.
/// `geometry` is the (lifted) geometry of the direct convolution; a transposed convolution is its
/// adjoint (see `transpose.rs`).
pub(crate) fn conv_backward(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    geometry: &Conv3dGeometry,
    transposed: bool,
    grad: &[f32],
) -> Vec<InputGrad> {
    if transposed {
        return transpose::conv_transpose_backward(input, weight, bias, geometry, grad);
    }
    conv_grads(
        [input, weight],
        bias,
        || backward_input_kernel(geometry, grad, &weight.data()),
        |dw, db| backward_weight_kernel(geometry, &input.data(), grad, dw, db),
    )
}

/// The gradients of a convolution's `[input, weight]` and bias that require grad, from the
/// input-gradient kernel `dx()` (which returns a new buffer) and the weight/bias-gradient kernel
/// `dwb(dw, db)` (which overwrites its buffers; `db` is None when the bias needs no gradient).
fn conv_grads(
    [input, weight]: [&Tensor; 2],
    bias: Option<&Tensor>,
    dx: impl FnOnce() -> Vec<f32>,
    dwb: impl FnOnce(&mut [f32], Option<&mut [f32]>),
) -> Vec<InputGrad> {
    let mut grads = Vec::new();
    if input.requires_grad() {
        grads.push((input.clone(), dx()));
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
