use super::{Forward, Inputs};
use convkit_tensor::ops::adaptive_pool::{adaptive_avg_pool2d, adaptive_max_pool2d};
use convkit_tensor::ops::pool::{avg_pool2d, max_pool2d, Pool2dConfig};
use convkit_testkit::Case;

/// Pooling.
pub fn forward(case: &Case, inputs: &Inputs) -> Forward {
    let input = inputs.get("input")?;
    Some(match case.op() {
        "max_pool2d" | "avg_pool2d" => {
            let kernel = case.pair("kernel", 1);
            let config = Pool2dConfig {
                kernel,
                stride: if case.config["stride"].is_null() {
                    kernel
                } else {
                    case.pair("stride", 1)
                },
                padding: case.pair("padding", 0),
                ceil_mode: case.bool("ceil_mode").unwrap_or(false),
                count_include_pad: case.bool("count_include_pad").unwrap_or(true),
            };
            if case.op() == "max_pool2d" {
                max_pool2d(input, &config)
            } else {
                avg_pool2d(input, &config)
            }
        }
        "adaptive_avg_pool2d" => adaptive_avg_pool2d(input, case.pair("output_size", 1)),
        "adaptive_max_pool2d" => adaptive_max_pool2d(input, case.pair("output_size", 1)),
        _ => return None,
    })
}
