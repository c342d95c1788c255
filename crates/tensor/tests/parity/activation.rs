use super::{Forward, Inputs};
use convkit_tensor::{Activation, GeluApproximation};
use convkit_testkit::Case;

/// The point-wise activation a case's op and config name, or None when convkit lacks it.
fn pointwise(case: &Case) -> Option<Activation> {
    Some(match case.op() {
        "relu" => Activation::Relu,
        "relu6" => Activation::Relu6,
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "silu" => Activation::Silu,
        "hardswish" => Activation::Hardswish,
        "identity" => Activation::Identity,
        "leaky_relu" => Activation::LeakyRelu {
            negative_slope: case.f32("negative_slope").unwrap_or(0.01),
        },
        "elu" => Activation::Elu {
            alpha: case.f32("alpha").unwrap_or(1.0),
        },
        "gelu" => Activation::Gelu {
            approximate: match case.config["approximate"].as_str().unwrap_or("none") {
                "none" => GeluApproximation::Exact,
                "tanh" => GeluApproximation::Tanh,
                _ => return None,
            },
        },
        "softplus" => Activation::Softplus {
            beta: case.f32("beta").unwrap_or(1.0),
            threshold: case.f32("threshold").unwrap_or(20.0),
        },
        _ => return None,
    })
}

/// Activations (inputs optionally scaled by `input_scale`), PReLU, softmax and log-softmax.
pub fn forward(case: &Case, inputs: &Inputs) -> Forward {
    let input = inputs.get("input")?;
    let scaled = match case.f32("input_scale") {
        Some(scale) => input.mul_scalar(scale),
        None => input.clone(),
    };
    let dim = case.config["dim"].as_u64().unwrap_or(1) as usize;
    if let Some(op) = pointwise(case) {
        return Some(Ok(scaled.activation(op)));
    }
    Some(match case.op() {
        "prelu" => scaled.prelu(inputs.get("weight")?),
        "softmax" => scaled.softmax(dim),
        "log_softmax" => scaled.log_softmax(dim),
        _ => return None,
    })
}
