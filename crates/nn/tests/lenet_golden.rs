//! LeNet-5 built from this crate's layers against PyTorch (`lenet5_golden.safetensors`): loading a
//! PyTorch state_dict by name, the logits, the loss, every parameter gradient, and the losses of 10
//! SGD-with-momentum steps.
mod common;

use common::{assert_close, Fixture};
use convkit_nn::checkpoint::load_state_dict;
use convkit_nn::layers::{
    Conv2d, Conv2dConfig, Flatten, Linear, LinearConfig, MaxPool2d, MaxPool2dConfig, ReLU,
    Sequential,
};
use convkit_nn::optim::{Optimizer, Sgd, SgdConfig};
use convkit_nn::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};

fn lenet5() -> Sequential {
    let mut rng = seeded_rng(0);
    let pad2 = Conv2dConfig {
        padding: (2, 2),
        ..Default::default()
    };
    let pool = || Box::new(MaxPool2d::new((2, 2), MaxPool2dConfig::default()).unwrap());
    let layers: Vec<(&str, Box<dyn Module>)> = vec![
        (
            "conv1",
            Box::new(Conv2d::new(1, 20, (5, 5), pad2, &mut rng).unwrap()),
        ),
        ("relu1", Box::new(ReLU)),
        ("pool1", pool()),
        (
            "conv2",
            Box::new(Conv2d::new(20, 50, (5, 5), pad2, &mut rng).unwrap()),
        ),
        ("relu2", Box::new(ReLU)),
        ("pool2", pool()),
        ("flatten", Box::new(Flatten::default())),
        (
            "fc1",
            Box::new(Linear::new(2450, 500, LinearConfig::default(), &mut rng).unwrap()),
        ),
        ("relu3", Box::new(ReLU)),
        (
            "fc2",
            Box::new(Linear::new(500, 10, LinearConfig::default(), &mut rng).unwrap()),
        ),
    ];
    Sequential::named(
        layers
            .into_iter()
            .map(|(n, m)| (n.to_string(), m))
            .collect(),
    )
    .unwrap()
}

fn loss(model: &Sequential, input: &Tensor, target: &[usize]) -> (Tensor, Tensor) {
    let logits = model.forward(input, Mode::Train).unwrap();
    let loss = logits.cross_entropy(target).unwrap();
    (logits, loss)
}

#[test]
fn lenet5_matches_pytorch() {
    let fixture = Fixture::open("lenet5_golden.safetensors");
    let model = lenet5();
    assert_eq!(model.num_parameters(), 1_256_080);
    load_state_dict(
        &model,
        &fixture.with_prefix("param."),
        "lenet5_golden.safetensors",
    )
    .unwrap();
    let input = fixture.get("input");
    let target: Vec<usize> = fixture
        .get("target")
        .to_vec()
        .iter()
        .map(|&t| t as usize)
        .collect();

    let (logits, loss_value) = loss(&model, &input, &target);
    assert_close(
        "logits",
        &logits.to_vec(),
        &fixture.get("logits").to_vec(),
        1e-5,
        1e-4,
    );
    assert_close(
        "loss",
        &[loss_value.item()],
        &fixture.get("loss").to_vec(),
        1e-6,
        1e-5,
    );
    loss_value.backward().unwrap();
    // Gradients: rtol 1e-3 (DESIGN.md), atol 1e-6 for entries that are near zero after long sums.
    for (name, param) in model.parameters() {
        let grad = param
            .grad()
            .unwrap_or_else(|| panic!("{name} has no gradient"));
        assert_close(
            &format!("grad.{name}"),
            &grad.to_vec(),
            &fixture.get(&format!("grad.{name}")).to_vec(),
            1e-6,
            1e-3,
        );
    }

    let config = SgdConfig {
        lr: 0.01,
        momentum: 0.9,
        ..Default::default()
    };
    let mut sgd = Sgd::new(model.parameters(), config).unwrap();
    let mut losses = Vec::new();
    for _ in 0..10 {
        sgd.zero_grad();
        let (_, l) = loss(&model, &input, &target);
        losses.push(l.item());
        l.backward().unwrap();
        sgd.step().unwrap();
    }
    assert_close(
        "sgd losses",
        &losses,
        &fixture.get("sgd_momentum_losses_10_steps").to_vec(),
        1e-5,
        1e-4,
    );
}
