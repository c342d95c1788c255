//! Data-driven parity with PyTorch: every case of every op fixture file is run through the op its
//! metadata names, with the config it gives; output and every gradient the file holds are compared.
//! Ops (or op settings) convkit doesn't implement are reported as skipped by name, never passed.
//! `CONVKIT_FIXTURES=DIR` runs the same tests on another directory of files in this format.
use convkit_tensor::ops::conv::{conv2d, Conv2dConfig};
use convkit_tensor::ops::pool::{avg_pool2d, global_avg_pool2d, max_pool2d, Pool2dConfig};
use convkit_tensor::{batch_norm, linear, Activation, BatchNormConfig, Tensor};
use convkit_testkit::{assert_close, Case, TensorFile};
use std::collections::BTreeMap;

const FORWARD_TOL: (f32, f32) = (1e-5, 1e-4);
const GRAD_TOL: (f32, f32) = (1e-5, 1e-3);

/// The roles that can be differentiable inputs of an op.
const INPUT_ROLES: [&str; 4] = ["input", "weight", "bias", "target"];

enum Outcome {
    Passed,
    Skipped(String),
}

/// The op's result, or None when convkit doesn't implement this op or setting.
type Forward = Option<convkit_tensor::Result<Tensor>>;

fn class_indices(t: &Tensor) -> Vec<usize> {
    t.data().iter().map(|&v| v as usize).collect()
}

/// Runs the op a case names on its inputs. Also returns extra (name, actual, expected) checks.
fn forward(
    case: &Case,
    inputs: &BTreeMap<&str, Tensor>,
    extra: &mut Vec<(String, Tensor, Tensor)>,
) -> Forward {
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
        "batch_norm1d" | "batch_norm2d" => {
            let channels = input.dims()[1];
            let before = |role: &str| {
                case.tensor(role)
                    .unwrap_or_else(|_| Tensor::zeros([channels]))
            };
            let running_mean = if case.has("running_mean_before") {
                before("running_mean_before")
            } else {
                Tensor::zeros([channels])
            };
            let running_var = if case.has("running_var_before") {
                before("running_var_before")
            } else {
                Tensor::ones([channels])
            };
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
        "conv2d" => {
            let config = Conv2dConfig {
                stride: case.pair("stride", 1),
                padding: case.pair("padding", 0),
                dilation: case.pair("dilation", 1),
                groups: case.config["groups"].as_u64().unwrap_or(1) as usize,
            };
            conv2d(input, inputs.get("weight")?, inputs.get("bias"), &config)
        }
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
        "adaptive_avg_pool2d" if case.pair("output_size", 0) == (1, 1) => global_avg_pool2d(input),
        _ => return None,
    })
}

fn run_case(case: &Case) -> Result<Outcome, String> {
    let mut inputs = BTreeMap::new();
    for role in INPUT_ROLES {
        if case.has(role) {
            let t = case.tensor(role)?;
            t.set_requires_grad(case.has(&format!("grad_{role}")));
            inputs.insert(role, t);
        }
    }
    let mut extra = Vec::new();
    let Some(output) = forward(case, &inputs, &mut extra) else {
        return Ok(Outcome::Skipped(format!("{} ({})", case.op(), case.name)));
    };
    let output = output.map_err(|e| format!("{}: {e}", case.name))?;
    let (atol, rtol) = FORWARD_TOL;
    assert_close(
        &format!("{} output", case.name),
        &output.to_vec(),
        &case.tensor("output")?.to_vec(),
        atol,
        rtol,
    )?;
    for (name, actual, expected) in extra {
        assert_close(
            &format!("{} {name}", case.name),
            &actual.to_vec(),
            &expected.to_vec(),
            atol,
            rtol,
        )?;
    }
    if case.has("grad_out") {
        let grad_out = case.tensor("grad_out")?;
        let grad_out = grad_out.reshape(output.dims()).map_err(|e| e.to_string())?;
        output
            .mul(&grad_out)
            .map_err(|e| e.to_string())?
            .sum()
            .backward()
            .map_err(|e| e.to_string())?;
        for (role, t) in &inputs {
            if let Ok(expected) = case.tensor(&format!("grad_{role}")) {
                let actual = t
                    .grad()
                    .ok_or_else(|| format!("{}: no gradient reached {role}", case.name))?;
                let (atol, rtol) = GRAD_TOL;
                assert_close(
                    &format!("{} grad_{role}", case.name),
                    &actual.to_vec(),
                    &expected.to_vec(),
                    atol,
                    rtol,
                )?;
            }
        }
    }
    Ok(Outcome::Passed)
}

/// Runs every case of one fixture file; fails listing every mismatch, prints the skipped ops.
fn run_file(file_name: &str) {
    let file = TensorFile::load(file_name).unwrap();
    let cases = file.cases().unwrap();
    assert!(!cases.is_empty(), "{file_name} lists no cases");
    let (mut passed, mut skipped, mut failures) = (0, Vec::new(), Vec::new());
    for case in &cases {
        match run_case(case) {
            Ok(Outcome::Passed) => passed += 1,
            Ok(Outcome::Skipped(what)) => skipped.push(what),
            Err(e) => failures.push(e),
        }
    }
    eprintln!(
        "{file_name}: {passed} passed, {} skipped: {}",
        skipped.len(),
        skipped.join(", ")
    );
    assert!(
        failures.is_empty(),
        "{file_name}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(passed > 0, "{file_name}: no case ran");
}

#[test]
fn activation_fixtures() {
    run_file("activation.safetensors");
}

#[test]
fn loss_fixtures() {
    run_file("loss.safetensors");
}

#[test]
fn norm_fixtures() {
    run_file("norm.safetensors");
}

#[test]
fn conv_fixtures() {
    run_file("conv.safetensors");
}

#[test]
fn pool_fixtures() {
    run_file("pool.safetensors");
}
