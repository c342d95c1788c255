//! Shape and configuration checks shared by the convolutions (1-D, 2-D, 3-D, transposed): every
//! message names the op and the shapes involved.
use crate::error::{Error, Result};
use crate::kernels::conv_geometry::ConvGeometry;
use crate::shape::conv_out_len;
use crate::tensor::Tensor;

/// Rejects zero strides, dilations or groups.
pub(crate) fn check_hyper(
    op: &'static str,
    stride: &[usize],
    dilation: &[usize],
    groups: usize,
) -> Result<()> {
    for (name, value) in [("stride", stride), ("dilation", dilation)] {
        if value.contains(&0) {
            return Err(Error::config(
                op,
                format!("{name} must be at least 1, got {}", tuple(value)),
            ));
        }
    }
    if groups == 0 {
        return Err(Error::config(op, "groups must be at least 1"));
    }
    Ok(())
}

/// `(input …, weight …)` for error messages.
pub(crate) fn shapes(input: &Tensor, weight: &Tensor) -> String {
    format!("(input {}, weight {})", input.shape(), weight.shape())
}

/// A tuple as PyTorch prints it: `(2, 1)`, or a bare number for one value.
pub(crate) fn tuple(v: &[usize]) -> String {
    match v {
        [x] => x.to_string(),
        _ => format!(
            "({})",
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Checks the ranks (`spatial + 2` for both), the channel counts against `groups` and the bias
/// size of a convolution (weight `[C_out, C_in/groups, k...]`) or, with `transposed`, of a
/// transposed convolution (weight `[C_in, C_out/groups, k...]`).
pub(crate) fn check_channels(
    op: &'static str,
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    groups: usize,
    spatial: usize,
    transposed: bool,
) -> Result<()> {
    let shapes = || shapes(input, weight);
    let rank = spatial + 2;
    if input.rank() != rank || weight.rank() != rank {
        let axes = ["L", "H, W", "D, H, W"][spatial - 1];
        let kernel = ["k", "kH, kW", "kD, kH, kW"][spatial - 1];
        let layout = if transposed {
            format!("[C_in, C_out/groups, {kernel}]")
        } else {
            format!("[C_out, C_in/groups, {kernel}]")
        };
        return Err(Error::shape(
            op,
            format!(
                "needs input [N, C, {axes}] and weight {layout} {}",
                shapes()
            ),
        ));
    }
    let (c_in, w0, w1) = (input.dims()[1], weight.dims()[0], weight.dims()[1]);
    let (expected_in, c_out) = if transposed {
        (w0, w1 * groups)
    } else {
        (w1 * groups, w0)
    };
    if c_in != expected_in {
        return Err(Error::shape(
            op,
            format!(
                "input has {c_in} channels but weight expects {expected_in} {}",
                shapes()
            ),
        ));
    }
    let divisible = if transposed { c_in } else { c_out };
    if divisible % groups != 0 {
        let what = if transposed { "input" } else { "output" };
        return Err(Error::shape(
            op,
            format!(
                "{divisible} {what} channels are not divisible by groups={groups} {}",
                shapes()
            ),
        ));
    }
    if weight.dims()[2..].contains(&0) {
        return Err(Error::shape(
            op,
            format!("the kernel is empty {}", shapes()),
        ));
    }
    if let Some(b) = bias.filter(|b| b.dims() != [c_out]) {
        return Err(Error::shape(
            op,
            format!(
                "bias has shape {} but the op has {c_out} output channels {}",
                b.shape(),
                shapes()
            ),
        ));
    }
    Ok(())
}

/// Rejects a geometry whose dilated kernel is larger than the padded input along some axis
/// (where [`conv_out_len`] has no output).
pub(crate) fn check_kernel_fits<const D: usize>(
    op: &'static str,
    input: &Tensor,
    weight: &Tensor,
    g: &ConvGeometry<D>,
) -> Result<()> {
    let fits = |i: usize| {
        conv_out_len(
            g.size[i],
            g.kernel[i],
            g.stride[i],
            g.padding[i],
            g.dilation[i],
        )
        .is_some()
    };
    if (0..D).all(fits) {
        return Ok(());
    }
    let padded: Vec<usize> = (0..D).map(|i| g.size[i] + 2 * g.padding[i]).collect();
    Err(Error::shape(
        op,
        format!(
            "kernel {} (dilation {}) is larger than the padded input {} {}",
            tuple(&g.kernel),
            tuple(&g.dilation),
            tuple(&padded),
            shapes(input, weight)
        ),
    ))
}
