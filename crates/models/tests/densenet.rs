//! torchvision's DenseNets: names and shapes against torchvision's state_dict, exact parameter
//! counts, output shapes, the size limit, and overfitting one small batch.
mod state_dict_keys;
mod traced;
mod zoo_common;

use convkit_models::{build_model, densenet, DenseNetConfig};
use convkit_nn::optim::{Adam, AdamConfig};
use convkit_nn::Module;
use convkit_tensor::seeded_rng;
use state_dict_keys::assert_matches_torchvision;
use zoo_common::{assert_overfits, output_dims, spec};

#[test]
fn densenet121_matches_torchvision() {
    let s = spec(3, 224, 1000);
    let model = build_model("densenet121", &s, &mut seeded_rng(0)).unwrap();
    assert_eq!(model.num_parameters(), 7_978_856);
    assert_matches_torchvision(model.as_ref(), "densenet121");
    assert_eq!(output_dims(model.as_ref(), 1, &s), [1, 1000]);
    assert_eq!(
        output_dims(model.as_ref(), 2, &spec(3, 32, 1000)),
        [2, 1000]
    );
}

#[test]
fn densenet169_count_and_shape() {
    let s = spec(3, 32, 1000);
    let model = build_model("densenet169", &s, &mut seeded_rng(0)).unwrap();
    assert_eq!(model.num_parameters(), 14_149_480);
    assert_eq!(output_dims(model.as_ref(), 2, &s), [2, 1000]);
}

#[test]
fn too_small_inputs_name_the_minimum() {
    let s = spec(1, 29, 10);
    let model = build_model("densenet121", &s, &mut seeded_rng(0)).unwrap();
    assert_eq!(output_dims(model.as_ref(), 1, &s), [1, 10]);
    let err = build_model("densenet121", &spec(3, 28, 10), &mut seeded_rng(0))
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "densenet: input 28x28 is too small: the minimum is 29x29"
    );
}

#[test]
fn describes_like_pytorch() {
    let model = build_model("densenet121", &spec(3, 224, 1000), &mut seeded_rng(0)).unwrap();
    let text = model.describe();
    assert!(text.starts_with("DenseNet(\n  (features): Sequential(\n    (conv0): Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)\n"), "{text}");
    assert!(text.contains("    (denseblock1): _DenseBlock(\n      (denselayer1): _DenseLayer(\n        (norm1): BatchNorm2d(64, "), "{text}");
    assert!(text.contains("        (conv2): Conv2d(128, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"), "{text}");
    assert!(
        text.ends_with("  (classifier): Linear(in_features=1024, out_features=1000, bias=True)\n)"),
        "{text}"
    );
}

#[test]
fn densenet121_overfits_a_small_batch() {
    let s = spec(3, 32, 4);
    let model = build_model("densenet121", &s, &mut seeded_rng(0)).unwrap();
    let mut opt = Adam::new(model.parameters(), AdamConfig::default()).unwrap();
    assert_overfits(model.as_ref(), &mut opt, &s, 4, 30);
}

#[test]
fn reduced_config_builds_and_limits_size() {
    let config = DenseNetConfig {
        growth_rate: 12,
        block_config: vec![2, 2, 2],
        num_init_features: 24,
        bn_size: 4,
    };
    // Channels: 24 + 2·12 = 48 → 24, twice, then 24 + 2·12 = 48 into the classifier.
    let s = spec(3, 13, 10);
    let model = densenet(&config, &s, &mut seeded_rng(0)).unwrap();
    let classifier = model
        .parameters()
        .into_iter()
        .find(|(n, _)| n == "classifier.weight");
    assert_eq!(classifier.unwrap().1.dims(), [10, 48]);
    assert_eq!(output_dims(&model, 2, &s), [2, 10]);
    let err = densenet(&config, &spec(3, 12, 10), &mut seeded_rng(0))
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "densenet: input 12x12 is too small: the minimum is 13x13"
    );
}

#[test]
fn every_layer_is_traced() {
    let s = spec(3, 32, 10);
    let model = build_model("densenet121", &s, &mut seeded_rng(0)).unwrap();
    traced::assert_every_layer_traced(model.as_ref(), &s);
}
