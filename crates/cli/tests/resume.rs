//! `convkit train --resume`: a run stopped after 2 of 3 epochs and resumed ends exactly where the
//! straight run ends (the same per-epoch metrics, byte-identical weights), with a plateau schedule
//! and with a per-batch cyclic schedule plus augmentation and mixup; mismatching options are
//! refused.
mod common;
use common::{
    convkit, image_folder, metrics_column, ok, only_run, stderr, stdout, tensor_bits,
    train_on_folder,
};
use std::path::{Path, PathBuf};

/// Trains into `out/run` with `extra` options; returns the run folder and what it printed.
fn train(data: &Path, out: &Path, extra: &[&str]) -> (PathBuf, String) {
    let mut args = vec!["--batch-size", "8", "--seed", "5"];
    args.extend_from_slice(extra);
    let output = train_on_folder(data, out, &args);
    ok(&output);
    (only_run(out), stdout(&output))
}

/// A straight run of `epochs` vs the same stopped after `epochs - 1` and resumed, compared epoch by
/// epoch and byte by byte, on images whose classes differ by `signal`; returns what the straight
/// run printed.
fn check_resume_is_exact(signal: u8, epochs: usize, options: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    image_folder(&data, 12, signal);
    let (epochs, stop) = (epochs.to_string(), (epochs - 1).to_string());
    let mut all = vec!["--epochs", &epochs];
    all.extend_from_slice(options);
    let (straight, printed) = train(&data, &dir.path().join("straight"), &all);
    let mut stopped = all.clone();
    stopped.extend_from_slice(&["--stop-after", &stop]);
    let (split, _) = train(&data, &dir.path().join("split"), &stopped);
    assert_eq!(
        metrics_column(&split, "epoch").len(),
        epochs.parse::<usize>().unwrap() - 1
    );
    let out = convkit(&["train", "--resume", split.to_str().unwrap()]);
    ok(&out);
    assert!(
        stdout(&out).contains(&format!("resuming {} after epoch {stop}", split.display())),
        "{}",
        stdout(&out)
    );
    for column in [
        "epoch",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "test_loss",
    ] {
        assert_eq!(
            metrics_column(&split, column),
            metrics_column(&straight, column),
            "{column} with {options:?}"
        );
    }
    // last.safetensors holds the optimiser state too.
    for file in ["last.safetensors", "best.safetensors"] {
        let bits = |run: &Path| tensor_bits(&run.join(file));
        assert!(
            bits(&split) == bits(&straight),
            "{file} differs with {options:?}"
        );
    }
    printed
}

#[test]
fn resuming_with_a_plateau_schedule_is_exact() {
    // On pure noise the validation loss rises in epoch 3, so with patience 0 the rate is cut
    // before epoch 4: the resumed run has to restore the cut rate and the plateau counters.
    let printed = check_resume_is_exact(
        0,
        4,
        &[
            "--schedule",
            "plateau",
            "--patience",
            "0",
            "--val-fraction",
            "0.25",
            "--lr",
            "0.05",
        ],
    );
    assert!(
        printed.contains("epoch 3/4: train") && printed.contains("lr 5.0000e-3"),
        "no cut before epoch 4:\n{printed}"
    );
}

#[test]
fn resuming_with_a_per_batch_schedule_augmentation_and_mixup_is_exact() {
    check_resume_is_exact(
        120,
        3,
        &[
            "--schedule",
            "cyclic",
            "--cycle-steps",
            "3",
            "--augment",
            "crop,flip",
            "--mixup",
            "0.3",
        ],
    );
}

#[test]
fn resuming_a_model_with_dropout_is_exact() {
    // MobileNetV2's classifier drops with p = 0.2: epoch 3's masks must not depend on the resume.
    check_resume_is_exact(120, 3, &["--model", "mobilenet-v2"]);
}

