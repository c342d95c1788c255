use super::{Forward, Inputs};
use convkit_tensor::linear;
use convkit_tensor::ops::loss::{
    cross_entropy, multi_margin_loss, nll_loss, pointwise_loss, ClassTarget, CrossEntropyConfig,
    MultiMarginConfig, PointwiseLoss, PointwiseLossConfig, Reduction,
};
use convkit_tensor::Tensor;
use convkit_testkit::Case;

fn class_indices(t: &Tensor) -> Vec<usize> {
    t.data().iter().map(|&v| v as usize).collect()
}

/// The case's `reduction` (PyTorch's default `mean` when absent), or None for an unknown one.
fn reduction(case: &Case) -> Option<Reduction> {
    match case.config["reduction"].as_str().unwrap_or("mean") {
        "mean" => Some(Reduction::Mean),
        "sum" => Some(Reduction::Sum),
        "none" => Some(Reduction::None),
        _ => None,
    }
}

/// Cross-entropy and NLL: class indices or (`soft_targets`) probabilities, `class_weights` from the
/// case's `weight` tensor, `label_smoothing`.
fn class_loss(case: &Case, inputs: &Inputs, input: &Tensor) -> Forward {
    let config = CrossEntropyConfig {
        weight: if case.bool("class_weights") == Some(true) {
            Some(inputs.get("weight")?.clone())
        } else {
            None
        },
        reduction: reduction(case)?,
        label_smoothing: case.f32("label_smoothing").unwrap_or(0.0),
        ignore_index: case.config["ignore_index"].as_u64().map(|i| i as usize),
    };
    let target = inputs.get("target")?;
    let indices;
    let target = if case.bool("soft_targets") == Some(true) {
        ClassTarget::Probabilities(target)
    } else {
        indices = class_indices(target);
        ClassTarget::Indices(&indices)
    };
    Some(match case.op() {
        "cross_entropy" => cross_entropy(input, target, &config),
        _ => nll_loss(input, target, &config),
    })
}

/// Losses, and `linear` (which the loss fixture file also holds).
pub fn forward(case: &Case, inputs: &Inputs) -> Forward {
    let input = inputs.get("input")?;
    let pointwise = |kind| {
        let config = PointwiseLossConfig {
            reduction: reduction(case)?,
            pos_weight: case.tensor("pos_weight").ok(),
        };
        Some(pointwise_loss(kind, input, inputs.get("target")?, &config))
    };
    match case.op() {
        "linear" => Some(linear(input, inputs.get("weight")?, inputs.get("bias"))),
        "cross_entropy" | "nll" => class_loss(case, inputs, input),
        "mse" => pointwise(PointwiseLoss::Mse),
        "l1" => pointwise(PointwiseLoss::L1),
        "smooth_l1" => pointwise(PointwiseLoss::SmoothL1 {
            beta: case.f32("beta").unwrap_or(1.0),
        }),
        "bce_with_logits" => pointwise(PointwiseLoss::BceWithLogits),
        "multi_margin" => {
            let config = MultiMarginConfig {
                p: case.config["p"].as_u64().unwrap_or(1) as u32,
                margin: case.f32("margin").unwrap_or(1.0),
                weight: if case.has("weight") {
                    Some(inputs.get("weight")?.clone())
                } else {
                    None
                },
                reduction: reduction(case)?,
            };
            let targets = class_indices(inputs.get("target")?);
            Some(multi_margin_loss(input, &targets, &config))
        }
        _ => None,
    }
}
