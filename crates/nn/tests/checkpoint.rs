//! Checkpoints: round trip, atomic writes, mismatch reporting, corrupt files.
use convkit_nn::checkpoint::{self, optimizer_path, Checkpoint, CheckpointMeta, Normalization};
use convkit_nn::io::temporary_path;
use convkit_nn::layers::{
    BatchNorm2d, BatchNormConfig, Conv2d, Conv2dConfig, Flatten, Linear, LinearConfig, MaxPool2d,
    MaxPool2dConfig, ReLU, Sequential,
};
use convkit_nn::optim::{Optimizer, Sgd, SgdConfig};
use convkit_nn::{Error, Mode, Module, StateProblem};
use convkit_tensor::{seeded_rng, Tensor};
use std::fs;
use std::path::Path;

/// conv → BN → ReLU → pool → flatten → linear, initialised from `seed`, `hidden` conv channels.
fn small_cnn(seed: u64, hidden: usize) -> Sequential {
    let mut rng = seeded_rng(seed);
    let features = Sequential::new(vec![
        Box::new(
            Conv2d::new(
                1,
                hidden,
                (3, 3),
                Conv2dConfig {
                    padding: (1, 1),
                    ..Default::default()
                },
                &mut rng,
            )
            .unwrap(),
        ),
        Box::new(BatchNorm2d::new(hidden, BatchNormConfig::default()).unwrap()),
        Box::new(ReLU),
        Box::new(MaxPool2d::new((2, 2), MaxPool2dConfig::default()).unwrap()),
    ]);
    let head = Sequential::new(vec![
        Box::new(Flatten::default()),
        Box::new(Linear::new(hidden * 16, 3, LinearConfig::default(), &mut rng).unwrap()),
    ]);
    Sequential::named(vec![
        ("features".into(), Box::new(features)),
        ("classifier".into(), Box::new(head)),
    ])
    .unwrap()
}

fn meta() -> CheckpointMeta {
    CheckpointMeta {
        config: serde_json::json!({ "hidden": 4 }),
        class_names: vec!["a".into(), "b".into(), "c".into()],
        normalization: Normalization {
            mean: vec![0.1307],
            std: vec![0.3081],
        },
        epoch: 7,
        metrics: [("val_accuracy".to_string(), 0.93)].into(),
        ..CheckpointMeta::new("small_cnn")
    }
}

/// One training step, so parameters, BN running statistics and momentum buffers are all non-trivial.
fn train_step(model: &Sequential, opt: &mut Sgd) {
    let x = Tensor::randn([4, 1, 8, 8], &mut seeded_rng(9));
    opt.zero_grad();
    model
        .forward(&x, Mode::Train)
        .unwrap()
        .cross_entropy(&[0, 1, 2, 0])
        .unwrap()
        .backward()
        .unwrap();
    opt.step().unwrap();
}

fn sgd(model: &Sequential) -> Sgd {
    Sgd::new(
        model.parameters(),
        SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            ..Default::default()
        },
    )
    .unwrap()
}

fn eval(model: &Sequential) -> Vec<f32> {
    model
        .forward(
            &Tensor::randn([2, 1, 8, 8], &mut seeded_rng(10)),
            Mode::Eval,
        )
        .unwrap()
        .to_vec()
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn round_trip_restores_outputs_metadata_and_optimizer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let model = small_cnn(1, 4);
    let mut opt = sgd(&model);
    train_step(&model, &mut opt);
    checkpoint::save(&path, &model, &meta(), Some(&opt)).unwrap();
    assert_eq!(
        dir_entries(dir.path()),
        ["model.safetensors"],
        "one file, no stray temporary files"
    );

    let restored = small_cnn(2, 4);
    assert_ne!(eval(&restored), eval(&model));
    let ckpt = Checkpoint::load(&path).unwrap();
    assert_eq!(ckpt.meta(), &meta());
    assert!(ckpt.has_optimizer());
    let names: Vec<&str> = ckpt.tensors().iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"features.1.running_var") && names.contains(&"classifier.1.weight"),
        "{names:?}"
    );
    ckpt.load_into(&restored).unwrap();
    assert_eq!(eval(&restored), eval(&model));
    for ((name, a), (_, b)) in model.named_tensors().iter().zip(restored.named_tensors()) {
        assert_eq!(a.to_vec(), b.to_vec(), "{name}");
    }

    // The optimiser resumes exactly: one more step on both gives the same parameters.
    let mut restored_opt = sgd(&restored);
    ckpt.load_optimizer(&mut restored_opt).unwrap();
    train_step(&model, &mut opt);
    train_step(&restored, &mut restored_opt);
    assert_eq!(eval(&restored), eval(&model));
}

