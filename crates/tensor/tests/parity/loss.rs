use super::{Forward, Inputs};
use convkit_tensor::{linear, Tensor};
use convkit_testkit::Case;

fn class_indices(t: &Tensor) -> Vec<usize> {
    t.data().iter().map(|&v| v as usize).collect()
}

/// Losses, and `linear` (which the loss fixture file also holds).
pub fn forward(case: &Case, inputs: &Inputs) -> Forward {
    let input = inputs.get("input")?;
    Some(match case.op() {
        "linear" => linear(input, inputs.get("weight")?, inputs.get("bias")),
        "mse" if case.config["reduction"] == "mean" => input.mse_loss(inputs.get("target")?),
        "cross_entropy" => {
            let plain = ["label_smoothing", "soft_targets", "class_weights"]
                .iter()
                .all(|k| case.config[*k].is_null());
            if !plain {
                return None;
            }
            let targets = class_indices(inputs.get("target")?);
            let loss = input.cross_entropy(&targets);
            match case.config["reduction"].as_str() {
                Some("mean") => loss,
                Some("sum") => loss.map(|l| l.mul_scalar(targets.len() as f32)),
                _ => return None,
            }
        }
        _ => return None,
    })
}
