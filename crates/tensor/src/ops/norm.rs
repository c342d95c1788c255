//! Batch normalisation over the channel dim (dim 1) of `[N, C]`, `[N, C, L]` or `[N, C, H, W]` inputs,
//! alone or fused with the ReLU (and the residual sum) that follows it in a network.
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::kernels::norm as kernels;
use crate::tensor::Tensor;
use rayon::prelude::*;
use std::sync::Arc;

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

/// Sums per-channel batch statistics over the replicas of a data-parallel job, so that batch norm
/// normalises by the statistics of the global batch (SyncBatchNorm): see [`sync_batch_norm`].
pub trait BatchStatsReducer: Send + Sync {
    /// Replaces every value with its sum over all replicas. Every replica calls it the same number
    /// of times, in the same order, with slices of the same length. There is no error to return:
    /// a step cannot go on without the sums, so an implementation that cannot communicate ends the
    /// process (as MPI does).
    fn all_sum(&self, values: &mut [f64]);
}

/// What the backward pass needs: per-channel mean and 1/sqrt(var + eps) used in the forward.
pub(crate) struct BatchNormSaved {
    mean: Vec<f32>,
    invstd: Vec<f32>,
    training: bool,
    /// Values per channel the statistics were taken over (all replicas' when synchronised).
    count: usize,
    sync: Option<SyncSaved>,
    /// A ReLU ran on the output in the same pass ([`batch_norm_relu`]).
    relu: bool,
}

/// A synchronised forward's reducer, and this replica's share of the values per channel.
struct SyncSaved {
    reducer: Arc<dyn BatchStatsReducer>,
    share: f64,
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

/// The `[spatial]` planes of channel `ch`, one per image.
fn channel_planes(
    x: &[f32],
    ch: usize,
    (c, n, spatial): (usize, usize, usize),
) -> impl Iterator<Item = &[f32]> + Clone {
    (0..n).map(move |i| &x[(i * c + ch) * spatial..(i * c + ch + 1) * spatial])
}

/// Per-channel mean and biased variance (parallel over channels), and the number of values per
/// channel they were taken over: this input's, or with `sync` every replica's. One pass: Σx and
/// Σx² in f64 (where x² is exact, so `E[x²] − mean²` loses nothing that matters to an f32
/// variance), summed over the replicas in one call.
fn channel_stats(
    x: &[f32],
    dims: (usize, usize, usize),
    sync: Option<&dyn BatchStatsReducer>,
) -> (Vec<f32>, Vec<f32>, usize) {
    let c = dims.0;
    let pairs: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| kernels::sum_and_squares(channel_planes(x, ch, dims)))
        .collect();
    let mut sums: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    sums.extend(pairs.iter().map(|p| p.1));
    sums.push((dims.1 * dims.2) as f64);
    if let Some(reducer) = sync {
        reducer.all_sum(&mut sums);
    }
    let count = sums[2 * c];
    let mean: Vec<f64> = sums[..c].iter().map(|s| s / count).collect();
    let var = (0..c)
        .map(|ch| (sums[c + ch] / count - mean[ch] * mean[ch]).max(0.0) as f32)
        .collect();
    (
        mean.iter().map(|&m| m as f32).collect(),
        var,
        count as usize,
    )
}

/// `y = a[ch]·x + b[ch]` on every `[spatial]` plane of `x` (parallel over planes), then the
/// epilogue, in a new buffer.
fn apply_per_channel(
    x: &[f32],
    spatial: usize,
    coefs: &[(f32, f32)],
    epilogue: &Epilogue<'_>,
) -> Vec<f32> {
    let c = coefs.len();
    let len = spatial.max(1);
    let mut out = Vec::with_capacity(x.len());
    out.spare_capacity_mut()[..x.len()]
        .par_chunks_mut(len)
        .enumerate()
        .with_min_len(MIN_TASK_LEN / len + 1)
        .for_each(|(i, o)| {
            let (a, b) = coefs[i % c];
            let x = &x[i * len..][..o.len()];
            match epilogue {
                Epilogue::None => kernels::scale_shift(x, o, a, b),
                Epilogue::Relu { residual: None } => kernels::scale_shift_relu(x, o, a, b),
                Epilogue::Relu { residual: Some(r) } => {
                    kernels::scale_shift_add_relu(x, &r[i * len..][..o.len()], o, a, b)
                }
            }
        });
    // SAFETY: the planes cover the buffer, and every kernel above writes every element of its plane.
    unsafe { out.set_len(x.len()) };
    out
}

/// What runs on the normalised values in the same pass.
enum Epilogue<'a> {
    None,
    /// `relu(y + residual)`, or `relu(y)`.
    Relu {
        residual: Option<&'a [f32]>,
    },
}

/// Small planes are batched into parallel tasks of at least this many elements.
pub(crate) const MIN_TASK_LEN: usize = 4096;

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
    let tensors = BatchNormTensors {
        running_mean,
        running_var,
        weight,
        bias,
    };
    batch_norm_with(x, tensors, config, None, None)
}

