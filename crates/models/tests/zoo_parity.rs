//! The zoo against PyTorch: torchvision models with random weights (tests/fixtures/
//! zoo_parity.safetensors, made by tests/fixtures/gen_zoo_parity.py) are imported into the zoo's
//! models, which must give the same eval-mode logits; the zoo's export must have torchvision's
//! state_dict keys, shapes and dtypes.
use convkit_models::{
    mobilenet_v2, resnet, MobileNetV2Config, ModelSpec, ResNetBlock, ResNetConfig, ResNetStem,
};
use convkit_nn::io::read_safetensors;
use convkit_nn::io::Dtype;
use convkit_nn::torch::{export_state_dict, import_state_dict};
use convkit_nn::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};
use convkit_testkit::{assert_close, fixture_dir};
use std::collections::HashMap;

const SPEC: ModelSpec = ModelSpec {
    in_channels: 3,
    num_classes: 10,
    input_size: (32, 32),
};

fn small_resnet() -> Box<dyn Module> {
    // gen_zoo_parity.py's SmallResNet: BasicBlock, [1, 1, 1, 1], stem 8, widths 8..64.
    let config = ResNetConfig {
        block: ResNetBlock::Basic,
        layers: [1, 1, 1, 1],
        widths: [8, 16, 32, 64],
        stem_width: 8,
        stem: ResNetStem::ImageNet,
    };
    Box::new(resnet(&config, &SPEC, &mut seeded_rng(0)).unwrap())
}

fn small_mobilenet_v2() -> Box<dyn Module> {
    let config = MobileNetV2Config {
        width_mult: 0.25,
        ..Default::default()
    };
    Box::new(mobilenet_v2(&config, &SPEC, &mut seeded_rng(0)).unwrap())
}

/// Every tensor of the fixture (as f32), by name.
fn fixture() -> HashMap<String, Tensor> {
    let path = fixture_dir().join("zoo_parity.safetensors");
    read_safetensors(&path)
        .unwrap()
        .tensors
        .into_iter()
        .collect()
}

/// `<model>.state.*` of the fixture, prefix removed, with each tensor's dtype in the file.
fn torch_state(model: &str) -> Vec<(String, Tensor, Dtype)> {
    let bytes = std::fs::read(fixture_dir().join("zoo_parity.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let tensors = fixture();
    let prefix = format!("{model}.state.");
    let mut state: Vec<_> = file
        .tensors()
        .into_iter()
        .filter_map(|(name, view)| {
            let key = name.strip_prefix(&prefix)?.to_string();
            Some((key, tensors[&name].clone(), view.dtype()))
        })
        .collect();
    state.sort_by(|a, b| a.0.cmp(&b.0));
    state
}

fn check_logits(model: &str, net: &dyn Module) {
    let state: Vec<(String, Tensor)> = torch_state(model)
        .into_iter()
        .map(|(n, t, _)| (n, t))
        .collect();
    import_state_dict(net, &state, model).unwrap();
    let tensors = fixture();
    let x = &tensors[&format!("{model}.input")];
    let expected = &tensors[&format!("{model}.logits")];
    let logits = net.forward(x, Mode::Eval).unwrap();
    assert_eq!(logits.dims(), expected.dims());
    let max_diff = logits
        .to_vec()
        .iter()
        .zip(expected.to_vec())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!("{model}: max |logits − PyTorch| = {max_diff:.3e}");
    assert_close(model, &logits.to_vec(), &expected.to_vec(), 1e-4, 1e-4).unwrap();
}

fn check_export(model: &str, net: &dyn Module) {
    let expected: Vec<(String, Vec<usize>, Dtype)> = torch_state(model)
        .into_iter()
        .map(|(n, t, d)| (n, t.dims().to_vec(), d))
        .collect();
    let mut exported: Vec<(String, Vec<usize>, Dtype)> = export_state_dict(net)
        .into_iter()
        .map(|t| (t.name, t.dims, t.dtype))
        .collect();
    exported.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(exported, expected, "{model}");
}

#[test]
fn small_resnet_logits_match_torchvision() {
    check_logits("resnet", small_resnet().as_ref());
}

#[test]
fn small_mobilenet_v2_logits_match_torchvision() {
    check_logits("mobilenet_v2", small_mobilenet_v2().as_ref());
}

#[test]
fn exports_have_torchvision_keys_shapes_and_dtypes() {
    check_export("resnet", small_resnet().as_ref());
    check_export("mobilenet_v2", small_mobilenet_v2().as_ref());
}
