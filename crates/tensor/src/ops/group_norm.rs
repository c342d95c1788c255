//! Per-sample normalisation: group norm and its two special cases, layer norm (one group over the
//! last dims, elementwise affine) and instance norm (one group per channel).
//!
//! All three view the input as `[N, C, S]` and normalise `N·G` rows of `(C/G)·S` contiguous values
//! by their own mean and biased variance. The affine parameters, per channel (`[C]`) or per element
//! (layer norm), are expanded once into a pattern as long as one sample (`C·S`), so every kernel
//! loop is a plain elementwise pass over a row.
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::kernels::norm as kernels;
use crate::ops::norm::{batch_norm, BatchNormConfig, MIN_TASK_LEN};
use crate::tensor::Tensor;
use rayon::prelude::*;

/// An input viewed as `[n, c, spatial]`, normalised in `groups` groups of channels per sample.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowLayout {
    n: usize,
    c: usize,
    spatial: usize,
    groups: usize,
}

impl RowLayout {
    fn row_len(&self) -> usize {
        self.c / self.groups * self.spatial
    }
    fn sample_len(&self) -> usize {
        self.c * self.spatial
    }
}

/// What backward needs: the layout and each row's mean and 1/sqrt(var + eps).
pub(crate) struct RowNormSaved {
    layout: RowLayout,
    mean: Vec<f32>,
    invstd: Vec<f32>,
}

/// Mean and biased variance of each row.
fn row_stats(x: &[f32], row_len: usize) -> Vec<(f32, f32)> {
    x.par_chunks(row_len)
        .with_min_len(MIN_TASK_LEN / row_len + 1)
        .map(|row| {
            let mean = (kernels::sum(std::iter::once(row)) / row_len as f64) as f32;
            let var = (kernels::centered_sq_sum(row, mean) / row_len as f64) as f32;
            (mean, var)
        })
        .collect()
}

/// A per-channel (or, with `spatial` 1, per-element) parameter repeated over one sample.
fn pattern(param: Option<&Tensor>, l: RowLayout, default: f32) -> Vec<f32> {
    match param {
        None => vec![default; l.sample_len()],
        Some(p) => p
            .data()
            .iter()
            .flat_map(|&v| std::iter::repeat_n(v, l.spatial))
            .collect(),
    }
}

fn check_param(
    op: &'static str,
    name: &str,
    t: Option<&Tensor>,
    want: &[usize],
    x: &Tensor,
) -> Result<()> {
    match t {
        Some(t) if t.dims() != want => Err(Error::shape(
            op,
            format!(
                "{name} has shape {} but must be {want:?} for input {}",
                t.shape(),
                x.shape()
            ),
        )),
        _ => Ok(()),
    }
}

/// Normalises every row of `x` by its own statistics, then applies the affine pattern.
fn row_norm(
    x: &Tensor,
    l: RowLayout,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    stats: &[(f32, f32)],
    eps: f32,
) -> Tensor {
    let row_len = l.row_len();
    let (w, b) = (pattern(weight, l, 1.0), pattern(bias, l, 0.0));
    let (mean, invstd): (Vec<f32>, Vec<f32>) = stats
        .iter()
        .map(|&(m, v)| (m, 1.0 / (v + eps).sqrt()))
        .unzip();
    let data = x.data();
    let mut out = vec![0.0; data.len()];
    out.par_chunks_mut(row_len)
        .zip(data.par_chunks(row_len))
        .enumerate()
        .with_min_len(MIN_TASK_LEN / row_len + 1)
        .for_each(|(r, (y, x))| {
            let p = (r % l.groups) * row_len..(r % l.groups + 1) * row_len;
            kernels::affine_row_forward(x, y, &w[p.clone()], &b[p], mean[r], invstd[r]);
        });
    drop(data);
    let op = Op::RowNorm {
        input: x.clone(),
        weight: weight.cloned(),
        bias: bias.cloned(),
        saved: RowNormSaved {
            layout: l,
            mean,
            invstd,
        },
    };
    Tensor::from_op(out, x.shape().clone(), op)
}

