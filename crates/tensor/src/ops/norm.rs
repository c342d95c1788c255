//! Batch normalisation over the channel dim (dim 1) of `[N, C]`, `[N, C, L]` or `[N, C, H, W]` inputs.
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Settings of [`batch_norm`]; PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormConfig {
    pub eps: f32,
    /// Weight of the new batch statistic in the running average.
    pub momentum: f32,
    /// Normalise by batch statistics (and update the running ones) instead of the running ones.
    pub training: bool,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        BatchNormConfig {
            eps: 1e-5,
            momentum: 0.1,
            training: true,
        }
    }
}

/// What the backward pass needs: per-channel mean and 1/sqrt(var + eps) used in the forward.
pub(crate) struct BatchNormSaved {
    mean: Vec<f32>,
    invstd: Vec<f32>,
    training: bool,
}

/// (channels, number of images, spatial size) for a normalisable input.
fn layout(x: &Tensor) -> Result<(usize, usize, usize)> {
    if x.rank() < 2 {
        return Err(Error::shape(
            "batch_norm",
            format!("input must be [N, C, ...], got {}", x.shape()),
        ));
    }
    let (n, c) = (x.dims()[0], x.dims()[1]);
    Ok((c, n, x.dims()[2..].iter().product()))
}

fn check_per_channel(name: &str, t: Option<&Tensor>, c: usize, x: &Tensor) -> Result<()> {
    match t {
        Some(t) if t.numel() != c => Err(Error::shape(
            "batch_norm",
            format!(
                "{name} has shape {} but the input {} has {c} channels",
                t.shape(),
                x.shape()
            ),
        )),
        _ => Ok(()),
    }
}

/// Per-channel mean and biased variance, accumulated in f64.
fn channel_stats(x: &[f32], (c, n, spatial): (usize, usize, usize)) -> (Vec<f32>, Vec<f32>) {
    let count = (n * spatial) as f64;
    let mut mean = vec![0.0; c];
    let mut var = vec![0.0; c];
    for ch in 0..c {
        let planes = (0..n).map(|i| &x[(i * c + ch) * spatial..(i * c + ch + 1) * spatial]);
        let m = planes.clone().flatten().map(|&v| v as f64).sum::<f64>() / count;
        let v = planes
            .flatten()
            .map(|&v| (v as f64 - m).powi(2))
            .sum::<f64>()
            / count;
        mean[ch] = m as f32;
        var[ch] = v as f32;
    }
    (mean, var)
}

