use super::{Forward, Inputs};
use convkit_tensor::ops::conv::{conv2d, Conv2dConfig};
use convkit_testkit::Case;

/// Convolutions.
pub fn forward(case: &Case, inputs: &Inputs) -> Forward {
    let input = inputs.get("input")?;
    Some(match case.op() {
        "conv2d" => {
            let config = Conv2dConfig {
                stride: case.pair("stride", 1),
                padding: case.pair("padding", 0),
                dilation: case.pair("dilation", 1),
                groups: case.config["groups"].as_u64().unwrap_or(1) as usize,
            };
            conv2d(input, inputs.get("weight")?, inputs.get("bias"), &config)
        }
        _ => return None,
    })
}