#[test]
fn a_failed_write_leaves_the_previous_checkpoint_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let model = small_cnn(1, 4);
    checkpoint::save(&path, &model, &meta(), None).unwrap();
    let before = fs::read(&path).unwrap();
    // A directory where the temporary file should go makes the write fail before the rename.
    fs::create_dir(temporary_path(&path)).unwrap();
    let other = small_cnn(3, 4);
    let err = checkpoint::save(&path, &other, &CheckpointMeta::new("other"), None).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("model.safetensors.tmp"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(Checkpoint::load(&path).unwrap().meta().model, "small_cnn");
    // Once the obstacle is gone, the new checkpoint replaces the old one.
    fs::remove_dir(temporary_path(&path)).unwrap();
    checkpoint::save(&path, &other, &CheckpointMeta::new("other"), None).unwrap();
    assert_eq!(Checkpoint::load(&path).unwrap().meta().model, "other");
    assert_eq!(dir_entries(dir.path()), ["model.safetensors"]);
}

#[test]
fn mismatches_are_all_reported_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    checkpoint::save(&path, &small_cnn(1, 4), &meta(), None).unwrap();
    // One target with all three kinds of problem: a wider conv (shape), a renamed head (missing),
    // and no BN or classifier (unexpected).
    let mut rng = seeded_rng(0);
    let conv = Conv2d::new(1, 8, (3, 3), Conv2dConfig::default(), &mut rng).unwrap();
    let target = Sequential::named(vec![
        (
            "features".into(),
            Box::new(Sequential::new(vec![Box::new(conv)])),
        ),
        (
            "head".into(),
            Box::new(Linear::new(64, 3, LinearConfig::default(), &mut rng).unwrap()),
        ),
    ])
    .unwrap();
    let values = |m: &Sequential| {
        m.named_tensors()
            .iter()
            .map(|(_, t)| t.to_vec())
            .collect::<Vec<_>>()
    };
    let before = values(&target);
    let err = Checkpoint::load(&path)
        .unwrap()
        .load_into(&target)
        .unwrap_err();
    let Error::StateMismatch { problems, .. } = &err else {
        panic!("{err:?}")
    };
    let count = |kind: fn(&StateProblem) -> bool| problems.iter().filter(|p| kind(p)).count();
    assert_eq!(
        count(|p| matches!(p, StateProblem::Shape { .. })),
        2,
        "{err}"
    );
    assert_eq!(
        count(|p| matches!(p, StateProblem::Missing { .. })),
        2,
        "{err}"
    );
    assert_eq!(
        count(|p| matches!(p, StateProblem::Unexpected { .. })),
        7,
        "{err}"
    );
    let text = err.to_string();
    for needle in [
        format!("{} does not match the model", path.display()),
        "shape mismatch for features.0.weight: expected [8, 1, 3, 3], found [4, 1, 3, 3]".into(),
        "missing tensor head.weight (expected shape [3, 64])".into(),
        "unexpected tensor features.1.running_mean (shape [4])".into(),
        "unexpected tensor classifier.1.bias (shape [3])".into(),
    ] {
        assert!(text.contains(&needle), "{needle:?} not in {text}");
    }
    assert_eq!(
        values(&target),
        before,
        "nothing is written unless everything matches"
    );

    let err = Checkpoint::load(&path)
        .unwrap()
        .load_into(&small_cnn(1, 8))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "shape mismatch for features.0.weight: expected [8, 1, 3, 3], found [4, 1, 3, 3]"
        ),
        "{err}"
    );
    assert!(
        err.contains("shape mismatch for classifier.1.weight: expected [3, 128], found [3, 64]"),
        "{err}"
    );
    assert_eq!(err.matches("shape mismatch").count(), 7, "{err}");
}