/// [`batch_norm`] across the replicas of a data-parallel job (PyTorch's `SyncBatchNorm`): in
/// training, the mean and variance are those of every replica's batch together, summed through
/// `reducer`, and so are the batch-statistics terms of the input gradient. In eval it is
/// [`batch_norm`].
///
/// The input gradient assumes that each replica's parameter gradients are later weighted by the
/// replica's share of the global batch (its values per channel over all replicas') and summed, which
/// makes the replicas' step that of one process over the global batch.
///
/// # Errors
/// As [`batch_norm`], the count of values per channel being that of all replicas.
pub fn sync_batch_norm(
    x: &Tensor,
    running_mean: Option<&Tensor>,
    running_var: Option<&Tensor>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    config: BatchNormConfig,
    reducer: &Arc<dyn BatchStatsReducer>,
) -> Result<Tensor> {
    let tensors = BatchNormTensors {
        running_mean,
        running_var,
        weight,
        bias,
    };
    batch_norm_with(x, tensors, config, Some(reducer), None)
}

/// The per-channel tensors of a batch norm, each optional as in [`batch_norm`].
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchNormTensors<'a> {
    pub running_mean: Option<&'a Tensor>,
    pub running_var: Option<&'a Tensor>,
    pub weight: Option<&'a Tensor>,
    pub bias: Option<&'a Tensor>,
}

/// `relu(batch_norm(x) + residual)`, or `relu(batch_norm(x))` without a residual: a network's
/// batch norm and the ReLU after it (a residual block's sum with its shortcut in between) as one
/// op. The normalised values are never stored: one pass writes the output, and the backward masks
/// the gradient by that output, so the ReLU, the sum and the unfused op's intermediate buffers
/// cost no pass of their own. With `sync` (in training) the statistics are those of every
/// replica, as in [`sync_batch_norm`]. Results match the unfused ops up to rounding.
///
/// # Shapes
/// input and residual `[N, C, *]`; the per-channel tensors `[C]`; output like the input.
///
/// # Errors
/// As [`batch_norm`]; a residual whose shape differs from the input's.
pub fn batch_norm_relu(
    x: &Tensor,
    tensors: BatchNormTensors<'_>,
    config: BatchNormConfig,
    residual: Option<&Tensor>,
    sync: Option<&Arc<dyn BatchStatsReducer>>,
) -> Result<Tensor> {
    if let Some(r) = residual.filter(|r| r.dims() != x.dims()) {
        return Err(Error::shape(
            "batch_norm_relu",
            format!(
                "the residual {} must have the input's shape {}",
                r.shape(),
                x.shape()
            ),
        ));
    }
    batch_norm_with(x, tensors, config, sync, Some(residual))
}