#[test]
fn resuming_adversarial_training_is_exact() {
    // The random starts of epoch k are drawn from (seed, k): the resumed epoch draws the same.
    let printed = check_resume_is_exact(
        120,
        3,
        &[
            "--adversarial",
            "fgsm-rs",
            "--adv-eps",
            "0.1",
            "--adv-eval-steps",
            "3",
            "--adv-eval-images",
            "6",
        ],
    );
    assert!(printed.contains("robust accuracy"), "{printed}");
}

#[test]
fn resume_refuses_other_options_and_finished_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    image_folder(&data, 4, 120);
    let runs = dir.path().join("runs");
    let (run, _) = train(&data, &runs, &["--epochs", "2", "--stop-after", "1"]);
    let resume = |extra: &[&str]| {
        let mut args = vec!["train", "--resume", run.to_str().unwrap()];
        args.extend_from_slice(extra);
        convkit(&args)
    };
    let out = resume(&["--batch-size", "16"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("do not match the run being resumed")
            && err.contains("batch_size = 16 (the run has 8)"),
        "{err}"
    );
    if let Some(other) = convkit_models::model_names()
        .into_iter()
        .find(|&m| m != "lenet5")
    {
        let out = resume(&["--model", other]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(
            err.contains(&format!("model = {other} (the run has lenet5)")),
            "{err}"
        );
        assert!(
            !err.contains("batch_size"),
            "only what differs is named: {err}"
        );
    }
    // The same options as the run's own are accepted, and a checkpoint of the run stands for its
    // folder; then the run is complete.
    let best = run.join("best.safetensors");
    let out = convkit(&[
        "train",
        "--resume",
        best.to_str().unwrap(),
        "--batch-size",
        "8",
        "--seed",
        "5",
    ]);
    ok(&out);
    assert!(stdout(&out).contains("after epoch 1"), "{}", stdout(&out));
    let out = resume(&[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("trained all its 2 epochs"),
        "{}",
        stderr(&out)
    );
    let out = convkit(&["train", "--resume", data.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not a run folder") && stderr(&out).contains("last.safetensors"),
        "{}",
        stderr(&out)
    );
}

/// A run folder of the previous format (format-1 checkpoints beside `resume.safetensors`): its
/// checkpoints still evaluate, resuming it is refused with what to do instead, and its weights
/// start a new run through --init-from.
#[test]
fn a_run_folder_of_the_previous_format_is_recognised() {
    use convkit_nn::checkpoint::{CheckpointMeta, METADATA_KEY};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    image_folder(&data, 4, 120);
    let (run, _) = train(&data, &dir.path().join("runs"), &["--epochs", "1"]);
    // Rewrite last.safetensors as format 1 wrote it: the weights and the old metadata only.
    let last = run.join("last.safetensors");
    let file = convkit_nn::io::read_safetensors(&last).unwrap();
    let meta: CheckpointMeta = serde_json::from_str(&file.metadata[METADATA_KEY]).unwrap();
    let old = CheckpointMeta {
        format_version: 1,
        run_id: None,
        run_state: None,
        ..meta
    };
    let weights: Vec<_> = file
        .tensors
        .into_iter()
        .filter(|(n, _)| !n.starts_with("optimizer."))
        .collect();
    let metadata = [(
        METADATA_KEY.to_string(),
        serde_json::to_string(&old).unwrap(),
    )]
    .into();
    convkit_nn::io::write_safetensors(&last, &weights, metadata).unwrap();
    std::fs::write(run.join("resume.safetensors"), b"old run state").unwrap();

    ok(&convkit(&[
        "eval",
        last.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]));
    let out = convkit(&["train", "--resume", run.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("previous checkpoint format") && err.contains("--init-from"),
        "{err}"
    );
    let (_, printed) = train(
        &data,
        &dir.path().join("again"),
        &["--epochs", "1", "--init-from", last.to_str().unwrap()],
    );
    assert!(printed.contains("epoch 1/1"), "{printed}");
}
