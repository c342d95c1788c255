//! Classification losses over scores `[N, C, *]` (class dim 1; `*` = extra positions such as pixels):
//! cross-entropy from logits, NLL from log-probabilities, and the multiclass hinge (SVM) loss in the
//! course's form and PyTorch's `MultiMarginLoss` form.
use super::{finish, grad_needed, LossParts, Reduction};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// The target of a classification loss.
#[derive(Clone, Copy, Debug)]
pub enum ClassTarget<'a> {
    /// One class index per sample and position: `N·(product of *)` of them, row-major over `[N, *]`.
    Indices(&'a [usize]),
    /// A probability for every class, with the scores' shape `[N, C, *]` (soft targets).
    Probabilities(&'a Tensor),
}

/// Settings of [`cross_entropy`] and [`nll_loss`] (PyTorch's keyword arguments and defaults).
#[derive(Clone, Debug, Default)]
pub struct CrossEntropyConfig {
    /// A rescaling weight per class `[C]` (a constant: no gradient flows to it).
    pub weight: Option<Tensor>,
    pub reduction: Reduction,
    /// ε in `[0, 1]`: the target becomes `(1 − ε)·target + ε/C` (uniform over classes).
    pub label_smoothing: f32,
    /// With class-index targets: terms whose target is this index contribute nothing, to the loss
    /// or to the mean's divisor (PyTorch's `ignore_index`, there −100 by default; here may be ≥ C).
    pub ignore_index: Option<usize>,
}

/// Settings of [`multi_margin_loss`] (PyTorch's `MultiMarginLoss` arguments and defaults).
#[derive(Clone, Debug)]
pub struct MultiMarginConfig {
    /// 1 or 2: the power of each hinge term.
    pub p: u32,
    pub margin: f32,
    /// A weight per class `[C]`, multiplying the terms of samples of that class (a constant).
    pub weight: Option<Tensor>,
    pub reduction: Reduction,
}

impl Default for MultiMarginConfig {
    fn default() -> Self {
        MultiMarginConfig {
            p: 1,
            margin: 1.0,
            weight: None,
            reduction: Reduction::Mean,
        }
    }
}

/// Cross-entropy between logits `[N, C, *]` and a target, PyTorch's `F.cross_entropy`: NLL of the
/// log-softmax over dim 1, `loss = −Σ_c w_c·q_c·log softmax(x)_c` with `q` the (smoothed) target.
///
/// With class indices y, the mean divides by `Σ w[y]` over the terms (PyTorch's weighted mean), the
/// smoothing term included; with probabilities, by the number of terms `N·(product of *)`.
///
/// # Shapes
/// logits `[N, C, *]`; target indices `N·(product of *)`, or probabilities `[N, C, *]` →
/// `[N, *]` with [`Reduction::None`], else a scalar.
///
/// # Errors
/// Logits with fewer than 2 dims; a target count, probability shape or weight length that doesn't
/// fit; a class index not below C; a smoothing outside `[0, 1]`.
pub fn cross_entropy(
    logits: &Tensor,
    target: ClassTarget,
    config: &CrossEntropyConfig,
) -> Result<Tensor> {
    check_layout("cross_entropy", logits)?;
    nll("cross_entropy", &logits.log_softmax(1)?, target, config)
}

/// Negative log-likelihood of log-probabilities `[N, C, *]`, PyTorch's `F.nll_loss`:
/// `loss = −w[y]·x[y]`, the mean divided by `Σ w[y]`. It also takes the soft targets and label
/// smoothing of [`cross_entropy`] (which is this on the log-softmax), beyond what PyTorch's allows.
///
/// # Shapes
/// As [`cross_entropy`].
///
/// # Errors
/// As [`cross_entropy`].
pub fn nll_loss(
    log_probs: &Tensor,
    target: ClassTarget,
    config: &CrossEntropyConfig,
) -> Result<Tensor> {
    nll("nll_loss", log_probs, target, config)
}

impl Tensor {
    /// Mean cross-entropy between logits `[N, C, *]` and class indices (no weights, no smoothing).
    ///
    /// # Errors
    /// As [`cross_entropy`].
    pub fn cross_entropy(&self, targets: &[usize]) -> Result<Tensor> {
        cross_entropy(
            self,
            ClassTarget::Indices(targets),
            &CrossEntropyConfig::default(),
        )
    }
}

/// The scores as (N, C, inner), checked to have a class dim.
fn check_layout(op: &'static str, scores: &Tensor) -> Result<(usize, usize, usize)> {
    if scores.rank() < 2 {
        return Err(Error::shape(
            op,
            format!(
                "scores must be [N, C, *] (class dim 1), got {}",
                scores.shape()
            ),
        ));
    }
    Ok(scores.shape().split_at_dim(1))
}

/// The `[N, *]` shape of unreduced class-loss values.
fn unreduced_shape(scores: &Tensor) -> Shape {
    let mut dims = scores.dims().to_vec();
    dims.remove(1);
    Shape::from(dims)
}

/// Class indices, checked against the number of terms and classes.
fn check_indices(
    op: &'static str,
    scores: &Tensor,
    indices: &[usize],
    ignore_index: Option<usize>,
) -> Result<()> {
    let (n, classes, inner) = scores.shape().split_at_dim(1);
    if indices.len() != n * inner {
        return Err(Error::shape(
            op,
            format!(
                "{} targets for scores of shape {} (expected {})",
                indices.len(),
                scores.shape(),
                n * inner
            ),
        ));
    }
    if let Some(&bad) = indices
        .iter()
        .find(|&&t| t >= classes && Some(t) != ignore_index)
    {
        return Err(Error::shape(
            op,
            format!("target class {bad} is out of range for {classes} classes"),
        ));
    }
    Ok(())
}

/// The class weights as values (all 1 without weights), checked to have one per class.
fn class_weights(op: &'static str, weight: Option<&Tensor>, classes: usize) -> Result<Vec<f32>> {
    match weight {
        None => Ok(vec![1.0; classes]),
        Some(w) if w.rank() == 1 && w.numel() == classes => Ok(w.to_vec()),
        Some(w) => Err(Error::shape(
            op,
            format!("class weight {} must be [C] with C = {classes}", w.shape()),
        )),
    }
}

/// `loss(o, i) = −Σ_c a(o, c, i)·x(o, c, i)`, with `a = w_c·((1 − ε)·q_c + ε/C)` for the target
/// distribution q (one-hot for indices).
fn nll(
    op: &'static str,
    log_probs: &Tensor,
    target: ClassTarget,
    config: &CrossEntropyConfig,
) -> Result<Tensor> {
    let (n, classes, inner) = check_layout(op, log_probs)?;
    let w = class_weights(op, config.weight.as_ref(), classes)?;
    let eps = config.label_smoothing;
    if !(0.0..=1.0).contains(&eps) {
        return Err(Error::config(
            op,
            format!("label_smoothing must be in [0, 1], got {eps}"),
        ));
    }
    let probs = match target {
        ClassTarget::Indices(indices) => {
            check_indices(op, log_probs, indices, config.ignore_index)?;
            None
        }
        ClassTarget::Probabilities(p) => {
            if p.shape() != log_probs.shape() {
                return Err(Error::shape(
                    op,
                    format!(
                        "target probabilities {} must have the scores' shape {}",
                        p.shape(),
                        log_probs.shape()
                    ),
                ));
            }
            Some(p)
        }
    };
    let x = log_probs.data();
    let probs_data = probs.map(|p| p.data());
    let smooth = eps / classes as f32;
    // Element e = (o, c, i) feeds loss term o·inner + i.
    let term = |e: usize| (e / (classes * inner)) * inner + e % inner;
    let ignored = |term: usize| match target {
        ClassTarget::Indices(y) => Some(y[term]) == config.ignore_index,
        ClassTarget::Probabilities(_) => false,
    };
    let coeffs: Vec<f32> = (0..x.len())
        .map(|e| {
            if ignored(term(e)) {
                return 0.0;
            }
            let c = (e / inner) % classes;
            let q = match (&probs_data, target) {
                (Some(p), _) => p[e],
                (None, ClassTarget::Indices(y)) => f32::from(y[term(e)] == c),
                (None, ClassTarget::Probabilities(_)) => unreachable!("probs set above"),
            };
            w[c] * ((1.0 - eps) * q + smooth)
        })
        .collect();
    let mean_divisor = match target {
        ClassTarget::Indices(y) => y
            .iter()
            .filter(|&&c| Some(c) != config.ignore_index)
            .map(|&c| w[c] as f64)
            .sum(),
        ClassTarget::Probabilities(_) => (n * inner) as f64,
    };
    let mut values = vec![0.0f64; n * inner];
    for (e, (&a, &xe)) in coeffs.iter().zip(x.iter()).enumerate() {
        // 0·log(0) counts as 0, as in PyTorch (a zero target probability of an impossible class).
        if a != 0.0 {
            values[term(e)] -= a as f64 * xe as f64;
        }
    }
    let d_target = if grad_needed(&[probs]) {
        // d loss / d q = −w_c·(1 − ε)·x.
        x.iter()
            .enumerate()
            .map(|(e, &xe)| -w[(e / inner) % classes] * (1.0 - eps) * xe)
            .collect()
    } else {
        Vec::new()
    };
    drop(probs_data);
    drop(x);
    let d_input = if grad_needed(&[Some(log_probs)]) {
        coeffs.iter().map(|a| -a).collect()
    } else {
        Vec::new()
    };
    let parts = LossParts {
        values,
        d_input,
        d_target,
        layout: (n, classes, inner),
        mean_divisor,
    };
    Ok(finish(
        parts,
        config.reduction,
        unreduced_shape(log_probs),
        log_probs,
        probs,
    ))
}

/// PyTorch's `MultiMarginLoss` on scores `[N, C]` and class indices:
/// `loss_n = Σ_{j≠y} w[y]·max(0, margin − x_y + x_j)^p / C` — note the division by the class count C.
/// The mean divides by N (weights do not enter the divisor).
///
/// # Shapes
/// scores `[N, C]`, `N` targets → `[N]` with [`Reduction::None`], else a scalar.
///
/// # Errors
/// Scores that are not 2-D, a target count or weight length that doesn't fit, a class index not
/// below C, `p` other than 1 or 2.
pub fn multi_margin_loss(
    scores: &Tensor,
    targets: &[usize],
    config: &MultiMarginConfig,
) -> Result<Tensor> {
    let op = "multi_margin_loss";
    if config.p != 1 && config.p != 2 {
        return Err(Error::config(
            op,
            format!("p must be 1 or 2, got {}", config.p),
        ));
    }
    let weight = class_weights(
        op,
        config.weight.as_ref(),
        scores.dims().get(1).copied().unwrap_or(0),
    )?;
    hinge(op, scores, targets, config, &weight, true)
}

/// The multiclass SVM (hinge) loss in the course's form (CS231n):
/// `loss_n = Σ_{j≠y} max(0, s_j − s_y + margin)`, summed over the wrong classes without dividing by
/// the class count, so it equals C × PyTorch's [`multi_margin_loss`] with `p = 1`. The mean divides by N.
///
/// # Shapes
/// As [`multi_margin_loss`].
///
/// # Errors
/// As [`multi_margin_loss`].
pub fn multiclass_hinge_loss(
    scores: &Tensor,
    targets: &[usize],
    margin: f32,
    reduction: Reduction,
) -> Result<Tensor> {
    let config = MultiMarginConfig {
        margin,
        reduction,
        ..Default::default()
    };
    let classes = scores.dims().get(1).copied().unwrap_or(0);
    hinge(
        "multiclass_hinge_loss",
        scores,
        targets,
        &config,
        &vec![1.0; classes],
        false,
    )
}

/// Both hinge forms: `Σ_{j≠y} w[y]·max(0, margin − x_y + x_j)^p`, divided by C when `per_class`.
fn hinge(
    op: &'static str,
    scores: &Tensor,
    targets: &[usize],
    config: &MultiMarginConfig,
    weight: &[f32],
    per_class: bool,
) -> Result<Tensor> {
    if scores.rank() != 2 {
        return Err(Error::shape(
            op,
            format!("scores must be [N, C], got {}", scores.shape()),
        ));
    }
    check_indices(op, scores, targets, None)?;
    let (n, classes) = (scores.dims()[0], scores.dims()[1]);
    let x = scores.data();
    let with_grad = grad_needed(&[Some(scores)]);
    let mut values = vec![0.0f64; n];
    let mut d_input = if with_grad {
        vec![0.0f32; x.len()]
    } else {
        Vec::new()
    };
    let divisor = if per_class { classes as f32 } else { 1.0 };
    for (row, &y) in targets.iter().enumerate() {
        let s = &x[row * classes..(row + 1) * classes];
        let scale = weight[y] / divisor;
        for j in (0..classes).filter(|&j| j != y) {
            let z = config.margin - s[y] + s[j];
            if z <= 0.0 {
                continue;
            }
            let (h, dh) = if config.p == 1 {
                (z, 1.0)
            } else {
                (z * z, 2.0 * z)
            };
            values[row] += (scale * h) as f64;
            if with_grad {
                d_input[row * classes + j] += scale * dh;
                d_input[row * classes + y] -= scale * dh;
            }
        }
    }
    drop(x);
    let parts = LossParts {
        values,
        d_input,
        d_target: Vec::new(),
        layout: (n, classes, 1),
        mean_divisor: n as f64,
    };
    Ok(finish(
        parts,
        config.reduction,
        Shape::new(&[n]),
        scores,
        None,
    ))
}
