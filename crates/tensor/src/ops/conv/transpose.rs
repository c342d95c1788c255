//! Transposed convolution (PyTorch's `conv_transpose2d`, a.k.a. "deconvolution"): the adjoint of
//! a convolution. Its forward pass is that convolution's input gradient, its input gradient the
//! convolution's forward pass, so it reuses the convolution kernels (depthwise ones included).
//!
//! The matching convolution `g` maps `[N, C_out, out...]` to `[N, C_in, size'...]` with the same
//! weight `[C_in, C_out/groups, k...]`; per axis `size' = size + floor(output_padding / stride)`,
//! which is `size` unless `stride ≤ output_padding < dilation`: then the input is zero-extended to
//! `size'`.
use super::check::{check_channels, shapes, tuple};
use super::config::{axes_array, conv_transpose_op_name, ConvTransposeConfig, Rank, Spatial};
use super::{backward_input_kernel, backward_weight_kernel, conv_grads, forward_kernel, spatial};
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::kernels::conv_geometry::{Conv3dGeometry, ConvGeometry};
use crate::shape::{conv_transpose_out_len, Shape};
use crate::tensor::Tensor;
use std::borrow::Cow;

/// The checked geometry of the matching convolution (see the module doc).
fn geometry<const D: usize>(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    c: &ConvTransposeConfig<D>,
) -> Result<ConvGeometry<D>>
where
    Rank<D>: Spatial<D>,
{
    let op = conv_transpose_op_name::<D>();
    c.validate()?;
    check_channels(op, input, weight, bias, c.groups, D, true)?;
    let (size, kernel) = (spatial::<D>(input), spatial::<D>(weight));
    if size.contains(&0) {
        return Err(Error::shape(
            op,
            format!("the input has an empty axis {}", shapes(input, weight)),
        ));
    }
    let direct = c.direct();
    let (stride, padding, dilation, output_padding) = (
        axes_array::<D>(c.stride),
        axes_array::<D>(c.padding),
        axes_array::<D>(c.dilation),
        axes_array::<D>(c.output_padding),
    );
    let mut out = [0; D];
    for i in 0..D {
        out[i] = conv_transpose_out_len(
            size[i],
            kernel[i],
            stride[i],
            padding[i],
            dilation[i],
            output_padding[i],
        )
        .ok_or_else(|| {
            Error::shape(
                op,
                format!(
                    "padding {} removes more than the whole output {}",
                    tuple(&padding),
                    shapes(input, weight)
                ),
            )
        })?;
    }
    let (n, c_in, cg_out) = (input.dims()[0], input.dims()[1], weight.dims()[1]);
    Ok(direct.geometry([n, cg_out * c.groups, c_in], out, kernel))
}

/// `src [planes, from...]` zero-extended at the end of every axis to `[planes, to...]` (borrowed
/// when the size is unchanged); sizes lifted to three axes.
fn extend(src: &[f32], from: [usize; 3], to: [usize; 3]) -> Cow<'_, [f32]> {
    if from == to {
        return Cow::Borrowed(src);
    }
    let (from_vol, to_vol) = (from.iter().product(), to.iter().product::<usize>());
    let mut out = vec![0.0; src.len() / from_vol * to_vol];
    for (dst, plane) in out.chunks_exact_mut(to_vol).zip(src.chunks_exact(from_vol)) {
        for z in 0..from[0] {
            for y in 0..from[1] {
                let row = &plane[(z * from[1] + y) * from[2]..][..from[2]];
                dst[(z * to[1] + y) * to[2]..][..from[2]].copy_from_slice(row);
            }
        }
    }
    Cow::Owned(out)
}

/// The leading `[planes, to...]` corner of `src [planes, from...]`, written into `out`; sizes
/// lifted to three axes.
fn crop(src: &[f32], from: [usize; 3], to: [usize; 3], out: &mut [f32]) {
    let (from_vol, to_vol) = (from.iter().product(), to.iter().product::<usize>());
    for (dst, plane) in out.chunks_exact_mut(to_vol).zip(src.chunks_exact(from_vol)) {
        for z in 0..to[0] {
            for y in 0..to[1] {
                let row = &plane[(z * from[1] + y) * from[2]..][..to[2]];
                dst[(z * to[1] + y) * to[2]..][..to[2]].copy_from_slice(row);
            }
        }
    }
}

/// The spatial size of a tensor of rank `D + 2` lifted to three axes.
fn lifted_size(t: &Tensor) -> [usize; 3] {
    let s = &t.dims()[2..];
    std::array::from_fn(|i| {
        if i + s.len() < 3 {
            1
        } else {
            s[i + s.len() - 3]
        }
    })
}

