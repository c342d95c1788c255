//! On demand: the zoo's resnet18, vgg11 and mobilenet-v2 against the exact torchvision models with
//! random weights, from the directory `CONVKIT_TORCHVISION_DIR` written by
//! `tests/fixtures/torchvision_check.py write DIR` (see that script for the whole procedure).
//! Checks that the `.pth` and safetensors files hold identical tensors, that the imported model's
//! logits match PyTorch's, and writes `<model>.exported.safetensors` for the script's strict
//! `load_state_dict` check.
use convkit_models::{build_model, ModelSpec};
use convkit_nn::io::read_safetensors;
use convkit_nn::torch::{import_state_dict, read_pth, save_for_pytorch};
use convkit_nn::{Mode, Module};
use convkit_tensor::seeded_rng;
use convkit_testkit::assert_close;
use std::path::PathBuf;

#[test]
#[ignore]
fn torchvision_models_match_pytorch() {
    let dir = PathBuf::from(
        std::env::var_os("CONVKIT_TORCHVISION_DIR")
            .expect("set CONVKIT_TORCHVISION_DIR (see tests/fixtures/torchvision_check.py)"),
    );
    let spec = ModelSpec {
        in_channels: 3,
        num_classes: 1000,
        input_size: (224, 224),
    };
    for (torch_name, zoo_name) in [
        ("resnet18", "resnet18"),
        ("vgg11", "vgg11"),
        ("mobilenet_v2", "mobilenet-v2"),
    ] {
        let from_pth = read_pth(dir.join(format!("{torch_name}.pth"))).unwrap();
        let from_st = read_safetensors(&dir.join(format!("{torch_name}.safetensors")))
            .unwrap()
            .tensors;
        assert_eq!(from_pth.len(), from_st.len(), "{torch_name}");
        for (name, t) in &from_pth {
            let (_, s) = from_st.iter().find(|(n, _)| n == name).unwrap();
            assert!(
                t.dims() == s.dims() && t.to_vec() == s.to_vec(),
                "{torch_name}: {name}"
            );
        }
        let model: Box<dyn Module> = build_model(zoo_name, &spec, &mut seeded_rng(0)).unwrap();
        import_state_dict(model.as_ref(), &from_pth, torch_name).unwrap();
        let io = read_safetensors(&dir.join(format!("{torch_name}.io.safetensors"))).unwrap();
        let get = |n: &str| io.tensors.iter().find(|(k, _)| k == n).unwrap().1.clone();
        let logits = model.forward(&get("input"), Mode::Eval).unwrap().to_vec();
        let expected = get("logits").to_vec();
        let max_diff = logits
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let max_ref = expected.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        println!("{torch_name}: .pth == safetensors; max |logits − PyTorch| = {max_diff:.3e} (max |logit| {max_ref:.3})");
        assert_close(torch_name, &logits, &expected, 1e-4 * max_ref, 1e-4).unwrap();
        save_for_pytorch(
            dir.join(format!("{torch_name}.exported.safetensors")),
            model.as_ref(),
        )
        .unwrap();
    }
}
