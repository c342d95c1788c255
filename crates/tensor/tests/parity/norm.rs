use super::{Extra, Forward, Inputs};
use convkit_tensor::{
    batch_norm, group_norm, instance_norm, layer_norm, local_response_norm, BatchNormConfig,
    InstanceNormConfig, LrnParams, Tensor,
};
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
            let tracked = case.bool("track_running_stats").unwrap_or(true);
            let out = batch_norm(
                input,
                tracked.then_some(&running_mean),
                tracked.then_some(&running_var),
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
        "group_norm" => group_norm(
            input,
            case.config["groups"].as_u64()? as usize,
            inputs.get("weight"),
            inputs.get("bias"),
            case.f32("eps").unwrap_or(1e-5),
        ),
        "layer_norm" => {
            let shape: Vec<usize> = case.config["normalized_shape"]
                .as_array()?
                .iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect::<Option<_>>()?;
            layer_norm(
                input,
                &shape,
                inputs.get("weight"),
                inputs.get("bias"),
                case.f32("eps").unwrap_or(1e-5),
            )
        }
        // Running statistics (track_running_stats) are checked when the case holds them.
        "instance_norm2d" => {
            let channels = input.dims()[1];
            let running =
                ["running_mean_before", "running_var_before"].map(|r| case.tensor(r).ok());
            let config = InstanceNormConfig {
                eps: case.f32("eps").unwrap_or(1e-5),
                momentum: case.f32("momentum").unwrap_or(0.1),
                use_input_stats: case.bool("training").unwrap_or(true),
            };
            let out = instance_norm(
                input,
                running[0].as_ref(),
                running[1].as_ref(),
                inputs.get("weight"),
                inputs.get("bias"),
                config,
            );
            for (name, actual) in ["running_mean_after", "running_var_after"]
                .iter()
                .zip(&running)
            {
                if let (Ok(expected), Some(actual)) = (case.tensor(name), actual) {
                    debug_assert_eq!(actual.numel(), channels);
                    extra.push((name.to_string(), actual.clone(), expected));
                }
            }
            out
        }
        "local_response_norm" => local_response_norm(
            input,
            &LrnParams {
                size: case.config["size"].as_u64()? as usize,
                alpha: case.f32("alpha").unwrap_or(1e-4),
                beta: case.f32("beta").unwrap_or(0.75),
                k: case.f32("k").unwrap_or(1.0),
            },
        ),
        _ => return None,
    })
}
