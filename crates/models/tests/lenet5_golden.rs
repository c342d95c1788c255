//! The whole-model check against PyTorch (llm.c style): LeNet-5 with PyTorch's weights must give
//! PyTorch's logits, loss and every parameter gradient, and follow its 10-step SGD-momentum loss
//! trajectory on the same batch.
use convkit_models::{lenet5, ModelSpec};
use convkit_nn::optim::{Optimizer, Sgd, SgdConfig};
use convkit_nn::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};
use convkit_testkit::{assert_close, TensorFile};

fn golden() -> TensorFile {
    TensorFile::load("lenet5_golden.safetensors").unwrap()
}

fn tensor<'a>(file: &'a TensorFile, name: &str) -> &'a Tensor {
    file.tensors
        .get(name)
        .unwrap_or_else(|| panic!("fixture has no {name}"))
}

/// LeNet-5 holding the fixture's weights (`param.<state_dict name>`).
fn model_with_golden_weights(file: &TensorFile) -> impl Module {
    let spec = ModelSpec {
        in_channels: 1,
        num_classes: 10,
        input_size: (28, 28),
    };
    let model = lenet5(&spec, &mut seeded_rng(0)).unwrap();
    let params = model.parameters();
    assert_eq!(params.len(), 8, "conv1/conv2/fc1/fc2 weight and bias");
    for (name, param) in &params {
        let reference = tensor(file, &format!("param.{name}"));
        assert_eq!(param.dims(), reference.dims(), "{name}");
        param.data_mut().copy_from_slice(&reference.data());
    }
    model
}

fn targets(file: &TensorFile) -> Vec<usize> {
    tensor(file, "target")
        .data()
        .iter()
        .map(|&t| t as usize)
        .collect()
}

#[test]
fn logits_loss_and_gradients_match_pytorch() {
    let file = golden();
    let model = model_with_golden_weights(&file);
    let logits = model.forward(tensor(&file, "input"), Mode::Train).unwrap();
    assert_close(
        "logits",
        &logits.to_vec(),
        &tensor(&file, "logits").to_vec(),
        1e-5,
        1e-4,
    )
    .unwrap();
    let loss = logits.cross_entropy(&targets(&file)).unwrap();
    assert_close(
        "loss",
        &loss.to_vec(),
        &tensor(&file, "loss").to_vec(),
        1e-6,
        1e-5,
    )
    .unwrap();
    loss.backward().unwrap();
    for (name, param) in model.parameters() {
        let grad = param
            .grad()
            .unwrap_or_else(|| panic!("no gradient for {name}"));
        let expected = tensor(&file, &format!("grad.{name}"));
        assert_close(
            &format!("grad.{name}"),
            &grad.to_vec(),
            &expected.to_vec(),
            1e-6,
            1e-3,
        )
        .unwrap();
    }
}

#[test]
fn sgd_momentum_trajectory_matches_pytorch() {
    let file = golden();
    let model = model_with_golden_weights(&file);
    let config = SgdConfig {
        lr: 0.01,
        momentum: 0.9,
        ..Default::default()
    };
    let mut sgd = Sgd::new(model.parameters(), config).unwrap();
    let (input, labels) = (tensor(&file, "input"), targets(&file));
    let mut losses = Vec::new();
    for _ in 0..10 {
        let loss = model
            .forward(input, Mode::Train)
            .unwrap()
            .cross_entropy(&labels)
            .unwrap();
        losses.push(loss.item());
        sgd.zero_grad();
        loss.backward().unwrap();
        sgd.step().unwrap();
    }
    let expected = tensor(&file, "sgd_momentum_losses_10_steps").to_vec();
    assert_close("loss trajectory", &losses, &expected, 1e-5, 1e-4).unwrap();
    assert!(
        losses[9] < losses[0],
        "training on one batch must lower its loss: {losses:?}"
    );
}
