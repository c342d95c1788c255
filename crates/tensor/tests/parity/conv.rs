use super::{Forward, Inputs};
use convkit_tensor::ops::conv::{
    conv1d, conv2d, conv3d, conv_transpose2d, Conv1dConfig, Conv2dConfig, Conv3dConfig,
    ConvTranspose2dConfig,
};
use convkit_testkit::Case;
use serde_json::Value;

/// A config value PyTorch gives as an int or a (depth, height, width) triple.
fn triple(case: &Case, key: &str, default: usize) -> (usize, usize, usize) {
    let v = |x: &Value| x.as_u64().map_or(default, |x| x as usize);
    match &case.config[key] {
        Value::Array(a) if a.len() == 3 => (v(&a[0]), v(&a[1]), v(&a[2])),
        Value::Null => (default, default, default),
        x => (v(x), v(x), v(x)),
    }
}

/// A config value that must be a single int (1-D ops).
fn single(case: &Case, key: &str, default: usize) -> usize {
    case.config[key].as_u64().map_or(default, |x| x as usize)
}

fn groups(case: &Case) -> usize {
    single(case, "groups", 1)
}

/// Convolutions.
pub fn forward(case: &Case, inputs: &Inputs) -> Forward {
    let input = inputs.get("input")?;
    let (weight, bias) = (inputs.get("weight")?, inputs.get("bias"));
    Some(match case.op() {
        "conv1d" => {
            let config = Conv1dConfig {
                stride: single(case, "stride", 1),
                padding: single(case, "padding", 0),
                dilation: single(case, "dilation", 1),
                groups: groups(case),
            };
            conv1d(input, weight, bias, &config)
        }
        "conv2d" => {
            let config = Conv2dConfig {
                stride: case.pair("stride", 1),
                padding: case.pair("padding", 0),
                dilation: case.pair("dilation", 1),
                groups: groups(case),
            };
            conv2d(input, weight, bias, &config)
        }
        "conv3d" => {
            let config = Conv3dConfig {
                stride: triple(case, "stride", 1),
                padding: triple(case, "padding", 0),
                dilation: triple(case, "dilation", 1),
                groups: groups(case),
            };
            conv3d(input, weight, bias, &config)
        }
        "conv_transpose2d" => {
            let config = ConvTranspose2dConfig {
                stride: case.pair("stride", 1),
                padding: case.pair("padding", 0),
                output_padding: case.pair("output_padding", 0),
                dilation: case.pair("dilation", 1),
                groups: groups(case),
            };
            conv_transpose2d(input, weight, bias, &config)
        }
        _ => return None,
    })
}

/// Convolution settings beyond the shared file (tests/fixtures/gen_extra_conv.py): conv1d groups,
/// conv3d dilation and groups, depthwise with a channel multiplier, grouped 1×1, transposed conv
/// with groups, dilation and output_padding ≥ stride.
#[test]
fn extra_conv_fixtures() {
    super::run_own_file("extra_conv.safetensors");
}