#[test]
fn corrupt_truncated_and_missing_files_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let model = small_cnn(1, 4);
    checkpoint::save(&path, &model, &meta(), Some(&sgd(&model))).unwrap();
    let bytes = fs::read(&path).unwrap();
    let expect_format_error = |what: &str| {
        let err = Checkpoint::load(&path)
            .err()
            .unwrap_or_else(|| panic!("{what} loaded"));
        assert!(matches!(err, Error::Format { .. }), "{what}: {err:?}");
        assert!(
            err.to_string()
                .starts_with(&format!("{}: not a valid checkpoint", path.display())),
            "{what}: {err}"
        );
    };
    fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    expect_format_error("truncated data");
    fs::write(&path, &bytes[..20]).unwrap();
    expect_format_error("truncated header");
    fs::write(&path, b"definitely not safetensors").unwrap();
    expect_format_error("garbage");
    // A valid safetensors file without convkit metadata.
    let plain =
        convkit_nn::io::write_safetensors(&path, &model.named_tensors(), Default::default());
    plain.unwrap();
    expect_format_error("no metadata");

    let missing = dir.path().join("nope.safetensors");
    let err = Checkpoint::load(&missing).err().unwrap();
    assert!(
        matches!(err, Error::Io { .. }) && err.to_string().contains("nope.safetensors"),
        "{err}"
    );
    // No optimiser state saved: the error names the file and says why.
    checkpoint::save(&path, &model, &meta(), None).unwrap();
    let err = Checkpoint::load(&path)
        .unwrap()
        .load_optimizer(&mut sgd(&model))
        .unwrap_err();
    assert!(
        err.to_string().contains("model.safetensors")
            && err.to_string().contains("no optimiser state"),
        "{err}"
    );
}

/// Format 1 kept the optimiser state in a sibling file; such checkpoints still load in full.
#[test]
fn format_1_checkpoints_with_a_sibling_optimizer_file_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.safetensors");
    let model = small_cnn(1, 4);
    let mut opt = sgd(&model);
    train_step(&model, &mut opt);
    let old_meta = CheckpointMeta {
        format_version: 1,
        ..meta()
    };
    let json = serde_json::to_string(&old_meta).unwrap();
    let metadata = [(checkpoint::METADATA_KEY.to_string(), json)].into();
    convkit_nn::io::write_safetensors(&path, &model.named_tensors(), metadata).unwrap();
    convkit_nn::io::write_safetensors(&optimizer_path(&path), &opt.state(), Default::default())
        .unwrap();

    let restored = small_cnn(2, 4);
    let mut restored_opt = sgd(&restored);
    let ckpt = Checkpoint::load(&path).unwrap();
    assert_eq!(ckpt.meta().format_version, 1);
    assert!(ckpt.has_optimizer());
    ckpt.load_into(&restored).unwrap();
    ckpt.load_optimizer(&mut restored_opt).unwrap();
    train_step(&model, &mut opt);
    train_step(&restored, &mut restored_opt);
    assert_eq!(eval(&restored), eval(&model));
}

#[test]
fn pytorch_integer_buffers_are_read_as_f32() {
    // PyTorch stores num_batches_tracked as an int64 scalar.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("torch.safetensors");
    let count = 42i64.to_le_bytes();
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::I64, vec![], &count).unwrap();
    fs::write(
        &path,
        safetensors::serialize([("bn.num_batches_tracked", view)], None).unwrap(),
    )
    .unwrap();
    let file = convkit_nn::io::read_safetensors(&path).unwrap();
    assert_eq!(file.tensors[0].0, "bn.num_batches_tracked");
    assert_eq!(file.tensors[0].1.dims(), &[] as &[usize]);
    assert_eq!(file.tensors[0].1.item(), 42.0);
}
