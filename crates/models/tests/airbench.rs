//! The airbench network against PyTorch (tests/fixtures/airbench.safetensors, made by
//! tests/fixtures/gen_airbench.py at widths 8/16/16): eval and train logits, the running
//! statistics after a train step and the gradients of the summed, label-smoothed loss, with the
//! whitening weight and the norm weights frozen; and airbench94 overfitting a batch.
use convkit_models::{airbench, airbench94, ModelSpec};
use convkit_nn::io::read_safetensors;
use convkit_nn::optim::{Optimizer, Sgd, SgdConfig};
use convkit_nn::torch::import_state_dict;
use convkit_nn::{Mode, Module};
use convkit_tensor::ops::loss::{cross_entropy, ClassTarget, CrossEntropyConfig, Reduction};
use convkit_tensor::{seeded_rng, Tensor};
use convkit_testkit::{assert_close, fixture_dir};
use std::collections::HashMap;

mod zoo_common;
use zoo_common::assert_overfits;

fn fixture() -> HashMap<String, Tensor> {
    let path = fixture_dir().join("airbench.safetensors");
    read_safetensors(&path)
        .unwrap()
        .tensors
        .into_iter()
        .collect()
}

#[test]
fn logits_statistics_and_gradients_match_pytorch() {
    let f = fixture();
    let net = airbench(&ModelSpec::CIFAR, [8, 16, 16], &mut seeded_rng(0)).unwrap();
    let state: Vec<(String, Tensor)> = f
        .iter()
        .filter_map(|(k, t)| Some((k.strip_prefix("state.")?.to_string(), t.clone())))
        .collect();
    import_state_dict(&net, &state, "airbench.safetensors").unwrap();
    let x = &f["input"];
    let close = |what: &str, got: &Tensor, want: &Tensor| {
        assert_eq!(got.dims(), want.dims(), "{what}");
        assert_close(what, &got.to_vec(), &want.to_vec(), 1e-4, 1e-4).unwrap();
    };
    close(
        "eval logits",
        &net.forward(x, Mode::Eval).unwrap(),
        &f["eval_logits"],
    );

    let logits = net.forward(x, Mode::Train).unwrap();
    close("train logits", &logits, &f["train_logits"]);
    for (name, t) in net.buffers() {
        if let Some(want) = f.get(&format!("after.{name}")) {
            close(&name, &t, want);
        }
    }
    let labels: Vec<usize> = f["labels"].to_vec().iter().map(|&l| l as usize).collect();
    let config = CrossEntropyConfig {
        reduction: Reduction::Sum,
        label_smoothing: 0.2,
        ..Default::default()
    };
    cross_entropy(&logits, ClassTarget::Indices(&labels), &config)
        .unwrap()
        .backward()
        .unwrap();
    let mut compared = 0;
    for (name, p) in net.parameters() {
        match f.get(&format!("grad.{name}")) {
            Some(want) => {
                close(&format!("grad of {name}"), &p.grad().unwrap(), want);
                compared += 1;
            }
            None => assert!(p.grad().is_none(), "{name} is frozen in PyTorch"),
        }
    }
    assert_eq!(
        compared, 14,
        "the whitening bias, 6 convs, 6 norm biases and the linear layer"
    );
}

#[test]
fn airbench94_overfits_a_batch() {
    let spec = ModelSpec::CIFAR;
    let model = airbench94(&spec, &mut seeded_rng(1)).unwrap();
    let params = model
        .parameters()
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .collect();
    let config = SgdConfig {
        lr: 0.05,
        momentum: 0.9,
        nesterov: true,
        ..Default::default()
    };
    let mut opt = Sgd::new(params, config).unwrap();
    let opt: &mut dyn Optimizer = &mut opt;
    assert_overfits(&model, opt, &spec, (8, 40), Mode::Train);
}
