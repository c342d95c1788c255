//! Snapshot ensembles: `train --snapshots` and cyclic schedules save a snapshot at each cycle's
//! end, and `convkit eval A B ...` ensembles checkpoints (refusing ones that don't fit together).
mod common;
use common::{convkit, image_folder, ok, stderr, stdout, train_on_folder};
use convkit_nn::checkpoint::Checkpoint;
use std::path::{Path, PathBuf};

fn train(data: &Path, out: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec!["--batch-size", "8"];
    args.extend_from_slice(extra);
    ok(&train_on_folder(data, out, &args));
    out.join("lenet5-folder")
}

/// The snapshot files of a run, and the epoch each was saved in.
fn snapshots(run: &Path) -> Vec<(String, usize)> {
    let mut found: Vec<(String, usize)> = std::fs::read_dir(run)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().contains("snapshot-"))
        .map(|p| {
            let epoch = Checkpoint::load(&p).unwrap().meta().epoch;
            (p.file_name().unwrap().to_str().unwrap().to_string(), epoch)
        })
        .collect();
    found.sort();
    found
}

/// `(top-1 %, loss)` from a line `... top-1 X% (a/b), top-5 Y%, loss Z`.
fn top1_and_loss(line: &str) -> (f64, f64) {
    let top1 = line
        .split("top-1 ")
        .nth(1)
        .unwrap()
        .split('%')
        .next()
        .unwrap();
    let loss = line.split("loss ").nth(1).unwrap().trim();
    (top1.parse().unwrap(), loss.parse().unwrap())
}

#[test]
fn snapshots_are_saved_at_cycle_ends_and_ensembled() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    image_folder(&data, 12, 120);
    // Two cosine cycles of two epochs each, stepped per batch.
    let run = train(
        &data,
        &dir.path().join("snap"),
        &["--epochs", "4", "--snapshots", "2", "--lr", "0.05"],
    );
    assert_eq!(
        snapshots(&run),
        [
            ("snapshot-1.safetensors".to_string(), 2),
            ("snapshot-2.safetensors".to_string(), 4)
        ]
    );
    // SGDR per epoch with periods 1, 2, 4: cycles end after epochs 1 and 3.
    let sgdr = train(
        &data,
        &dir.path().join("sgdr"),
        &[
            "--epochs",
            "4",
            "--schedule",
            "warm-restarts",
            "--schedule-interval",
            "epoch",
            "--t-0",
            "1",
            "--t-mult",
            "2",
        ],
    );
    assert_eq!(
        snapshots(&sgdr),
        [
            ("snapshot-1.safetensors".to_string(), 1),
            ("snapshot-2.safetensors".to_string(), 3)
        ]
    );
    let out = convkit(&["train", "--snapshots", "3", "--epochs", "4"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("multiple"), "{}", stderr(&out));

    let (a, b) = (
        run.join("snapshot-1.safetensors"),
        run.join("snapshot-2.safetensors"),
    );
    let eval = |paths: &[&Path]| {
        let mut args = vec!["eval", "--data-dir", data.to_str().unwrap()];
        args.extend(paths.iter().map(|p| p.to_str().unwrap()));
        let out = convkit(&args);
        ok(&out);
        stdout(&out)
    };
    let text = eval(&[&a, &b]);
    assert!(text.contains("ensemble of 2 checkpoints"), "{text}");
    let members: Vec<&str> = text.lines().filter(|l| l.contains("snapshot-")).collect();
    assert_eq!(members.len(), 2, "{text}");
    let ensemble_line = text
        .lines()
        .find(|l| l.starts_with("ensemble (mean probability)"))
        .unwrap();
    let (top1, loss) = top1_and_loss(ensemble_line);
    assert!((0.0..=100.0).contains(&top1) && loss.is_finite(), "{text}");

    // An ensemble of one model with itself is that model.
    let single = eval(&[&a]);
    let single_accuracy = single
        .lines()
        .find_map(|l| l.strip_prefix("test accuracy: "))
        .unwrap();
    let twice = eval(&[&a, &a]);
    let (top1, loss) = top1_and_loss(
        twice
            .lines()
            .find(|l| l.starts_with("ensemble (mean probability)"))
            .unwrap(),
    );
    let (member_top1, member_loss) =
        top1_and_loss(twice.lines().find(|l| l.contains("snapshot-1")).unwrap());
    assert_eq!(top1, member_top1, "{twice}");
    assert!((loss - member_loss).abs() < 2e-4, "{twice}");
    assert!(
        single_accuracy.starts_with(&format!("{top1:.2}%")),
        "{single} vs {twice}"
    );
}

#[test]
fn checkpoints_that_disagree_are_not_ensembled() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    image_folder(&data, 4, 120);
    let three = train(&data, &dir.path().join("three"), &[]);
    // The same images with one class fewer.
    std::fs::remove_dir_all(data.join("train/class2")).unwrap();
    std::fs::remove_dir_all(data.join("test/class2")).unwrap();
    let two = train(&data, &dir.path().join("two"), &[]);
    let out = convkit(&[
        "eval",
        "--data-dir",
        data.to_str().unwrap(),
        three.join("last.safetensors").to_str().unwrap(),
        two.join("last.safetensors").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("cannot ensemble") && err.contains("classes differ"),
        "{err}"
    );
    let out = convkit(&["eval"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("checkpoint"), "{}", stderr(&out));
}
