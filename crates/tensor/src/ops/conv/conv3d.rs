//! 3-D convolution over `[N, C, D, H, W]` volumes (vol2col + GEMM in `kernels::conv3d`).
use super::check::{check_channels, check_hyper, conv_output_sizes};
use super::conv_grads;
use crate::autograd::{InputGrad, Op};
use crate::error::Result;
use crate::kernels::conv3d::{
    conv3d_backward_input, conv3d_backward_weight, conv3d_forward, Conv3dGeometry,
};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Hyper-parameters of [`conv3d`] as (depth, height, width) triples; PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv3dConfig {
    pub stride: (usize, usize, usize),
    /// Zero padding on each side.
    pub padding: (usize, usize, usize),
    pub dilation: (usize, usize, usize),
    pub groups: usize,
}

impl Default for Conv3dConfig {
    fn default() -> Self {
        Conv3dConfig {
            stride: (1, 1, 1),
            padding: (0, 0, 0),
            dilation: (1, 1, 1),
            groups: 1,
        }
    }
}

fn triple((a, b, c): (usize, usize, usize)) -> [usize; 3] {
    [a, b, c]
}

impl Conv3dConfig {
    /// Rejects settings that are never valid, whatever the input.
    ///
    /// # Errors
    /// A zero stride, dilation or group count.
    pub fn validate(&self) -> Result<()> {
        check_hyper(
            "conv3d",
            &triple(self.stride),
            &triple(self.dilation),
            self.groups,
        )
    }
}

fn geometry(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &Conv3dConfig,
) -> Result<Conv3dGeometry> {
    let op = "conv3d";
    let (stride, padding, dilation) = (
        triple(config.stride),
        triple(config.padding),
        triple(config.dilation),
    );
    config.validate()?;
    check_channels(op, input, weight, bias, config.groups, 3, false)?;
    conv_output_sizes(op, input, weight, &stride, &padding, &dilation)?;
    let (&[n, c_in, d, h, w], &[c_out, _, kd, kh, kw]) = (input.dims(), weight.dims()) else {
        unreachable!("ranks were checked");
    };
    Ok(Conv3dGeometry {
        n,
        c_in,
        size: [d, h, w],
        c_out,
        kernel: [kd, kh, kw],
        stride,
        padding,
        dilation,
        groups: config.groups,
    })
}

/// 3-D convolution, PyTorch's `F.conv3d`.
///
/// # Shapes
/// input `[N, C_in, D, H, W]`, weight `[C_out, C_in/groups, kD, kH, kW]`, bias `[C_out]`, output
/// `[N, C_out, D_out, H_out, W_out]` with `D_out = floor((D + 2·pad − dil·(kD − 1) − 1) / stride) + 1`
/// (likewise H and W).
///
/// # Errors
/// Zero stride/dilation/groups; non-5-D tensors; channels that don't match the weight or aren't
/// divisible by groups; a bias of the wrong size; a kernel larger than the padded input.
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
    let g = geometry(input, weight, bias, config)?;
    let mut out = vec![0.0; g.output_len()];
    let bias_data = bias.map(|b| b.data());
    conv3d_forward(
        &g,
        &input.data(),
        &weight.data(),
        bias_data.as_deref().map(|b| b.as_slice()),
        &mut out,
    );
    drop(bias_data);
    let [od, oh, ow] = g.out_size();
    let op = Op::Conv3d {
        input: input.clone(),
        weight: weight.clone(),
        bias: bias.cloned(),
        config: *config,
    };
    Ok(Tensor::from_op(
        out,
        Shape::new(&[g.n, g.c_out, od, oh, ow]),
        op,
    ))
}

pub(crate) fn conv3d_backward(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &Conv3dConfig,
    grad: &[f32],
) -> Vec<InputGrad> {
    let g = geometry(input, weight, bias, config).expect("checked in forward");
    conv_grads(
        [input, weight],
        bias,
        |dx| conv3d_backward_input(&g, grad, &weight.data(), dx),
        |dw, db| conv3d_backward_weight(&g, &input.data(), grad, dw, db),
    )
}
