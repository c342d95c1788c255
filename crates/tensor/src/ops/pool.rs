//! 2-D pooling: max (arg-max indices saved for backward), average, and global average.
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::kernels::pool::{
    avg_pool2d_backward as avg_backward_kernel, avg_pool2d_forward, global_avg_pool2d_backward,
    global_avg_pool2d_forward, max_pool2d_backward as max_backward_kernel, max_pool2d_forward,
    max_pool2d_forward_values, Pool2dGeometry,
};
use crate::ops::unpool::PoolIndices;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::sync::Arc;

/// Window, stride and padding as (height, width) pairs, plus PyTorch's rounding and padding rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dConfig {
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    /// Round the output size up (the last window must still start inside the input or left padding).
    pub ceil_mode: bool,
    /// Average pooling only: count padded cells in the divisor (PyTorch's default).
    pub count_include_pad: bool,
}

impl Pool2dConfig {
    /// A `k×k` window with stride `k` and no padding, e.g. LeNet's 2×2 max-pooling.
    pub fn square(kernel: usize) -> Self {
        Pool2dConfig::new((kernel, kernel), (kernel, kernel), (0, 0))
    }

    pub fn new(kernel: (usize, usize), stride: (usize, usize), padding: (usize, usize)) -> Self {
        Pool2dConfig {
            kernel,
            stride,
            padding,
            ceil_mode: false,
            count_include_pad: true,
        }
    }

    /// Rejects settings that are never valid: zero kernel or stride, padding over half the window.
    ///
    /// # Errors
    /// As above, naming the pooling op.
    pub fn validate(&self, op: &'static str) -> Result<()> {
        let (k, s, p) = (self.kernel, self.stride, self.padding);
        if k.0 == 0 || k.1 == 0 || s.0 == 0 || s.1 == 0 {
            return Err(Error::config(
                op,
                format!("kernel {k:?} and stride {s:?} must be at least 1"),
            ));
        }
        if p.0 > k.0 / 2 || p.1 > k.1 / 2 {
            return Err(Error::config(
                op,
                format!("padding {p:?} must be at most half the kernel {k:?}"),
            ));
        }
        Ok(())
    }

    fn geometry(&self, op: &'static str, input: &Tensor) -> Result<Pool2dGeometry> {
        self.validate(op)?;
        let &[n, c, h, w] = input.dims() else {
            return Err(Error::shape(
                op,
                format!("input must be [N, C, H, W], got {}", input.shape()),
            ));
        };
        let g = Pool2dGeometry {
            n,
            c,
            h,
            w,
            kh: self.kernel.0,
            kw: self.kernel.1,
            stride: self.stride,
            padding: self.padding,
            dilation: (1, 1),
            ceil_mode: self.ceil_mode,
        };
        if g.out_h() == 0 || g.out_w() == 0 {
            return Err(Error::shape(
                op,
                format!(
                    "kernel {:?} is larger than the padded input {} (padding {:?})",
                    self.kernel,
                    input.shape(),
                    self.padding
                ),
            ));
        }
        Ok(g)
    }
}

fn out_shape(g: &Pool2dGeometry) -> Shape {
    Shape::new(&[g.n, g.c, g.out_h(), g.out_w()])
}

/// Max pooling, PyTorch's `F.max_pool2d`; padded cells never win. The arg-max of every window is
/// saved so backward routes each gradient to the input that won (overlapping windows add up).
///
/// # Shapes
/// input `[N, C, H, W]` → `[N, C, H_out, W_out]`, `H_out = floor((H + 2·pad − k) / stride) + 1`
/// (ceil with `ceil_mode`), likewise W.
///
/// # Errors
/// Zero kernel/stride, padding over half the kernel, a non-4-D input, a kernel larger than the padded input.
pub fn max_pool2d(input: &Tensor, config: &Pool2dConfig) -> Result<Tensor> {
    max_pool2d_impl(input, config, false).map(|(t, _, _)| t)
}

/// Max pooling that also returns the arg-max of every window as flat per-plane indices `y·W + x`
/// (PyTorch's `return_indices=True`), for [`crate::ops::unpool::max_unpool2d`].
///
/// # Shapes
/// As [`max_pool2d`]; the indices have the output's shape.
///
/// # Errors
/// As [`max_pool2d`].
pub fn max_pool2d_with_indices(
    input: &Tensor,
    config: &Pool2dConfig,
) -> Result<(Tensor, PoolIndices)> {
    let (out, argmax, g) = max_pool2d_impl(input, config, true)?;
    let indices = PoolIndices::new(argmax, out.shape().clone(), (g.h, g.w));
    Ok((out, indices))
}

