//! MobileNet V1: exact parameter counts (1000 classes: the paper's 4.2M), names, output shapes,
//! the width multiplier, overfitting one small batch.
mod traced;
mod zoo_common;

use convkit_models::{build_model, mobilenet_v1};
use convkit_nn::optim::{Adam, AdamConfig};
use convkit_nn::Module;
use convkit_tensor::seeded_rng;
use zoo_common::{assert_overfits, output_dims, spec};

#[test]
fn count_names_and_shapes() {
    let s = spec(3, 224, 1000);
    let model = build_model("mobilenet-v1", &s, &mut seeded_rng(0)).unwrap();
    // Counted with PyTorch on the same layers: the paper's "4.2 million".
    assert_eq!(model.num_parameters(), 4_231_976);
    assert_eq!(output_dims(model.as_ref(), 1, &s), [1, 1000]);
    assert_eq!(
        output_dims(model.as_ref(), 2, &spec(3, 32, 1000)),
        [2, 1000]
    );
    let shapes: Vec<(String, Vec<usize>)> = model
        .parameters()
        .into_iter()
        .map(|(n, t)| (n, t.dims().to_vec()))
        .collect();
    let shape = |name: &str| shapes.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(shape("features.0.0.weight"), [32, 3, 3, 3]);
    assert_eq!(shape("features.1.0.weight"), [32, 1, 3, 3]); // depthwise
    assert_eq!(shape("features.1.3.weight"), [64, 32, 1, 1]); // pointwise
    assert_eq!(shape("features.13.3.weight"), [1024, 1024, 1, 1]);
    assert_eq!(shape("classifier.weight"), [1000, 1024]);
    assert!(model.describe().contains("(0): Conv2d(512, 512, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=512, bias=False)"));
}

#[test]
fn width_multiplier() {
    let s = spec(3, 32, 10);
    let model = mobilenet_v1(0.25, &s, &mut seeded_rng(0)).unwrap();
    assert_eq!(model.num_parameters(), 215_642); // PyTorch, α = 0.25, 10 classes
    assert_eq!(output_dims(&model, 2, &s), [2, 10]);
    let err = mobilenet_v1(-1.0, &s, &mut seeded_rng(0)).err().unwrap();
    assert!(err
        .to_string()
        .contains("width multiplier must be positive"));
}

#[test]
fn overfits_a_small_batch() {
    let s = spec(3, 32, 4);
    let model = build_model("mobilenet-v1", &s, &mut seeded_rng(0)).unwrap();
    let mut opt = Adam::new(model.parameters(), AdamConfig::default()).unwrap();
    assert_overfits(model.as_ref(), &mut opt, &s, 4, 40);
}

#[test]
fn every_layer_is_traced() {
    let s = spec(3, 32, 10);
    let model = build_model("mobilenet-v1", &s, &mut seeded_rng(0)).unwrap();
    traced::assert_every_layer_traced(model.as_ref(), &s);
}
