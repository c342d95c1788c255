//! Gradient clipping, as `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`.
use crate::error::{Error, Result};
use convkit_tensor::Tensor;

/// Scales every gradient by `max_norm / (total_norm + 1e-6)` when that factor is below 1, where
/// `total_norm` is the `norm_type`-norm of all gradients taken together (`f32::INFINITY` for the
/// max-norm); parameters without a gradient are ignored. Returns the total norm before clipping.
///
/// # Errors
/// A `max_norm` that is negative or NaN, or a `norm_type` that is not positive, or a total norm that
/// is not finite (PyTorch's `error_if_nonfinite=True`: clipping would spread NaN/inf everywhere).
pub fn clip_grad_norm(params: &[(String, Tensor)], max_norm: f32, norm_type: f32) -> Result<f32> {
    if max_norm.is_nan() || max_norm < 0.0 || norm_type.is_nan() || norm_type <= 0.0 {
        return Err(Error::config(
            "clip_grad_norm",
            format!("need max_norm ≥ 0 and norm_type > 0, got max_norm {max_norm}, norm_type {norm_type}"),
        ));
    }
    // Accumulate in f64: millions of squared gradients lose precision in f32.
    let mut acc = 0f64;
    for (_, p) in params {
        p.with_grad_slice(|g| {
            for &x in g.unwrap_or(&[]) {
                let a = f64::from(x.abs());
                if norm_type == f32::INFINITY {
                    acc = acc.max(a);
                } else {
                    acc += a.powf(f64::from(norm_type));
                }
            }
        });
    }
    let total = if norm_type == f32::INFINITY {
        acc
    } else {
        acc.powf(1.0 / f64::from(norm_type))
    } as f32;
    if !total.is_finite() {
        return Err(Error::config(
            "clip_grad_norm",
            format!("the total {norm_type}-norm of the gradients is {total}"),
        ));
    }
    let scale = max_norm / (total + 1e-6);
    if scale < 1.0 {
        for (_, p) in params {
            p.with_grad_slice_mut(|g| g.into_iter().flatten().for_each(|x| *x *= scale));
        }
    }
    Ok(total)
}

/// Clamps every gradient element into `[-clip_value, clip_value]`.
///
/// # Errors
/// A `clip_value` that is negative or NaN.
pub fn clip_grad_value(params: &[(String, Tensor)], clip_value: f32) -> Result<()> {
    if clip_value.is_nan() || clip_value < 0.0 {
        return Err(Error::config(
            "clip_grad_value",
            format!("clip_value must be non-negative, got {clip_value}"),
        ));
    }
    for (_, p) in params {
        p.with_grad_slice_mut(|g| {
            g.into_iter()
                .flatten()
                .for_each(|x| *x = x.clamp(-clip_value, clip_value))
        });
    }
    Ok(())
}
