//! torchvision's ResNets: names and shapes against torchvision's state_dict, exact parameter
//! counts, output shapes, and overfitting one small batch.
mod state_dict_keys;
mod traced;
mod zoo_common;

use convkit_models::{
    build_model, natural_spec, resnet, summarize, ModelSpec, ResNetBlock, ResNetConfig, ResNetStem,
};
use convkit_nn::optim::{Adam, AdamConfig};
use convkit_nn::{Mode, Module};
use convkit_tensor::seeded_rng;
use state_dict_keys::assert_matches_torchvision;
use zoo_common::{assert_overfits, assert_zero_inits, output_dims, spec};

fn build(name: &str, spec: &ModelSpec) -> Box<dyn Module> {
    build_model(name, spec, &mut seeded_rng(0)).unwrap()
}

/// Parameter count (torchvision's published figures, 1000 classes) and a 32×32 forward pass.
fn check_count_and_shape(name: &str, params: usize) {
    let model = build(name, &spec(3, 32, 1000));
    assert_eq!(model.num_parameters(), params, "{name}");
    assert_eq!(
        output_dims(model.as_ref(), 2, &spec(3, 32, 1000)),
        [2, 1000]
    );
}

#[test]
fn resnet18_matches_torchvision() {
    check_count_and_shape("resnet18", 11_689_512);
    assert_matches_torchvision(build("resnet18", &spec(3, 224, 1000)).as_ref(), "resnet18");
}

/// W2's model: the CIFAR stem (3×3/1, no max-pool) keeps torchvision's names; 32×32 inputs reach
/// `layer4` at 4×4, and the multiply-adds are those PyTorch's hooks count (1.111 GFLOP / 2).
#[test]
fn resnet18_cifar_matches_torchvision_with_the_cifar_stem() {
    let s = spec(3, 32, 10);
    let model = build("resnet18-cifar", &s);
    assert_eq!(model.num_parameters(), 11_173_962);
    assert_matches_torchvision(model.as_ref(), "resnet18_cifar");
    let summary = summarize(model.as_ref(), [3, 32, 32]).unwrap();
    assert_eq!(summary.total_macs, 1_110_845_440 / 2);
    assert_eq!(summary.output_shape, [10]);
    assert!(
        !model.describe().contains("maxpool"),
        "{}",
        model.describe()
    );
    // torchvision's stem on the same model counts 3,628,146,688 / 2 at 224×224 (W3).
    let imagenet = build("resnet18", &spec(3, 224, 1000));
    let summary = summarize(imagenet.as_ref(), [3, 224, 224]).unwrap();
    assert_eq!(summary.total_macs, 3_628_146_688 / 2);
    assert_eq!(natural_spec("resnet18-cifar").unwrap(), ModelSpec::CIFAR);
    let err = build_model("resnet19-cifar", &s, &mut seeded_rng(0))
        .err()
        .unwrap();
    assert!(err.to_string().contains("resnet19-cifar"), "{err}");
}

#[test]
fn resnet34_count_and_shape() {
    check_count_and_shape("resnet34", 21_797_672);
}

#[test]
fn resnet50_matches_torchvision() {
    check_count_and_shape("resnet50", 25_557_032);
    assert_matches_torchvision(build("resnet50", &spec(3, 224, 1000)).as_ref(), "resnet50");
}

#[test]
fn resnet101_count_and_shape() {
    check_count_and_shape("resnet101", 44_549_160);
}

#[test]
fn resnet152_count_and_shape() {
    check_count_and_shape("resnet152", 60_192_808);
}

#[test]
fn imagenet_size_and_other_inputs() {
    for name in ["resnet18", "resnet50"] {
        let s = spec(3, 224, 1000);
        assert_eq!(output_dims(build(name, &s).as_ref(), 1, &s), [1, 1000]);
    }
    // Grey-scale inputs, 10 classes, a non-square input and the smallest one.
    let s = ModelSpec {
        in_channels: 1,
        num_classes: 10,
        input_size: (20, 33),
    };
    assert_eq!(output_dims(build("resnet18", &s).as_ref(), 2, &s), [2, 10]);
    let s = spec(3, 1, 10);
    assert_eq!(output_dims(build("resnet18", &s).as_ref(), 1, &s), [1, 10]);
    let err = build_model("resnet18", &spec(3, 0, 10), &mut seeded_rng(0))
        .err()
        .unwrap()
        .to_string();
    // An empty input is refused by the spec check before any layer is built.
    assert!(
        err.contains("height and width must be at least 1") && err.contains("0×0"),
        "{err}"
    );
}

