//! VGG-11/13/16/19 with and without BatchNorm: torchvision's parameter counts and names, the course's
//! VGG-16 table, small inputs, overfitting one batch.
mod zoo_common;

use convkit_models::{build_model, vgg, VggConfig};
use convkit_nn::optim::{Adam, AdamConfig};
use convkit_nn::trace::trace;
use convkit_nn::{Mode, Module};
use convkit_tensor::seeded_rng;
use zoo_common::{assert_overfits, batch, output_dims, spec};

/// Builds `name` for 1000 classes and checks its parameter count against torchvision's.
fn assert_parameters(name: &str, expected: usize) {
    let model = build_model(name, &spec(3, 224, 1000), &mut seeded_rng(0)).unwrap();
    assert_eq!(model.num_parameters(), expected, "{name}");
}

// torchvision's counts (`sum(p.numel() for p in vgg16().parameters())`, ...). Building a VGG
// initialises 130-145M parameters, seconds each: the default suite builds VGG-11, VGG-11-BN and
// VGG-16, the other five run on demand (`--include-ignored`).

#[test]
fn vgg11_parameters_and_32x32_output() {
    // The adaptive pool makes the count independent of the input size.
    let spec32 = spec(3, 32, 1000);
    let model = build_model("vgg11", &spec32, &mut seeded_rng(0)).unwrap();
    assert_eq!(model.num_parameters(), 132_863_336);
    assert_eq!(output_dims(model.as_ref(), 2, &spec32), [2, 1000]);
}

#[test]
#[ignore = "slow: builds two 133M-parameter models"]
fn vgg13_parameters() {
    assert_parameters("vgg13", 133_047_848);
    assert_parameters("vgg13-bn", 133_053_736);
}

#[test]
#[ignore = "slow: builds a 138M-parameter model"]
fn vgg16_bn_parameters() {
    assert_parameters("vgg16-bn", 138_365_992);
}

#[test]
#[ignore = "slow: builds two 144M-parameter models"]
fn vgg19_parameters() {
    assert_parameters("vgg19", 143_667_240);
    assert_parameters("vgg19-bn", 143_678_248);
}

#[test]
fn vgg11_bn_parameters_names_and_32x32_output() {
    let spec32 = spec(3, 32, 1000);
    let model = vgg(VggConfig::A, true, &spec32, &mut seeded_rng(0)).unwrap();
    assert_eq!(model.num_parameters(), 132_868_840);
    assert_eq!(output_dims(&model, 2, &spec32), [2, 1000]);
    let names: Vec<_> = model.named_tensors().into_iter().map(|(n, _)| n).collect();
    // torchvision's vgg11_bn().state_dict(): 62 entries (conv, BN, ReLU per layer; pools at 3, 7, ...).
    assert_eq!(names.len(), 62);
    assert_eq!(
        names[..8],
        [
            "features.0.weight",
            "features.0.bias",
            "features.1.weight",
            "features.1.bias",
            "features.1.running_mean",
            "features.1.running_var",
            "features.1.num_batches_tracked",
            "features.4.weight",
        ]
    );
    assert_eq!(
        names[names.len() - 8..],
        [
            "features.26.running_var",
            "features.26.num_batches_tracked",
            "classifier.0.weight",
            "classifier.0.bias",
            "classifier.3.weight",
            "classifier.3.bias",
            "classifier.6.weight",
            "classifier.6.bias",
        ]
    );
}

#[test]
fn too_small_input() {
    let err = build_model("vgg13", &spec(3, 31, 10), &mut seeded_rng(0))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "vgg13: input 31x31 is too small: the minimum is 32x32"
    );
}

/// The course's VGG-16 table: every conv, pool and fc layer's output size and parameters at
/// 224×224 (PyTorch's forward hooks on torchvision's vgg16 give the same).
#[test]
fn vgg16_course_table() {
    let spec = spec(3, 224, 1000);
    let model = build_model("vgg16", &spec, &mut seeded_rng(0)).unwrap();
    assert_eq!(model.num_parameters(), 138_357_544);
    let (y, records) = trace(model.as_ref(), &batch(1, &spec), Mode::Eval).unwrap();
    assert_eq!(y.dims(), [1, 1000]);
    let table: Vec<(&str, Vec<usize>, usize)> = records
        .iter()
        .filter(|r| {
            r.is_leaf
                && (r.description.starts_with("Conv2d")
                    || r.description.starts_with("MaxPool2d")
                    || r.description.starts_with("Linear"))
        })
        .map(|r| (r.name.as_str(), r.output.dims()[1..].to_vec(), r.parameters))
        .collect();
    let expected: [(&str, &[usize], usize); 21] = [
        ("features.0", &[64, 224, 224], 1_792),
        ("features.2", &[64, 224, 224], 36_928),
        ("features.4", &[64, 112, 112], 0),
        ("features.5", &[128, 112, 112], 73_856),
        ("features.7", &[128, 112, 112], 147_584),
        ("features.9", &[128, 56, 56], 0),
        ("features.10", &[256, 56, 56], 295_168),
        ("features.12", &[256, 56, 56], 590_080),
        ("features.14", &[256, 56, 56], 590_080),
        ("features.16", &[256, 28, 28], 0),
        ("features.17", &[512, 28, 28], 1_180_160),
        ("features.19", &[512, 28, 28], 2_359_808),
        ("features.21", &[512, 28, 28], 2_359_808),
        ("features.23", &[512, 14, 14], 0),
        ("features.24", &[512, 14, 14], 2_359_808),
        ("features.26", &[512, 14, 14], 2_359_808),
        ("features.28", &[512, 14, 14], 2_359_808),
        ("features.30", &[512, 7, 7], 0),
        ("classifier.0", &[4096], 102_764_544),
        ("classifier.3", &[4096], 16_781_312),
        ("classifier.6", &[1000], 4_097_000),
    ];
    assert_eq!(table.len(), expected.len());
    for ((name, dims, params), (want, want_dims, want_params)) in table.iter().zip(expected) {
        assert_eq!(
            (*name, dims.as_slice(), *params),
            (want, want_dims, want_params)
        );
    }
}

/// Overfits one batch of 4 CIFAR-sized images with VGG-11, with or without BatchNorm.
fn assert_vgg11_overfits(batch_norm: bool) {
    let spec = spec(3, 32, 4);
    let model = vgg(VggConfig::A, batch_norm, &spec, &mut seeded_rng(1)).unwrap();
    let config = AdamConfig {
        lr: 1e-4,
        ..Default::default()
    };
    let mut opt = Adam::new(model.parameters(), config).unwrap();
    assert_overfits(&model, &mut opt, &spec, (4, 60), Mode::Train);
}

#[test]
#[ignore = "slow: Adam over 133M parameters, minutes under load"]
fn vgg11_overfits_one_batch() {
    assert_vgg11_overfits(false);
}

#[test]
#[ignore = "slow: Adam over 133M parameters, minutes under load"]
fn vgg11_bn_overfits_one_batch() {
    assert_vgg11_overfits(true);
}
