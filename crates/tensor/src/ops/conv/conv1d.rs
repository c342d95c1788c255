//! 1-D convolution: a 2-D convolution over `[N, C, 1, L]` with a `[C_out, C_in/groups, 1, k]`
//! kernel (the reshapes share storage; autodiff flows through them).
use super::check::{check_channels, check_hyper, conv_output_sizes};
use super::{conv2d_named, Conv2dConfig};
use crate::error::Result;
use crate::tensor::Tensor;

/// Hyper-parameters of [`conv1d`]; PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv1dConfig {
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
    pub dilation: usize,
    pub groups: usize,
}

impl Default for Conv1dConfig {
    fn default() -> Self {
        Conv1dConfig {
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
        }
    }
}

impl Conv1dConfig {
    /// Rejects settings that are never valid, whatever the input.
    ///
    /// # Errors
    /// A zero stride, dilation or group count.
    pub fn validate(&self) -> Result<()> {
        check_hyper("conv1d", &[self.stride], &[self.dilation], self.groups)
    }
}

/// 1-D convolution, PyTorch's `F.conv1d`.
///
/// # Shapes
/// input `[N, C_in, L]`, weight `[C_out, C_in/groups, k]`, bias `[C_out]`, output
/// `[N, C_out, L_out]` with `L_out = floor((L + 2·pad − dil·(k − 1) − 1) / stride) + 1`.
///
/// # Errors
/// Zero stride/dilation/groups; non-3-D tensors; channels that don't match the weight or aren't
/// divisible by groups; a bias of the wrong size; a kernel larger than the padded input.
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
    let op = "conv1d";
    let c = config;
    check_hyper(op, &[c.stride], &[c.dilation], c.groups)?;
    check_channels(op, input, weight, bias, c.groups, 1, false)?;
    conv_output_sizes(op, input, weight, &[c.stride], &[c.padding], &[c.dilation])?;
    let (&[n, c_in, len], &[c_out, cg, k]) = (input.dims(), weight.dims()) else {
        unreachable!("ranks were checked");
    };
    let config2d = Conv2dConfig {
        stride: (1, c.stride),
        padding: (0, c.padding),
        dilation: (1, c.dilation),
        groups: c.groups,
    };
    let y = conv2d_named(
        op,
        &input.reshape(&[n, c_in, 1, len])?,
        &weight.reshape(&[c_out, cg, 1, k])?,
        bias,
        &config2d,
    )?;
    let out_len = y.dims()[3];
    y.reshape(&[n, c_out, out_len])
}
