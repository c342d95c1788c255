use super::{Extra, Forward, Inputs};
use convkit_tensor::{batch_norm, BatchNormConfig, Tensor};
use convkit_testkit::Case;

/// Normalisation layers; running statistics after the step are extra checks.
pub fn forward(case: &Case, inputs: &Inputs, extra: &mut Extra) -> Forward {
    let input = inputs.get("input")?;
    Some(match case.op() {
        "batch_norm1d" | "batch_norm2d" => {
            let channels = input.dims()[1];
            let before = |role: &str, default: fn([usize; 1]) -> Tensor| {
                case.tensor(role).unwrap_or_else(|_| default([channels]))
            };
            let running_mean = before("running_mean_before", Tensor::zeros);
            let running_var = before("running_var_before", Tensor::ones);
            let config = BatchNormConfig {
                eps: case.f32("eps").unwrap_or(1e-5),
                momentum: case.f32("momentum").unwrap_or(0.1),
                training: case.bool("training").unwrap_or(true),
            };
            let out = batch_norm(
                input,
                Some(&running_mean),
                Some(&running_var),
                inputs.get("weight"),
                inputs.get("bias"),
                config,
            );
            for (name, actual) in [
                ("running_mean_after", running_mean),
                ("running_var_after", running_var),
            ] {
                if let Ok(expected) = case.tensor(name) {
                    extra.push((name.to_string(), actual, expected));
                }
            }
            out
        }
        _ => return None,
    })
}