/// Input, weight and bias gradients of [`row_norm`].
pub(crate) fn row_norm_backward(
    input: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    saved: &RowNormSaved,
    grad: &[f32],
) -> Vec<InputGrad> {
    let l = saved.layout;
    let (row_len, sample_len) = (l.row_len(), l.sample_len());
    let x = input.data();
    let (mean, invstd) = (&saved.mean, &saved.invstd);
    let mut grads = Vec::new();
    if input.requires_grad() {
        let w = pattern(weight, l, 1.0);
        let mut dx = vec![0.0; x.len()];
        dx.par_chunks_mut(row_len)
            .zip(x.par_chunks(row_len).zip(grad.par_chunks(row_len)))
            .enumerate()
            .with_min_len(MIN_TASK_LEN / row_len + 1)
            .for_each(|(r, (dx, (x, g)))| {
                let p = (r % l.groups) * row_len..(r % l.groups + 1) * row_len;
                kernels::affine_row_backward(x, g, &w[p], dx, mean[r], invstd[r]);
            });
        grads.push((input.clone(), dx));
    }
    let needs = |t: Option<&Tensor>| t.filter(|t| t.requires_grad()).cloned();
    let (w_needs, b_needs) = (needs(weight), needs(bias));
    if w_needs.is_none() && b_needs.is_none() {
        return grads;
    }
    // Per-element gradients of the pattern, summed over the batch (parallel over pattern chunks).
    let mut dw = vec![0.0; sample_len];
    let mut db = vec![0.0; sample_len];
    dw.par_chunks_mut(MIN_TASK_LEN)
        .zip(db.par_chunks_mut(MIN_TASK_LEN))
        .enumerate()
        .for_each(|(k, (dw, db))| {
            let start = k * MIN_TASK_LEN;
            let mut j = start;
            // A chunk may span several groups: split it where the row statistics change.
            while j < start + dw.len() {
                let group = j / row_len;
                let end = ((group + 1) * row_len).min(start + dw.len());
                for i in 0..l.n {
                    let (r, s) = (i * l.groups + group, i * sample_len);
                    kernels::affine_row_param_grads(
                        &x[s + j..s + end],
                        &grad[s + j..s + end],
                        &mut dw[j - start..end - start],
                        &mut db[j - start..end - start],
                        mean[r],
                        invstd[r],
                    );
                }
                j = end;
            }
        });
    let per_param =
        |d: Vec<f32>| -> Vec<f32> { d.chunks(l.spatial).map(|c| c.iter().sum()).collect() };
    if let Some(w) = w_needs {
        grads.push((w, per_param(dw)));
    }
    if let Some(b) = b_needs {
        grads.push((b, per_param(db)));
    }
    grads
}

/// `[N, C, *]` as (n, c, spatial) for an op needing at least one value per channel.
fn channels_layout(op: &'static str, x: &Tensor) -> Result<(usize, usize, usize)> {
    if x.rank() < 2 || x.numel() == 0 {
        return Err(Error::shape(
            op,
            format!("input must be a non-empty [N, C, *], got {}", x.shape()),
        ));
    }
    let d = x.dims();
    Ok((d[0], d[1], d[2..].iter().product()))
}

/// Group normalisation, PyTorch's `F.group_norm`: the channels of each sample split into
/// `num_groups` groups, each normalised by its own mean and biased variance, then scaled and shifted
/// per channel.
///
/// # Shapes
/// input `[N, C, *]`; weight, bias `[C]`; output like the input.
///
/// # Errors
/// An empty or rank < 2 input, zero groups, `C` not divisible by `num_groups`, a weight or bias
/// not of shape `[C]`.
pub fn group_norm(
    x: &Tensor,
    num_groups: usize,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f32,
) -> Result<Tensor> {
    let (n, c, spatial) = channels_layout("group_norm", x)?;
    if num_groups == 0 || !c.is_multiple_of(num_groups) {
        return Err(Error::config(
            "group_norm",
            format!(
                "{c} channels (input {}) are not divisible into {num_groups} groups",
                x.shape()
            ),
        ));
    }
    check_param("group_norm", "weight", weight, &[c], x)?;
    check_param("group_norm", "bias", bias, &[c], x)?;
    let l = RowLayout {
        n,
        c,
        spatial,
        groups: num_groups,
    };
    let stats = row_stats(&x.data(), l.row_len());
    Ok(row_norm(x, l, weight, bias, &stats, eps))
}