#[test]
fn reduced_config_keeps_names_and_rejects_zero_blocks() {
    let config = ResNetConfig {
        block: ResNetBlock::Bottleneck,
        layers: [1, 2, 1, 1],
        widths: [4, 8, 16, 32],
        stem_width: 8,
        stem: ResNetStem::ImageNet,
    };
    let model = resnet(&config, &spec(3, 32, 10), &mut seeded_rng(0)).unwrap();
    let names: Vec<String> = model.parameters().into_iter().map(|(n, _)| n).collect();
    assert_zero_inits(&model, "bn3", 5);
    assert!(names.contains(&"layer1.0.downsample.0.weight".to_string()));
    assert!(names.contains(&"layer2.1.conv3.weight".to_string()));
    assert!(!names.contains(&"layer2.1.downsample.0.weight".to_string()));
    let fc = model
        .parameters()
        .into_iter()
        .find(|(n, _)| n == "fc.weight");
    assert_eq!(fc.unwrap().1.dims(), [10, 128]);
    let bad = ResNetConfig {
        layers: [2, 0, 2, 2],
        ..ResNetConfig::torchvision(18).unwrap()
    };
    let err = resnet(&bad, &spec(3, 32, 10), &mut seeded_rng(0))
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "resnet: layers must all be at least 1, got [2, 0, 2, 2]"
    );
}

#[test]
fn init_is_torchvision_kaiming_fan_out() {
    let model = build("resnet18", &spec(3, 32, 10));
    let params = model.parameters();
    let get = |name: &str| params.iter().find(|(n, _)| n == name).unwrap().1.to_vec();
    // layer3.0.conv2: [256, 256, 3, 3], fan_out = 256·9, std = √(2 / 2304).
    let w = get("layer3.0.conv2.weight");
    let std = (w.iter().map(|x| x * x).sum::<f32>() / w.len() as f32).sqrt();
    let expected = (2.0f32 / 2304.0).sqrt();
    assert!(
        (std / expected - 1.0).abs() < 0.02,
        "std {std} vs {expected}"
    );
    assert!(get("layer4.1.bn2.weight").iter().all(|&x| x == 1.0));
    assert!(get("layer4.1.bn2.bias").iter().all(|&x| x == 0.0));
}

#[test]
fn describes_like_pytorch() {
    let text = build("resnet18", &spec(3, 224, 1000)).describe();
    let start = "ResNet(\n  (conv1): Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)\n";
    assert!(text.starts_with(start), "{text}");
    assert!(text.contains("  (layer2): Sequential(\n    (0): BasicBlock(\n      (conv1): Conv2d(64, 128, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)\n"), "{text}");
    assert!(text.contains("      (downsample): Sequential(\n        (0): Conv2d(64, 128, kernel_size=(1, 1), stride=(2, 2), bias=False)\n"), "{text}");
    assert!(
        text.ends_with("  (fc): Linear(in_features=512, out_features=1000, bias=True)\n)"),
        "{text}"
    );
}

fn overfit(name: &str) {
    let s = spec(3, 32, 4);
    let model = build(name, &s);
    let config = AdamConfig {
        lr: 1e-3,
        ..Default::default()
    };
    let mut opt = Adam::new(model.parameters(), config).unwrap();
    assert_overfits(model.as_ref(), &mut opt, &s, (4, 20), Mode::Train);
}

#[test]
fn resnet18_overfits_a_small_batch() {
    overfit("resnet18");
}

#[test]
fn resnet50_overfits_a_small_batch() {
    overfit("resnet50");
}

#[test]
fn deep_resnets_overfit_a_small_batch() {
    for name in ["resnet34", "resnet101", "resnet152"] {
        overfit(name);
    }
}

#[test]
fn every_layer_is_traced() {
    for name in ["resnet18", "resnet50"] {
        let s = spec(3, 32, 10);
        traced::assert_every_layer_traced(build(name, &s).as_ref(), &s);
    }
}
