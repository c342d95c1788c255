//! torchvision's MobileNetV2: names and shapes against torchvision's state_dict (width 1 and
//! 0.25), exact parameter counts, `_make_divisible`, output shapes, overfitting one small batch.
mod state_dict_keys;
mod traced;
mod zoo_common;

use convkit_models::{build_model, make_divisible, mobilenet_v2, MobileNetV2Config};
use convkit_nn::optim::{Adam, AdamConfig};
use convkit_nn::Module;
use convkit_tensor::seeded_rng;
use state_dict_keys::assert_matches_torchvision;
use zoo_common::{assert_overfits, output_dims, spec};

#[test]
fn matches_torchvision_at_width_1() {
    let s = spec(3, 224, 1000);
    let model = build_model("mobilenet-v2", &s, &mut seeded_rng(0)).unwrap();
    assert_eq!(model.num_parameters(), 3_504_872);
    assert_matches_torchvision(model.as_ref(), "mobilenet_v2");
    assert_eq!(output_dims(model.as_ref(), 1, &s), [1, 1000]);
    assert_eq!(
        output_dims(model.as_ref(), 2, &spec(3, 32, 1000)),
        [2, 1000]
    );
}

#[test]
fn matches_torchvision_at_width_quarter() {
    let config = MobileNetV2Config {
        width_mult: 0.25,
        ..Default::default()
    };
    let s = spec(3, 32, 10);
    let model = mobilenet_v2(&config, &s, &mut seeded_rng(0)).unwrap();
    // torchvision.models.mobilenet_v2(width_mult=0.25, num_classes=10)
    assert_eq!(model.num_parameters(), 250_922);
    assert_matches_torchvision(&model, "mobilenet_v2_w0.25_c10");
    assert_eq!(output_dims(&model, 2, &s), [2, 10]);
}

#[test]
fn make_divisible_as_torchvision() {
    // torchvision.models._utils._make_divisible(v, 8) for each v.
    let cases = [
        (8.0, 8),
        (4.0, 8),
        (6.0, 8),
        (1280.0, 1280),
        (24.0, 24),
        (33.6, 32),
        (11.2, 16),
        (44.8, 48),
        (3.5, 8),
        (12.0, 16),
        (20.0, 24),
    ];
    for (v, expected) in cases {
        assert_eq!(make_divisible(v, 8), expected, "{v}");
    }
}

#[test]
fn blocks_depthwise_convs_and_init() {
    let model = build_model("mobilenet-v2", &spec(3, 32, 1000), &mut seeded_rng(0)).unwrap();
    let text = model.describe();
    // Block 2 (t = 6, 16 → 24 channels, stride 2): expand, depthwise (groups = 96), project.
    let block2 = "    (2): InvertedResidual(\n      (conv): Sequential(\n        (0): Sequential(\n          \
(0): Conv2d(16, 96, kernel_size=(1, 1), stride=(1, 1), bias=False)\n";
    assert!(text.contains(block2), "{text}");
    assert!(text.contains("(0): Conv2d(96, 96, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=96, bias=False)"), "{text}");
    assert!(text.contains("(2): ReLU6()"), "{text}");
    assert!(
        text.starts_with("MobileNetV2(\n  (features): Sequential(\n"),
        "{text}"
    );
    assert!(text.ends_with("  (classifier): Sequential(\n    (0): Dropout(p=0.2, inplace=False)\n    (1): Linear(in_features=1280, out_features=1000, bias=True)\n  )\n)"), "{text}");
    let params = model.parameters();
    let get = |name: &str| params.iter().find(|(n, _)| n == name).unwrap().1.to_vec();
    let w = get("classifier.1.weight");
    let std = (w.iter().map(|x| x * x).sum::<f32>() / w.len() as f32).sqrt();
    assert!((std / 0.01 - 1.0).abs() < 0.02, "classifier std {std}");
    assert!(get("classifier.1.bias").iter().all(|&b| b == 0.0));
}

#[test]
fn rejects_bad_width() {
    let config = MobileNetV2Config {
        width_mult: 0.0,
        ..Default::default()
    };
    let err = mobilenet_v2(&config, &spec(3, 32, 10), &mut seeded_rng(0))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("mobilenet-v2: width_mult must be positive"),
        "{err}"
    );
}

#[test]
fn overfits_a_small_batch() {
    let s = spec(3, 32, 4);
    let model = build_model("mobilenet-v2", &s, &mut seeded_rng(0)).unwrap();
    let mut opt = Adam::new(model.parameters(), AdamConfig::default()).unwrap();
    assert_overfits(model.as_ref(), &mut opt, &s, 4, 40);
}

#[test]
fn every_layer_is_traced() {
    let s = spec(3, 32, 10);
    let model = build_model("mobilenet-v2", &s, &mut seeded_rng(0)).unwrap();
    traced::assert_every_layer_traced(model.as_ref(), &s);
}
