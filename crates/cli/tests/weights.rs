//! `convkit import` / `convkit export`: a PyTorch-layout state_dict goes into a zoo model's
//! checkpoint and back out unchanged; mismatches and refused pickles are explained.
mod common;
use common::{convkit, stderr};
use convkit_models::{build_model, ModelSpec};
use convkit_nn::io::read_safetensors;
use convkit_nn::torch::save_for_pytorch;
use convkit_tensor::seeded_rng;
use std::path::{Path, PathBuf};
use std::process::Output;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A LeNet-5 for 1×`size`×`size` inputs and 10 classes with seed-7 weights, as a PyTorch
/// state_dict.
fn lenet_state_dict(dir: &Path, size: usize) -> PathBuf {
    let spec = ModelSpec {
        in_channels: 1,
        num_classes: 10,
        input_size: (size, size),
    };
    let model = build_model("lenet5", &spec, &mut seeded_rng(7)).unwrap();
    let path = dir.join(format!("lenet{size}.safetensors"));
    save_for_pytorch(&path, model.as_ref()).unwrap();
    path
}

/// `convkit import` of `state_dict` into a LeNet-5 for 1×16×16 inputs and `classes` classes.
fn import_lenet(state_dict: &Path, classes: usize, ckpt: &Path) -> Output {
    let classes = classes.to_string();
    convkit(&[
        "import",
        s(state_dict),
        "--model",
        "lenet5",
        "--input",
        "1x16x16",
        "--classes",
        &classes,
        "--out",
        s(ckpt),
    ])
}

#[test]
fn import_then_export_round_trips_the_weights() {
    let dir = tempfile::tempdir().unwrap();
    let original = lenet_state_dict(dir.path(), 16);
    let ckpt = dir.path().join("ckpt.safetensors");
    let out = import_lenet(&original, 10, &ckpt);
    assert!(out.status.success(), "{}", stderr(&out));
    let back = dir.path().join("back.safetensors");
    let out = convkit(&["export", s(&ckpt), "--out", s(&back)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let a = read_safetensors(&original).unwrap().tensors;
    let b = read_safetensors(&back).unwrap().tensors;
    assert_eq!(a.len(), b.len());
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!((na, ta.dims(), ta.to_vec()), (nb, tb.dims(), tb.to_vec()));
    }
}

#[test]
fn import_explains_mismatches_and_refused_pickles() {
    let dir = tempfile::tempdir().unwrap();
    let original = lenet_state_dict(dir.path(), 16);
    let ckpt = dir.path().join("ckpt.safetensors");
    let out = import_lenet(&original, 5, &ckpt);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("shape mismatch for fc2.weight: expected [5, 500], found [10, 500]"),
        "{err}"
    );
    assert!(!ckpt.exists());
    let evil = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/pth/refused_global.pth");
    let out = convkit(&["import", s(&evil), "--model", "lenet5", "--out", s(&ckpt)]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("refused_global.pth") && err.contains("posix.system"),
        "{err}"
    );
}

#[test]
fn train_starts_from_pytorch_weights() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let wrong = lenet_state_dict(dir.path(), 16);
    let out = convkit(&[
        "train",
        "--train-limit",
        "64",
        "--out-dir",
        s(&runs),
        "--init-from",
        s(&wrong),
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("shape mismatch for fc1.weight: expected [500, 2450], found [500, 800]"),
        "{err}"
    );
    let right = lenet_state_dict(dir.path(), 28);
    let out = convkit(&[
        "train",
        "--train-limit",
        "64",
        "--out-dir",
        s(&runs),
        "--init-from",
        s(&right),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}
