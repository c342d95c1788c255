//! BatchNorm1d/2d layers against PyTorch: the batch-norm cases of `norm.safetensors`, dispatched on
//! each case's `op` and settings (other norms are reported as skipped): output, running statistics
//! after the step, and the gradients of input, weight and bias.
use convkit_nn::layers::{BatchNorm1d, BatchNorm2d, BatchNormConfig};
use convkit_nn::{Mode, Module};
use convkit_testkit::{assert_close, TensorFile};

#[test]
fn batch_norm_layers_match_pytorch() {
    let fixture = TensorFile::load("norm.safetensors").unwrap();
    let mut ran = 0;
    for case in fixture.cases().unwrap() {
        let name = &case.name;
        let get = |role: &str| case.tensor(role).unwrap();
        let has = |role: &str| case.has(role);
        let config = BatchNormConfig {
            eps: case.f32("eps").unwrap_or(1e-5),
            momentum: case.f32("momentum").unwrap_or(0.1),
            affine: has("weight"),
            ..Default::default()
        };
        let input = get("input");
        let channels = input.dims()[1];
        let layer: Box<dyn Module> = match case.op() {
            "batch_norm1d" => Box::new(BatchNorm1d::new(channels, config).unwrap()),
            "batch_norm2d" => Box::new(BatchNorm2d::new(channels, config).unwrap()),
            other => {
                eprintln!("skipped norm case {name}: {other} is not a batch norm layer");
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
        let mode = if case.bool("training").unwrap_or(true) {
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
        )
        .unwrap();
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
                )
                .unwrap();
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
            )
            .unwrap();
        }
        ran += 1;
    }
    assert!(ran >= 3, "only {ran} batch-norm cases ran");
}