/// Batch normalisation `y = (x − mean) / sqrt(var + eps) · weight + bias` per channel.
///
/// In training the batch's mean and biased variance normalise the input, and the running statistics
/// (when given) move toward them: `running = (1 − momentum)·running + momentum·batch`, with the
/// *unbiased* variance, as in PyTorch. In eval the running statistics normalise the input.
///
/// # Shapes
/// input `[N, C, *]`; weight, bias, running_mean, running_var `[C]`; output like the input.
///
/// # Errors
/// On a per-channel tensor of the wrong size, a training batch with one value per channel, or eval
/// without running statistics.
pub fn batch_norm(
    x: &Tensor,
    running_mean: Option<&Tensor>,
    running_var: Option<&Tensor>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    config: BatchNormConfig,
) -> Result<Tensor> {
    let dims = layout(x)?;
    let (c, n, spatial) = dims;
    for (name, t) in [
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ] {
        check_per_channel(name, t, c, x)?;
    }
    let data = x.data();
    let (mean, var) = if config.training {
        let count = n * spatial;
        if count <= 1 {
            return Err(Error::shape(
                "batch_norm",
                format!(
                    "training needs more than one value per channel, got input {}",
                    x.shape()
                ),
            ));
        }
        let (mean, var) = channel_stats(&data, dims);
        if let (Some(rm), Some(rv)) = (running_mean, running_var) {
            let unbias = count as f32 / (count - 1) as f32;
            let m = config.momentum;
            rm.data_mut()
                .iter_mut()
                .zip(&mean)
                .for_each(|(r, b)| *r = (1.0 - m) * *r + m * b);
            rv.data_mut()
                .iter_mut()
                .zip(&var)
                .for_each(|(r, b)| *r = (1.0 - m) * *r + m * b * unbias);
        }
        (mean, var)
    } else {
        let (Some(rm), Some(rv)) = (running_mean, running_var) else {
            return Err(Error::config(
                "batch_norm",
                "eval mode needs running_mean and running_var",
            ));
        };
        (rm.to_vec(), rv.to_vec())
    };
    let invstd: Vec<f32> = var.iter().map(|v| 1.0 / (v + config.eps).sqrt()).collect();
    let w = weight.map(|w| w.to_vec());
    let b = bias.map(|b| b.to_vec());
    let mut out = vec![0.0; data.len()];
    for i in 0..n {
        for ch in 0..c {
            let scale = invstd[ch] * w.as_ref().map_or(1.0, |w| w[ch]);
            let shift = b.as_ref().map_or(0.0, |b| b[ch]) - mean[ch] * scale;
            let range = (i * c + ch) * spatial..(i * c + ch + 1) * spatial;
            for (o, &v) in out[range.clone()].iter_mut().zip(&data[range]) {
                *o = v * scale + shift;
            }
        }
    }
    drop(data);
    let saved = BatchNormSaved {
        mean,
        invstd,
        training: config.training,
    };
    let op = Op::BatchNorm {
        input: x.clone(),
        weight: weight.cloned(),
        bias: bias.cloned(),
        saved,
    };
    Ok(Tensor::from_op(out, x.shape().clone(), op))
}

/// Training: dx = invstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·weight; eval: dx = dy·weight·invstd.
pub(crate) fn batch_norm_backward(
    input: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    saved: &BatchNormSaved,
    grad: &[f32],
) -> Vec<InputGrad> {
    let (c, n, spatial) = layout(input).expect("shape was checked in forward");
    let x = input.data();
    let w = weight.map(|w| w.to_vec());
    let count = (n * spatial) as f32;
    let mut grad_x = vec![0.0; x.len()];
    let mut grad_w = vec![0.0; c];
    let mut grad_b = vec![0.0; c];
    for ch in 0..c {
        let planes = || (0..n).map(move |i| (i * c + ch) * spatial..(i * c + ch + 1) * spatial);
        let (mean, invstd) = (saved.mean[ch], saved.invstd[ch]);
        let (mut sum_g, mut sum_g_xhat) = (0.0f64, 0.0f64);
        for range in planes() {
            for (&g, &v) in grad[range.clone()].iter().zip(&x[range]) {
                sum_g += g as f64;
                sum_g_xhat += (g * (v - mean) * invstd) as f64;
            }
        }
        grad_b[ch] = sum_g as f32;
        grad_w[ch] = sum_g_xhat as f32;
        let scale = w.as_ref().map_or(1.0, |w| w[ch]) * invstd;
        let (mean_g, mean_g_xhat) = (sum_g as f32 / count, sum_g_xhat as f32 / count);
        for range in planes() {
            for ((gx, &g), &v) in grad_x[range.clone()]
                .iter_mut()
                .zip(&grad[range.clone()])
                .zip(&x[range])
            {
                *gx = if saved.training {
                    scale * (g - mean_g - (v - mean) * invstd * mean_g_xhat)
                } else {
                    scale * g
                };
            }
        }
    }
    let mut grads = Vec::new();
    if input.requires_grad() {
        grads.push((input.clone(), grad_x));
    }
    if let Some(w) = weight.filter(|w| w.requires_grad()) {
        grads.push((w.clone(), grad_w));
    }
    if let Some(b) = bias.filter(|b| b.requires_grad()) {
        grads.push((b.clone(), grad_b));
    }
    grads
}