/// `D`-dimensional transposed convolution; [`conv_transpose1d`], [`conv_transpose2d`] and
/// [`conv_transpose3d`] are this function.
///
/// # Shapes
/// input `[N, C_in, size...]`, weight `[C_in, C_out/groups, kernel...]` (PyTorch's layout), bias
/// `[C_out]`, output `[N, C_out, out...]` with
/// `out = (size − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1` per axis.
///
/// # Errors
/// Zero stride/dilation/groups; output padding not smaller than the stride or the dilation;
/// tensors whose rank is not `D + 2`; input channels that don't match the weight or aren't
/// divisible by groups; a bias of the wrong size; padding that leaves no output.
pub fn conv_transpose_nd<const D: usize>(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &ConvTransposeConfig<D>,
) -> Result<Tensor>
where
    Rank<D>: Spatial<D>,
{
    let g = geometry(input, weight, bias, config)?.lift::<3>();
    let mut out = {
        let x = input.data();
        let x = extend(&x, lifted_size(input), g.out_size());
        backward_input_kernel(&g, &x, &weight.data())
    };
    if let Some(b) = bias {
        let b = b.data();
        let vol = g.size.iter().product();
        for (plane, bv) in out.chunks_exact_mut(vol).zip(b.iter().cycle()) {
            plane.iter_mut().for_each(|v| *v += bv);
        }
    }
    let dims = [&[g.n, g.c_in][..], &g.size[3 - D..]].concat();
    let op = Op::Conv {
        input: input.clone(),
        weight: weight.clone(),
        bias: bias.cloned(),
        geometry: g,
        transposed: true,
    };
    Ok(Tensor::from_op(out, Shape::new(&dims), op))
}

/// Transposed 1-D convolution, PyTorch's `F.conv_transpose1d` ([`conv_transpose_nd`] over one
/// axis): input `[N, C_in, L]`, weight `[C_in, C_out/groups, k]`, output `[N, C_out, L_out]` with
/// `L_out = (L − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1`.
///
/// # Errors
/// As [`conv_transpose_nd`] (non-3-D tensors).
pub fn conv_transpose1d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &ConvTransposeConfig<1>,
) -> Result<Tensor> {
    conv_transpose_nd(input, weight, bias, config)
}

/// Transposed 3-D convolution, PyTorch's `F.conv_transpose3d` ([`conv_transpose_nd`] over three
/// axes): input `[N, C_in, D, H, W]`, weight `[C_in, C_out/groups, kD, kH, kW]`, output sizes per
/// axis as [`conv_transpose1d`]'s.
///
/// # Errors
/// As [`conv_transpose_nd`] (non-5-D tensors).
pub fn conv_transpose3d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    config: &ConvTransposeConfig<3>,
) -> Result<Tensor> {
    conv_transpose_nd(input, weight, bias, config)
}

/// Transposed 2-D convolution, PyTorch's `F.conv_transpose2d` ([`conv_transpose_nd`] over two
/// axes).
///
/// # Shapes
/// input `[N, C_in, H, W]`, weight `[C_in, C_out/groups, kH, kW]` (PyTorch's layout), bias
/// `[C_out]`, output `[N, C_out, H_out, W_out]` with
/// `H_out = (H − 1)·stride − 2·padding + dilation·(kH − 1) + output_padding + 1` (likewise W).
///
/// # Errors
/// As [`conv_transpose_nd`] (non-4-D tensors).
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
    config: &ConvTransposeConfig<2>,
) -> Result<Tensor> {
    conv_transpose_nd(input, weight, bias, config)
}

/// Backward of a transposed convolution whose matching convolution is `g` (lifted to three axes).
pub(super) fn conv_transpose_backward(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    g: &Conv3dGeometry,
    grad: &[f32],
) -> Vec<InputGrad> {
    let (size, extended) = (lifted_size(input), g.out_size());
    conv_grads(
        [input, weight],
        bias,
        || {
            let full = forward_kernel(g, grad, &weight.data(), None);
            let mut dx = vec![0.0; input.numel()];
            crop(&full, extended, size, &mut dx);
            dx
        },
        |dw, db| {
            let x = input.data();
            let x = extend(&x, size, extended);
            backward_weight_kernel(g, grad, &x, dw, None);
            if let Some(db) = db {
                db.fill(0.0);
                let vol = g.size.iter().product();
                for (plane, b) in grad.chunks_exact(vol).zip((0..g.c_in).cycle()) {
                    db[b] += crate::kernels::norm::sum(std::iter::once(plane)) as f32;
                }
            }
        },
    )
}
