//! BatchNorm1d/2d layers against PyTorch: the batch-norm cases of `norm.safetensors`, dispatched on
//! each case's `op` and settings (other norms are reported as skipped): output, running statistics
//! after the step, and the gradients of input, weight and bias.
mod common;

use common::{assert_close, fixture_dir, Fixture};
use convkit_nn::layers::{BatchNorm1d, BatchNorm2d, BatchNormConfig};
use convkit_nn::{Mode, Module};
use safetensors::SafeTensors;
use serde_json::{Map, Value};

#[test]
fn batch_norm_layers_match_pytorch() {
    let bytes = std::fs::read(fixture_dir().join("norm.safetensors")).expect("norm fixture");
    let (_, header) = SafeTensors::read_metadata(&bytes).expect("valid header");
    let cases: Map<String, Value> =
        serde_json::from_str(&header.metadata().as_ref().expect("metadata")["cases"])
            .expect("cases JSON");
    let fixture = Fixture::open("norm.safetensors");
    let mut ran = 0;
    for (name, case) in &cases {
        let get = |role: &str| fixture.get(&format!("{name}.{role}"));
        let has = |role: &str| fixture.has(&format!("{name}.{role}"));
        let config = BatchNormConfig {
            eps: case["eps"].as_f64().unwrap_or(1e-5) as f32,
            momentum: case["momentum"].as_f64().unwrap_or(0.1) as f32,
            affine: has("weight"),
        };
        let input = get("input");
        let channels = input.dims()[1];
        let layer: Box<dyn Module> = match case["op"].as_str() {
            Some("batch_norm1d") => Box::new(BatchNorm1d::new(channels, config).unwrap()),
            Some("batch_norm2d") => Box::new(BatchNorm2d::new(channels, config).unwrap()),
            other => {
                eprintln!("skipped norm case {name}: {other:?} is not a batch norm layer");
                continue;
            }
        };
        for (tensor, source) in [
            ("weight", "weight"),
            ("bias", "bias"),
            ("running_mean", "running_mean_before"),
            ("running_var", "running_var_before"),
        ] {
            if has(source) {
                let (_, t) = layer
                    .named_tensors()
                    .into_iter()
                    .find(|(n, _)| n == tensor)
                    .unwrap();
                t.data_mut().copy_from_slice(&get(source).data());
            }
        }
        let mode = if case["training"].as_bool().unwrap_or(true) {
            Mode::Train
        } else {
            Mode::Eval
        };
        let input = input.with_grad();
        let output = layer.forward(&input, mode).unwrap();
        assert_close(
            &format!("{name} output"),
            &output.to_vec(),
            &get("output").to_vec(),
            1e-5,
            1e-4,
        );
        for (tensor, expected) in [
            ("running_mean", "running_mean_after"),
            ("running_var", "running_var_after"),
        ] {
            if has(expected) {
                let (_, t) = layer
                    .buffers()
                    .into_iter()
                    .find(|(n, _)| n == tensor)
                    .unwrap();
                assert_close(
                    &format!("{name} {tensor}"),
                    &t.to_vec(),
                    &get(expected).to_vec(),
                    1e-6,
                    1e-5,
                );
            }
        }
        output
            .mul(&get("grad_out"))
            .unwrap()
            .sum()
            .backward()
            .unwrap();
        let params = layer.parameters();
        let grads = params
            .iter()
            .map(|(n, t)| (n.as_str(), t.grad()))
            .chain([("input", input.grad())]);
        for (role, grad) in grads {
            let grad = grad.unwrap_or_else(|| panic!("{name}: no gradient for {role}"));
            assert_close(
                &format!("{name} grad_{role}"),
                &grad.to_vec(),
                &get(&format!("grad_{role}")).to_vec(),
                1e-5,
                1e-3,
            );
        }
        ran += 1;
    }
    assert!(ran >= 3, "only {ran} batch-norm cases ran");
}