fn max_pool2d_impl(
    input: &Tensor,
    config: &Pool2dConfig,
    want_indices: bool,
) -> Result<(Tensor, Arc<Vec<u32>>, Pool2dGeometry)> {
    let g = config.geometry("max_pool2d", input)?;
    let mut out = vec![0.0; g.output_len()];
    // Arg-max indices only when asked for or when backward can run (inference skips them).
    let mut argmax = Vec::new();
    if want_indices || (crate::autograd::is_grad_enabled() && input.requires_grad()) {
        argmax = vec![0u32; g.output_len()];
        max_pool2d_forward(&g, &input.data(), &mut out, &mut argmax);
    } else {
        max_pool2d_forward_values(&g, &input.data(), &mut out);
    }
    let argmax = Arc::new(argmax);
    let op = Op::MaxPool2d {
        input: input.clone(),
        argmax: argmax.clone(),
        config: *config,
    };
    Ok((Tensor::from_op(out, out_shape(&g), op), argmax, g))
}

pub(crate) fn max_pool2d_backward(
    input: &Tensor,
    argmax: &[u32],
    config: &Pool2dConfig,
    grad: &[f32],
) -> Vec<InputGrad> {
    let g = config
        .geometry("max_pool2d", input)
        .expect("shapes were checked in forward");
    let mut grad_input = vec![0.0; g.input_len()];
    max_backward_kernel(&g, grad, argmax, &mut grad_input);
    vec![(input.clone(), grad_input)]
}

/// Average pooling, PyTorch's `F.avg_pool2d` (padding counted in the divisor when
/// `count_include_pad`).
///
/// # Shapes
/// As [`max_pool2d`].
///
/// # Errors
/// As [`max_pool2d`].
pub fn avg_pool2d(input: &Tensor, config: &Pool2dConfig) -> Result<Tensor> {
    let g = config.geometry("avg_pool2d", input)?;
    let mut out = vec![0.0; g.output_len()];
    avg_pool2d_forward(&g, config.count_include_pad, &input.data(), &mut out);
    Ok(Tensor::from_op(
        out,
        out_shape(&g),
        Op::AvgPool2d {
            input: input.clone(),
            config: *config,
        },
    ))
}

pub(crate) fn avg_pool2d_backward(
    input: &Tensor,
    config: &Pool2dConfig,
    grad: &[f32],
) -> Vec<InputGrad> {
    let g = config
        .geometry("avg_pool2d", input)
        .expect("shapes were checked in forward");
    let mut grad_input = vec![0.0; g.input_len()];
    avg_backward_kernel(&g, config.count_include_pad, grad, &mut grad_input);
    vec![(input.clone(), grad_input)]
}

/// Global average pooling (`AdaptiveAvgPool2d(1)`): the mean of each channel plane.
///
/// # Shapes
/// input `[N, C, H, W]` → `[N, C, 1, 1]`.
///
/// # Errors
/// A non-4-D input.
pub fn global_avg_pool2d(input: &Tensor) -> Result<Tensor> {
    let &[n, c, h, w] = input.dims() else {
        return Err(Error::shape(
            "global_avg_pool2d",
            format!("input must be [N, C, H, W], got {}", input.shape()),
        ));
    };
    let mut out = vec![0.0; n * c];
    global_avg_pool2d_forward(n * c, h * w, &input.data(), &mut out);
    Ok(Tensor::from_op(
        out,
        Shape::new(&[n, c, 1, 1]),
        Op::GlobalAvgPool {
            input: input.clone(),
        },
    ))
}

pub(crate) fn global_avg_pool_backward(input: &Tensor, grad: &[f32]) -> Vec<InputGrad> {
    let (planes, hw) = (
        input.dims()[0] * input.dims()[1],
        input.dims()[2] * input.dims()[3],
    );
    let mut grad_input = vec![0.0; input.numel()];
    global_avg_pool2d_backward(planes, hw, grad, &mut grad_input);
    vec![(input.clone(), grad_input)]
}

/// Max pooling across channels (channel maxout): each group of `k` consecutive channels is
/// replaced by its elementwise maximum; the gradient flows to the first arg-max.
///
/// # Shapes
/// input `[N, C, *]` → `[N, C / k, *]`.
///
/// # Errors
/// A zero `k`, an input of rank < 2, `C` not divisible by `k`.
pub fn channel_max_pool(input: &Tensor, k: usize) -> Result<Tensor> {
    let d = input.dims();
    if k == 0 || d.len() < 2 || !d[1].is_multiple_of(k) {
        return Err(Error::config(
            "channel_max_pool",
            format!(
                "input {} must be [N, C, *] with C divisible by k = {k} (k ≥ 1)",
                input.shape()
            ),
        ));
    }
    let mut grouped = vec![d[0], d[1] / k, k];
    grouped.extend_from_slice(&d[2..]);
    let mut pooled: Vec<usize> = d.to_vec();
    pooled[1] /= k;
    input.reshape(&grouped)?.max_dim(2)?.reshape(&pooled)
}