/// Layer normalisation, PyTorch's `F.layer_norm`: every sample normalised over its last
/// `normalized_shape.len()` dims, with an optional elementwise affine of that shape.
///
/// # Shapes
/// input `[*, normalized_shape...]`; weight, bias `normalized_shape`; output like the input.
///
/// # Errors
/// An empty `normalized_shape` or one that doesn't match the input's trailing dims, a weight or
/// bias of another shape.
pub fn layer_norm(
    x: &Tensor,
    normalized_shape: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f32,
) -> Result<Tensor> {
    let k = normalized_shape.len();
    let d = x.dims();
    if k == 0 || k > d.len() || d[d.len() - k..] != *normalized_shape || x.numel() == 0 {
        return Err(Error::shape(
            "layer_norm",
            format!(
                "normalized_shape {normalized_shape:?} must be the non-empty trailing dims of the input {}",
                x.shape()
            ),
        ));
    }
    check_param("layer_norm", "weight", weight, normalized_shape, x)?;
    check_param("layer_norm", "bias", bias, normalized_shape, x)?;
    let len: usize = normalized_shape.iter().product();
    let l = RowLayout {
        n: x.numel() / len,
        c: len,
        spatial: 1,
        groups: 1,
    };
    let stats = row_stats(&x.data(), len);
    Ok(row_norm(x, l, weight, bias, &stats, eps))
}

/// Settings of [`instance_norm`]; PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstanceNormConfig {
    pub eps: f32,
    /// Weight of the new statistic in the running averages.
    pub momentum: f32,
    /// Normalise by each instance's statistics (and update the running ones when given); false
    /// normalises by the running statistics (PyTorch's eval mode with `track_running_stats`).
    pub use_input_stats: bool,
}

impl Default for InstanceNormConfig {
    fn default() -> Self {
        InstanceNormConfig {
            eps: 1e-5,
            momentum: 0.1,
            use_input_stats: true,
        }
    }
}

/// Instance normalisation, PyTorch's `F.instance_norm`: each channel of each sample normalised by
/// its own mean and biased variance, then scaled and shifted per channel. With running statistics,
/// they move toward the batch average of the instance statistics (unbiased variance), as in PyTorch.
///
/// # Shapes
/// input `[N, C, *]`; weight, bias, running_mean, running_var `[C]`; output like the input.
///
/// # Errors
/// An empty or rank < 2 input, a per-channel tensor of another shape, `use_input_stats` false
/// without running statistics.
pub fn instance_norm(
    x: &Tensor,
    running_mean: Option<&Tensor>,
    running_var: Option<&Tensor>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    config: InstanceNormConfig,
) -> Result<Tensor> {
    let (n, c, spatial) = channels_layout("instance_norm", x)?;
    for (name, t) in [
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ] {
        check_param("instance_norm", name, t, &[c], x)?;
    }
    if !config.use_input_stats {
        let bn = BatchNormConfig {
            eps: config.eps,
            momentum: config.momentum,
            training: false,
        };
        return batch_norm(x, running_mean, running_var, weight, bias, bn);
    }
    let l = RowLayout {
        n,
        c,
        spatial,
        groups: c,
    };
    let stats = row_stats(&x.data(), spatial);
    if let (Some(rm), Some(rv)) = (running_mean, running_var) {
        let (m, unbias) = (
            config.momentum,
            spatial as f32 / (spatial.max(2) - 1) as f32,
        );
        let (mut rm, mut rv) = (rm.data_mut(), rv.data_mut());
        for ch in 0..c {
            let per_image = || (0..n).map(|i| stats[i * c + ch]);
            let mean = per_image().map(|s| s.0).sum::<f32>() / n as f32;
            let var = per_image().map(|s| s.1).sum::<f32>() / n as f32 * unbias;
            rm[ch] = (1.0 - m) * rm[ch] + m * mean;
            rv[ch] = (1.0 - m) * rv[ch] + m * var;
        }
    }
    Ok(row_norm(x, l, weight, bias, &stats, config.eps))
}
