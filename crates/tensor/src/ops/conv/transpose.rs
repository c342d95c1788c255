//! Transposed 2-D convolution (PyTorch's `conv_transpose2d`, a.k.a. "deconvolution"): the adjoint of
//! a 2-D convolution. Its forward pass is that convolution's input gradient, its input gradient the
//! convolution's forward pass, so it reuses the 2-D kernels (depthwise ones included).
//!
//! The matching convolution `g` maps `[N, C_out, H_out, W_out]` to `[N, C_in, H', W']` with the
//! same weight `[C_in, C_out/groups, kH, kW]`; `H' = H + floor(output_padding / stride)`, which is
//! `H` unless `stride ≤ output_padding < dilation`: then the input is zero-extended to `H'` rows.
use super::check::{check_channels, check_hyper, shapes, tuple};
use super::{backward_input_kernel, backward_weight_kernel, conv_grads, forward_kernel};
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::kernels::conv2d::Conv2dGeometry;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::borrow::Cow;

/// Hyper-parameters of [`conv_transpose2d`], as (height, width) pairs; PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTranspose2dConfig {
    pub stride: (usize, usize),
    /// Rows/columns removed from each side of the full output (`dilation·(k − 1) − padding` zero
    /// padding of the equivalent direct convolution).
    pub padding: (usize, usize),
    /// Extra rows/columns added to one side of the output, to pick among the input sizes a strided
    /// convolution maps to the same output size. Must be smaller than the stride or the dilation.
    pub output_padding: (usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
}

