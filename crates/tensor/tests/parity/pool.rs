use super::{Extra, Forward, Inputs};
use convkit_tensor::ops::adaptive_pool::{adaptive_avg_pool2d, adaptive_max_pool2d};
use convkit_tensor::ops::blur_pool::blur_pool2d;
use convkit_tensor::ops::pool::{
    avg_pool2d, channel_max_pool, max_pool2d, max_pool2d_with_indices, Pool2dConfig,
};
use convkit_tensor::ops::unpool::max_unpool2d;
use convkit_tensor::{no_grad, Tensor};
use convkit_testkit::Case;

/// The pooling window a case's config describes (stride defaulting to the kernel).
fn pool_config(case: &Case) -> Pool2dConfig {
    let kernel = case.pair("kernel", 1);
    Pool2dConfig {
        kernel,
        stride: if case.config["stride"].is_null() {
            kernel
        } else {
            case.pair("stride", 1)
        },
        padding: case.pair("padding", 0),
        ceil_mode: case.bool("ceil_mode").unwrap_or(false),
        count_include_pad: case.bool("count_include_pad").unwrap_or(true),
    }
}

/// Pooling. Max-unpooling pools the case's `pool_input` with convkit's max_pool2d; its indices are
/// checked against PyTorch's (an extra check) and then unpool the case's input.
pub fn forward(case: &Case, inputs: &Inputs, extra: &mut Extra) -> Forward {
    let input = inputs.get("input")?;
    let size = |key: &str| case.config[key].as_u64().map(|v| v as usize);
    Some(match case.op() {
        "max_unpool2d" => {
            let config = pool_config(case);
            let pool_input = case.tensor("pool_input").ok()?;
            let (_, indices) = match no_grad(|| max_pool2d_with_indices(&pool_input, &config)) {
                Ok(r) => r,
                Err(e) => return Some(Err(e)),
            };
            let as_f32: Vec<f32> = indices.indices().iter().map(|&i| i as f32).collect();
            let actual = Tensor::from_vec(as_f32, indices.shape().clone()).ok()?;
            extra.push(("indices".into(), actual, case.tensor("indices").ok()?));
            let output_size = if case.config["output_size"].is_null() {
                // PyTorch's default: (in − 1)·stride − 2·padding + kernel.
                let d = input.dims();
                let axis = |len: usize, k: usize, s: usize, p: usize| (len - 1) * s + k - 2 * p;
                (
                    axis(d[2], config.kernel.0, config.stride.0, config.padding.0),
                    axis(d[3], config.kernel.1, config.stride.1, config.padding.1),
                )
            } else {
                case.pair("output_size", 1)
            };
            max_unpool2d(input, &indices, output_size)
        }
        "blur_pool2d" => blur_pool2d(input, size("filt_size")?, size("stride")?, size("padding")?),
        "channel_max_pool" => channel_max_pool(input, size("pool_size")?),
        "max_pool2d" | "avg_pool2d" => {
            let config = pool_config(case);
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
