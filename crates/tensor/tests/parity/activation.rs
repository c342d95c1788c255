use super::{Forward, Inputs};
use convkit_tensor::Activation;
use convkit_testkit::Case;

/// Activations (inputs optionally scaled by `input_scale`), softmax and log-softmax.
pub fn forward(case: &Case, inputs: &Inputs) -> Forward {
    let input = inputs.get("input")?;
    let scaled = match case.f32("input_scale") {
        Some(scale) => input.mul_scalar(scale),
        None => input.clone(),
    };
    let dim = case.config["dim"].as_u64().unwrap_or(1) as usize;
    Some(match case.op() {
        "relu" => Ok(scaled.relu()),
        "sigmoid" => Ok(scaled.sigmoid()),
        "tanh" => Ok(scaled.tanh()),
        "leaky_relu" => Ok(scaled.activation(Activation::LeakyRelu {
            negative_slope: case.f32("negative_slope")?,
        })),
        "softmax" => scaled.softmax(dim),
        "log_softmax" => scaled.log_softmax(dim),
        _ => return None,
    })
}
