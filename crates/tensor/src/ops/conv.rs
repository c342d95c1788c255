//! 2-D convolution (cross-correlation, as in PyTorch) with stride, padding, dilation and groups.
//! The work happens in `kernels::conv2d` (im2col + GEMM, parallel over the batch).
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::kernels::conv2d::{
    conv2d_backward_input, conv2d_backward_weight, conv2d_forward_new, Conv2dGeometry,
};
use crate::shape::Shape;
use crate::tensor::Tensor;

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
        let zero = [("stride", self.stride), ("dilation", self.dilation)]
            .into_iter()
            .find(|(_, (a, b))| *a == 0 || *b == 0);
        if let Some((name, value)) = zero {
            return Err(Error::config(
                "conv2d",
                format!("{name} must be at least 1, got {value:?}"),
            ));
        }
        if self.groups == 0 {
            return Err(Error::config("conv2d", "groups must be at least 1"));
        }
        Ok(())
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

/// The kernel geometry of a checked (input, weight, bias) triple.
fn geometry(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &Conv2dConfig,
) -> Result<Conv2dGeometry> {
    config.validate()?;
    let shapes = || format!("(input {}, weight {})", input.shape(), weight.shape());
    let (&[n, c_in, h, w], &[c_out, c_per_group, kh, kw]) = (input.dims(), weight.dims()) else {
        return Err(Error::shape(
            "conv2d",
            format!(
                "needs input [N, C, H, W] and weight [C_out, C_in/groups, kH, kW] {}",
                shapes()
            ),
        ));
    };
    let groups = config.groups;
    if c_in != c_per_group * groups {
        return Err(Error::shape(
            "conv2d",
            format!(
                "input has {c_in} channels but weight expects {} {}",
                c_per_group * groups,
                shapes()
            ),
        ));
    }
    if c_out % groups != 0 {
        return Err(Error::shape(
            "conv2d",
            format!(
                "{c_out} output channels are not divisible by groups={groups} {}",
                shapes()
            ),
        ));
    }
    if let Some(b) = bias.filter(|b| b.dims() != [c_out]) {
        return Err(Error::shape(
            "conv2d",
            format!(
                "bias has shape {} but weight has {c_out} output channels",
                b.shape()
            ),
        ));
    }
    let (out_h, out_w) = (
        Conv2dConfig::output_len(h, kh, config.stride.0, config.padding.0, config.dilation.0),
        Conv2dConfig::output_len(w, kw, config.stride.1, config.padding.1, config.dilation.1),
    );
    if out_h.is_none() || out_w.is_none() || kh == 0 || kw == 0 {
        return Err(Error::shape(
            "conv2d",
            format!(
                "kernel {kh}x{kw} (dilation {:?}) is larger than the padded input {}x{} {}",
                config.dilation,
                h + 2 * config.padding.0,
                w + 2 * config.padding.1,
                shapes()
            ),
        ));
    }
    let (stride, padding, dilation) = (config.stride, config.padding, config.dilation);
    Ok(Conv2dGeometry {
        n,
        c_in,
        h,
        w,
        c_out,
        kh,
        kw,
        stride,
        padding,
        dilation,
        groups,
    })
}

/// 2-D convolution, PyTorch's `F.conv2d`.
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
    let g = geometry(input, weight, bias, config)?;
    let bias_data = bias.map(|b| b.data());
    let out = conv2d_forward_new(
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
    let g = geometry(input, weight, bias, config).expect("shapes were checked in forward");
    let mut grads = Vec::new();
    if input.requires_grad() {
        let mut grad_input = vec![0.0; g.input_len()];
        conv2d_backward_input(&g, grad, &weight.data(), &mut grad_input);
        grads.push((input.clone(), grad_input));
    }
    let bias_needs_grad = bias.is_some_and(|b| b.requires_grad());
    if weight.requires_grad() || bias_needs_grad {
        let mut grad_weight = vec![0.0; g.weight_len()];
        let mut grad_bias = vec![0.0; g.c_out];
        conv2d_backward_weight(
            &g,
            &input.data(),
            grad,
            &mut grad_weight,
            bias_needs_grad.then_some(&mut grad_bias[..]),
        );
        if weight.requires_grad() {
            grads.push((weight.clone(), grad_weight));
        }
        if let Some(b) = bias.filter(|_| bias_needs_grad) {
            grads.push((b.clone(), grad_bias));
        }
    }
    grads
}