impl Default for ConvTranspose2dConfig {
    fn default() -> Self {
        ConvTranspose2dConfig {
            stride: (1, 1),
            padding: (0, 0),
            output_padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

const OP: &str = "conv_transpose2d";

impl ConvTranspose2dConfig {
    /// Rejects settings that are never valid, whatever the input.
    ///
    /// # Errors
    /// A zero stride, dilation or group count; an output padding not smaller than either the stride
    /// or the dilation.
    pub fn validate(&self) -> Result<()> {
        let pair = |(a, b): (usize, usize)| [a, b];
        check_hyper(OP, &pair(self.stride), &pair(self.dilation), self.groups)?;
        let (op, s, d) = (
            pair(self.output_padding),
            pair(self.stride),
            pair(self.dilation),
        );
        if (0..2).any(|i| op[i] >= s[i] && op[i] >= d[i]) {
            return Err(Error::config(
                OP,
                format!(
                    "output_padding {} must be smaller than either stride {} or dilation {}",
                    tuple(&op),
                    tuple(&s),
                    tuple(&d)
                ),
            ));
        }
        Ok(())
    }
}

/// The checked geometry of the matching convolution (see the module doc).
fn geometry(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    c: &ConvTranspose2dConfig,
) -> Result<Conv2dGeometry> {
    c.validate()?;
    check_channels(OP, input, weight, bias, c.groups, 2, true)?;
    let (&[n, c_in, h, w], &[_, cg_out, kh, kw]) = (input.dims(), weight.dims()) else {
        unreachable!("ranks were checked");
    };
    if h == 0 || w == 0 {
        return Err(Error::shape(
            OP,
            format!("the input has no rows or columns {}", shapes(input, weight)),
        ));
    }
    let out = |len: usize, k: usize, s: usize, p: usize, d: usize, op: usize| {
        ((len - 1) * s + d * (k - 1) + op + 1).checked_sub(2 * p)
    };
    let (Some(oh), Some(ow)) = (
        out(
            h,
            kh,
            c.stride.0,
            c.padding.0,
            c.dilation.0,
            c.output_padding.0,
        ),
        out(
            w,
            kw,
            c.stride.1,
            c.padding.1,
            c.dilation.1,
            c.output_padding.1,
        ),
    ) else {
        return Err(Error::shape(
            OP,
            format!(
                "padding {} removes more than the whole output {}",
                tuple(&[c.padding.0, c.padding.1]),
                shapes(input, weight)
            ),
        ));
    };
    if oh == 0 || ow == 0 {
        return Err(Error::shape(
            OP,
            format!("the output would be empty {}", shapes(input, weight)),
        ));
    }
    Ok(Conv2dGeometry {
        n,
        c_in: cg_out * c.groups,
        h: oh,
        w: ow,
        c_out: c_in,
        kh,
        kw,
        stride: c.stride,
        padding: c.padding,
        dilation: c.dilation,
        groups: c.groups,
    })
}

/// `src [planes, h, w]` zero-extended at the bottom/right to `[planes, to.0, to.1]` (borrowed
/// when the size is unchanged).
fn extend(src: &[f32], (h, w): (usize, usize), to: (usize, usize)) -> Cow<'_, [f32]> {
    if (h, w) == to {
        return Cow::Borrowed(src);
    }
    let mut out = vec![0.0; src.len() / (h * w) * to.0 * to.1];
    for (dst, plane) in out
        .chunks_exact_mut(to.0 * to.1)
        .zip(src.chunks_exact(h * w))
    {
        for (d, s) in dst.chunks_exact_mut(to.1).zip(plane.chunks_exact(w)) {
            d[..w].copy_from_slice(s);
        }
    }
    Cow::Owned(out)
}

/// The top-left `[planes, to.0, to.1]` of `src [planes, h, w]`, written into `out`.
fn crop(src: &[f32], (h, w): (usize, usize), to: (usize, usize), out: &mut [f32]) {
    for (dst, plane) in out
        .chunks_exact_mut(to.0 * to.1)
        .zip(src.chunks_exact(h * w))
    {
        for (d, s) in dst.chunks_exact_mut(to.1).zip(plane.chunks_exact(w)) {
            d.copy_from_slice(&s[..to.1]);
        }
    }
}

/// Transposed 2-D convolution, PyTorch's `F.conv_transpose2d`.
///
/// # Shapes
/// input `[N, C_in, H, W]`, weight `[C_in, C_out/groups, kH, kW]` (PyTorch's layout), bias
/// `[C_out]`, output `[N, C_out, H_out, W_out]` with
/// `H_out = (H − 1)·stride − 2·padding + dilation·(kH − 1) + output_padding + 1` (likewise W).
///
/// # Errors
/// Zero stride/dilation/groups; output padding not smaller than the stride or the dilation;
/// non-4-D tensors; input channels that don't match the weight or aren't divisible by groups; a
/// bias of the wrong size; padding that leaves no output.
///
/// ```
/// use convkit_tensor::{ops::conv::{conv_transpose2d, ConvTranspose2dConfig}, Tensor};
/// let x = Tensor::ones([1, 4, 5, 5]);
/// let w = Tensor::ones([4, 3, 3, 3]);
/// let config = ConvTranspose2dConfig { stride: (2, 2), padding: (1, 1), output_padding: (1, 1), ..Default::default() };
/// assert_eq!(conv_transpose2d(&x, &w, None, &config).unwrap().dims(), &[1, 3, 10, 10]);
/// ```
pub fn conv_transpose2d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &ConvTranspose2dConfig,
) -> Result<Tensor> {
    let g = geometry(input, weight, bias, config)?;
    let (h, w) = (input.dims()[2], input.dims()[3]);
    let mut out = vec![0.0; g.input_len()];
    {
        let x = input.data();
        let x = extend(&x, (h, w), (g.out_h(), g.out_w()));
        backward_input_kernel(&g, &x, &weight.data(), &mut out);
    }
    if let Some(b) = bias {
        let b = b.data();
        for (plane, bv) in out.chunks_exact_mut(g.h * g.w).zip(b.iter().cycle()) {
            plane.iter_mut().for_each(|v| *v += bv);
        }
    }
    let op = Op::ConvTranspose2d {
        input: input.clone(),
        weight: weight.clone(),
        bias: bias.cloned(),
        config: *config,
    };
    Ok(Tensor::from_op(
        out,
        Shape::new(&[g.n, g.c_in, g.h, g.w]),
        op,
    ))
}

pub(crate) fn conv_transpose2d_backward(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &ConvTranspose2dConfig,
    grad: &[f32],
) -> Vec<InputGrad> {
    let g = geometry(input, weight, bias, config).expect("checked in forward");
    let (h, w) = (input.dims()[2], input.dims()[3]);
    let extended = (g.out_h(), g.out_w());
    conv_grads(
        [input, weight],
        bias,
        |dx| {
            let full = forward_kernel(&g, grad, &weight.data(), None);
            crop(&full, extended, (h, w), dx);
        },
        |dw, db| {
            let x = input.data();
            let x = extend(&x, (h, w), extended);
            backward_weight_kernel(&g, grad, &x, dw, None);
            if let Some(db) = db {
                db.fill(0.0);
                for (plane, b) in grad.chunks_exact(g.h * g.w).zip((0..g.c_in).cycle()) {
                    db[b] += plane.iter().sum::<f32>();
                }
            }
        },
    )
}
