//! Every run folder holds `config.toml`, and `convkit train --config` with it repeats the run
//! exactly; flags given beside `--config` override it; a bad file is reported with the key.
mod common;
use common::{
    convkit, image_folder, metrics_column, ok, only_run, stderr, tensor_bits, train_on_folder,
};

#[test]
fn a_run_repeated_from_its_config_toml_is_identical() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    image_folder(&data, 8, 60);
    let first_out = dir.path().join("first");
    let out = train_on_folder(
        &data,
        &first_out,
        &[
            "--epochs",
            "2",
            "--batch-size",
            "6",
            "--seed",
            "11",
            "--augment",
            "crop:padding=2,flip",
            "--schedule",
            "cosine",
            "--val-fraction",
            "0.25",
            "--optimizer",
            "adamw",
            "--lr",
            "0.003",
        ],
    );
    ok(&out);
    let first = only_run(&first_out);
    let config = first.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    for line in [
        "seed = 11",
        "name = \"adamw\"",
        "lr = 0.003",
        "augment = \"crop:padding=2,flip\"",
    ] {
        assert!(text.contains(line), "{line} not in\n{text}");
    }
    let again_out = dir.path().join("again");
    let out = convkit(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out-dir",
        again_out.to_str().unwrap(),
    ]);
    ok(&out);
    let again = only_run(&again_out);
    for column in [
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "test_loss",
    ] {
        assert_eq!(
            metrics_column(&again, column),
            metrics_column(&first, column),
            "{column}"
        );
    }
    for file in ["last.safetensors", "best.safetensors"] {
        assert!(
            tensor_bits(&again.join(file)) == tensor_bits(&first.join(file)),
            "{file} differs"
        );
    }
    // A flag beside --config wins over the file.
    let third_out = dir.path().join("third");
    let out = convkit(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out-dir",
        third_out.to_str().unwrap(),
        "--epochs",
        "1",
    ]);
    ok(&out);
    assert_eq!(metrics_column(&only_run(&third_out), "epoch"), ["1"]);
}

#[test]
fn bad_config_files_are_reported_with_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.toml");
    let cases = [
        (
            "epochs = 2\nlearning_rate = 0.1\n",
            "unknown field `learning_rate`",
        ),
        ("[optimizer]\nname = \"sgdd\"\n", "unknown variant `sgdd`"),
        ("epochs = \"two\"\n", "epochs"),
        ("epochs = 0\n", "--epochs (epochs): must be at least 1"),
        (
            "[clip]\nnorm = 0.0\n",
            "--clip-grad-norm (clip.norm): must be a positive number",
        ),
        (
            "[data]\nval_fraction = 1.5\n",
            "--val-fraction (data.val_fraction)",
        ),
        ("model = \"lenet6\"\n", "unknown model 'lenet6'"),
    ];
    for (text, needle) in cases {
        std::fs::write(&path, text).unwrap();
        let out = convkit(&[
            "train",
            "--config",
            path.to_str().unwrap(),
            "--out-dir",
            dir.path().join("runs").to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "{text:?} was accepted");
        let err = stderr(&out);
        assert!(err.contains(needle), "{text:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        if !needle.starts_with("--") && !needle.starts_with("unknown model") {
            assert!(err.contains("run.toml"), "the file is named: {err}");
        }
    }
    assert!(
        !dir.path().join("runs").exists(),
        "no run folder for a bad configuration"
    );
}

#[test]
fn a_named_recipe_is_the_base_configuration_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("runs");
    let out = convkit(&[
        "train",
        "--recipe",
        "airbench94",
        "--dataset",
        "mnist",
        "--epochs",
        "1",
        "--train-limit",
        "256",
        "--batch-size",
        "128",
        "--tta",
        "none",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    ok(&out);
    let text = std::fs::read_to_string(only_run(&out_dir).join("config.toml")).unwrap();
    for line in [
        "model = \"airbench94\"",
        "batch_size = 128",
        "nesterov = true",
        "label_smoothing = 0.2",
        "augment = \"crop:padding=2:mode=reflect,alt-flip\"",
        "warmup_fraction = 0.23",
        "[whitening]",
        "tta = \"none\"",
    ] {
        assert!(text.contains(line), "{line} not in\n{text}");
    }
    let unknown = convkit(&["train", "--recipe", "fastest"]);
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("airbench94"),
        "{}",
        stderr(&unknown)
    );
    let both = convkit(&["train", "--recipe", "airbench94", "--config", "x.toml"]);
    assert!(!both.status.success());
    assert!(
        stderr(&both).contains("cannot be used with"),
        "{}",
        stderr(&both)
    );
}
