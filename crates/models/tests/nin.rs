//! Network in Network: d2l's ImageNet form and the paper's CIFAR-10 form — shapes, parameters
//! (PyTorch's counts for the same layers), small inputs, overfitting one batch.
mod zoo_common;

use convkit_models::{build_model, nin, NinConfig};
use convkit_nn::optim::{Adam, AdamConfig};
use convkit_nn::trace::trace;
use convkit_nn::{Mode, Module};
use convkit_tensor::seeded_rng;
use zoo_common::{assert_overfits, batch, output_dims, spec};

#[test]
fn d2l_form_at_224() {
    // d2l's Fashion-MNIST setting: 1×224×224, 10 classes; PyTorch counts 1,992,166 parameters.
    let fashion = spec(1, 224, 10);
    let model = build_model("nin", &fashion, &mut seeded_rng(0)).unwrap();
    assert_eq!(model.num_parameters(), 1_992_166);
    let (y, records) = trace(model.as_ref(), &batch(1, &fashion), Mode::Eval).unwrap();
    assert_eq!(y.dims(), [1, 10]);
    let dims = |name: &str| {
        let r = records.iter().find(|r| r.name == name).unwrap();
        r.output.dims().to_vec()
    };
    // d2l's printed shapes: 54 → 26 → 26 → 12 → 12 → 5 → 5 → 1.
    assert_eq!(dims("0"), [1, 96, 54, 54]);
    assert_eq!(dims("1"), [1, 96, 26, 26]);
    assert_eq!(dims("3"), [1, 256, 12, 12]);
    assert_eq!(dims("5"), [1, 384, 5, 5]);
    assert_eq!(dims("7"), [1, 10, 5, 5]);
    assert_eq!(dims("8"), [1, 10, 1, 1]);
    assert_eq!(model.parameters()[0].0, "0.0.weight");
    // 3×224×224 with 1000 classes, as PyTorch counts it.
    let model = build_model("nin", &spec(3, 224, 1000), &mut seeded_rng(0)).unwrap();
    assert_eq!(model.num_parameters(), 7_439_608);
}

#[test]
fn d2l_form_rejects_small_inputs() {
    let err = nin(NinConfig::ImageNet, &spec(3, 32, 10), &mut seeded_rng(0))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "nin: input 32x32 is too small: the minimum is 67x67"
    );
    let spec67 = spec(3, 67, 10);
    let model = nin(NinConfig::ImageNet, &spec67, &mut seeded_rng(0)).unwrap();
    assert_eq!(output_dims(&model, 2, &spec67), [2, 10]);
}

#[test]
fn cifar_form_at_32() {
    let cifar = spec(3, 32, 10);
    let model = build_model("nin-cifar", &cifar, &mut seeded_rng(0)).unwrap();
    // The paper's CIFAR-10 model, counted by PyTorch.
    assert_eq!(model.num_parameters(), 966_986);
    let (y, records) = trace(model.as_ref(), &batch(2, &cifar), Mode::Eval).unwrap();
    assert_eq!(y.dims(), [2, 10]);
    let pooled: Vec<_> = records
        .iter()
        .filter(|r| ["1", "4"].contains(&r.name.as_str()))
        .map(|r| r.output.dims()[2])
        .collect();
    assert_eq!(pooled, [16, 8]);
    let err = build_model("nin-cifar", &spec(3, 3, 10), &mut seeded_rng(0))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "nin-cifar: input 3x3 is too small: the minimum is 4x4"
    );
}

#[test]
fn cifar_form_overfits_one_batch() {
    // CIFAR-10's ten classes, four of them in the batch. Two dropout layers make single
    // train-mode losses on 4 images swing between 0.05 and 1.3 late in training, so the fall is
    // measured in eval mode (it passes for seeds 1 to 4).
    let spec = spec(3, 32, 10);
    let model = nin(NinConfig::Cifar, &spec, &mut seeded_rng(1)).unwrap();
    let config = AdamConfig {
        lr: 7e-4,
        ..Default::default()
    };
    let mut opt = Adam::new(model.parameters(), config).unwrap();
    assert_overfits(&model, &mut opt, &spec, (4, 60), Mode::Eval);
}