/// The batch norm of `x`; `relu` holds the fused ReLU's residual when there is a ReLU.
fn batch_norm_with(
    x: &Tensor,
    tensors: BatchNormTensors<'_>,
    config: BatchNormConfig,
    sync: Option<&Arc<dyn BatchStatsReducer>>,
    relu: Option<Option<&Tensor>>,
) -> Result<Tensor> {
    let sync = sync.filter(|_| config.training);
    let dims = layout(x)?;
    let (c, n, spatial) = dims;
    let BatchNormTensors {
        running_mean,
        running_var,
        weight,
        bias,
    } = tensors;
    for (name, t) in [
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ] {
        check_per_channel(name, t, c, x)?;
    }
    let data = x.data();
    let mut count = n * spatial;
    let (mean, var) = if config.training {
        let (mean, var, total) = channel_stats(&data, dims, sync.map(|r| r.as_ref()));
        count = total;
        if count <= 1 {
            let across = if sync.is_some() {
                " across the replicas"
            } else {
                ""
            };
            return Err(Error::shape(
                "batch_norm",
                format!(
                    "training needs more than one value per channel{across}, got input {} ({count} in all)",
                    x.shape()
                ),
            ));
        }
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
    let coefs: Vec<(f32, f32)> = (0..c)
        .map(|ch| {
            let scale = invstd[ch] * w.as_ref().map_or(1.0, |w| w[ch]);
            (scale, b.as_ref().map_or(0.0, |b| b[ch]) - mean[ch] * scale)
        })
        .collect();
    let residual = relu.flatten();
    let residual_data = residual.map(|r| r.data());
    let epilogue = match relu {
        None => Epilogue::None,
        Some(_) => Epilogue::Relu {
            residual: residual_data.as_deref().map(|r| &r[..]),
        },
    };
    let out = apply_per_channel(&data, spatial, &coefs, &epilogue);
    drop((data, residual_data));
    let saved = BatchNormSaved {
        mean,
        invstd,
        training: config.training,
        count,
        sync: sync.map(|reducer| SyncSaved {
            reducer: Arc::clone(reducer),
            share: (n * spatial) as f64 / count as f64,
        }),
        relu: relu.is_some(),
    };
    let op = Op::BatchNorm {
        input: x.clone(),
        weight: weight.cloned(),
        bias: bias.cloned(),
        residual: residual.cloned(),
        saved,
    };
    Ok(Tensor::from_op(out, x.shape().clone(), op))
}

/// Training: dx = invstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·weight; eval: dx = dy·weight·invstd.
/// After a fused ReLU, dy is the output gradient where the output is positive (0 elsewhere), and
/// it is also the residual's gradient.
pub(crate) fn batch_norm_backward(
    input: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    residual: Option<&Tensor>,
    saved: &BatchNormSaved,
    out: &Tensor,
    grad: &[f32],
) -> Vec<InputGrad> {
    let dims = layout(input).expect("shape was checked in forward");
    let (c, _, spatial) = dims;
    let len = spatial.max(1);
    let x = input.data();
    // Masked once into its own buffer (which the residual's gradient needs anyway), the gradient
    // then takes the plain backward: kernels that read the mask as a third stream ran slower.
    let masked = saved.relu.then(|| relu_masked(grad, &out.data(), len));
    let dy = masked.as_deref().unwrap_or(grad);
    let w = weight.map(|w| w.to_vec());
    // Per channel: (Σdy, Σdy·(x − mean)).
    let sums: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let planes = channel_planes(&x, ch, dims).zip(channel_planes(dy, ch, dims));
            kernels::grad_sums(planes, saved.mean[ch])
        })
        .collect();
    let grad_b: Vec<f32> = sums.iter().map(|s| s.0 as f32).collect();
    let grad_w: Vec<f32> = (0..c)
        .map(|ch| (sums[ch].1 * saved.invstd[ch] as f64) as f32)
        .collect();
    let sums = match &saved.sync {
        Some(sync) if saved.training => global_grad_sums(&sums, sync),
        _ => sums,
    };
    let coefs: Vec<(f32, f32, f32)> = (0..c)
        .map(|ch| {
            let (wc, mean, invstd) = (
                w.as_ref().map_or(1.0, |w| w[ch]),
                saved.mean[ch],
                saved.invstd[ch],
            );
            if saved.training {
                let (sg, sgx) = (sums[ch].0 * wc as f64, sums[ch].1 * wc as f64);
                kernels::batch_stats_grad_coefs(wc, mean, invstd, sg, sgx, saved.count)
            } else {
                (wc * invstd, 0.0, 0.0)
            }
        })
        .collect();
    let mut grads = Vec::new();
    if input.requires_grad() {
        let mut grad_x = Vec::with_capacity(x.len());
        grad_x.spare_capacity_mut()[..x.len()]
            .par_chunks_mut(len)
            .zip(x.par_chunks(len).zip(dy.par_chunks(len)))
            .enumerate()
            .with_min_len(MIN_TASK_LEN / len + 1)
            .for_each(|(i, (dx, (x, g)))| kernels::grad_map(g, x, dx, coefs[i % c]));
        // SAFETY: the planes cover the buffer, and `grad_map` writes every element of its plane.
        unsafe { grad_x.set_len(x.len()) };
        grads.push((input.clone(), grad_x));
    }
    if let Some(w) = weight.filter(|w| w.requires_grad()) {
        grads.push((w.clone(), grad_w));
    }
    if let Some(b) = bias.filter(|b| b.requires_grad()) {
        grads.push((b.clone(), grad_b));
    }
    if let (Some(r), Some(g)) = (residual.filter(|r| r.requires_grad()), masked) {
        grads.push((r.clone(), g));
    }
    grads
}

/// `g` where the ReLU output `y` is positive, else 0, in a new buffer (parallel over `len`-long
/// planes).
fn relu_masked(g: &[f32], y: &[f32], len: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(g.len());
    out.spare_capacity_mut()[..g.len()]
        .par_chunks_mut(len)
        .zip(g.par_chunks(len).zip(y.par_chunks(len)))
        .with_min_len(MIN_TASK_LEN / len + 1)
        .for_each(|(o, (g, y))| kernels::relu_mask_into(g, y, o));
    // SAFETY: the planes cover the buffer, and `relu_mask_into` writes every element of its plane.
    unsafe { out.set_len(g.len()) };
    out
}

/// The per-channel `(Σg, Σg·(x − mean))` of all replicas, as this replica must use them: each
/// replica's gradient will be weighted by its share of the global batch, so its sums enter weighted
/// by that share, and the total is divided by this replica's share again.
fn global_grad_sums(local: &[(f64, f64)], sync: &SyncSaved) -> Vec<(f64, f64)> {
    let c = local.len();
    let mut values: Vec<f64> = local.iter().map(|s| s.0 * sync.share).collect();
    values.extend(local.iter().map(|s| s.1 * sync.share));
    sync.reducer.all_sum(&mut values);
    (0..c)
        .map(|ch| (values[ch] / sync.share, values[c + ch] / sync.share))
        .collect()
}
