//! Bad inputs in the middle of real work, and the normal workflows that used to fail: a run that
//! diverges, a search whose trials all fail, `--resume` of another run's checkpoint, export →
//! import → predict and eval of imported weights, eval finding the data its run trained on.
use crate::fixtures::{edited_checkpoint, lenet_checkpoint, repo};
use crate::table::{case, check_refused, refuse_all, run_in, Case};
use std::path::{Path, PathBuf};

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs `c` in `dir` and returns what it printed, asserting success.
fn succeed(dir: &Path, c: &Case) -> String {
    let (code, stdout, stderr) = run_in(dir, c);
    assert_eq!(
        code,
        Some(0),
        "{:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        c.args
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stdout
}

/// A quick run on a generated 16×16 image folder; returns its run folder.
fn tiny_run(dir: &Path, data: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec![
        "train",
        "--dataset",
        "folder",
        "--data-dir",
        s(data),
        "--out-dir",
        s(&out),
        "--batch-size",
        "8",
    ];
    args.extend_from_slice(extra);
    succeed(dir, &case(&args, &[]));
    std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

#[test]
fn runs_that_cannot_go_on_stop_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    crate::common::image_folder(&data, 4, 60);
    let run_a = tiny_run(d, &data, "a", &["--epochs", "2", "--stop-after", "1"]);
    let run_b = tiny_run(d, &data, "b", &[]);
    let csv_a = std::fs::read(run_a.join("metrics.csv")).unwrap();
    // Resuming A's folder with B's checkpoint: refused with both run ids, A untouched.
    let b_last = run_b.join("last.safetensors");
    let in_a = run_a.join("from-b.safetensors");
    std::fs::copy(&b_last, &in_a).unwrap();
    let cases = vec![
        case(
            &["train", "--resume", s(&in_a)],
            &["belongs to run", "refusing to mix two runs"],
        ),
        case(
            &["train", "--resume", s(&run_a), "--lr", "0.5"],
            &["optimizer.lr", "the run has"],
        ),
        case(
            &["train", "--resume", s(&run_b)],
            &["has trained all its 1 epochs"],
        ),
    ];
    let refused = refuse_all(d, &cases);
    assert_eq!(std::fs::read(run_a.join("metrics.csv")).unwrap(), csv_a);

    // A learning rate of 1e30: the loss explodes and the run stops, naming the step.
    let diverge = case(
        &[
            "train",
            "--dataset",
            "folder",
            "--data-dir",
            s(&data),
            "--out-dir",
            "diverged",
            "--lr",
            "1e30",
            "--batch-size",
            "4",
        ],
        &["training diverged", "lower learning rate"],
    );
    let (code, stdout, stderr) = run_in(d, &diverge);
    check_refused(&diverge, code, &stdout, &stderr);
    assert!(!stdout.contains("test accuracy"), "{stdout}");

    // A search whose every trial fails (each diverges) exits non-zero.
    let search = case(
        &[
            "search",
            "--trials",
            "2",
            "--dataset",
            "folder",
            "--data-dir",
            s(&data),
            "--out-dir",
            "search",
            "--",
            "--lr",
            "1e30",
            "--batch-size",
            "2",
        ],
        &["all 2 trials failed (trial 1: training diverged"],
    );
    let (code, stdout, stderr) = run_in(d, &search);
    check_refused(&search, code, &stdout, &stderr);
    println!("{} bad inputs refused in workflows", refused + 2);
}

#[test]
fn imported_weights_are_usable_and_runs_remember_their_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ckpt = lenet_checkpoint(&d.join("lenet.safetensors"));
    let digit = repo().join("data/samples/digit3.png");
    // export → import (LeNet-5's own input and classes by default) → predict and eval.
    succeed(
        d,
        &case(&["export", s(&ckpt), "--out", "sd.safetensors"], &[]),
    );
    let printed = succeed(
        d,
        &case(
            &[
                "import",
                "sd.safetensors",
                "--model",
                "lenet5",
                "--out",
                "imported.safetensors",
            ],
            &[],
        ),
    );
    assert!(printed.contains("(1×28×28 input, 10 classes)"), "{printed}");
    assert!(printed.contains("input normalisation: none"), "{printed}");
    let printed = succeed(
        d,
        &case(
            &["predict", "--checkpoint", "imported.safetensors", s(&digit)],
            &[],
        ),
    );
    assert!(printed.contains("digit3.png: "), "{printed}");
    refuse_all(
        d,
        &[case(
            &["eval", "imported.safetensors"],
            &["imported weights", "--dataset"],
        )],
    );
    let printed = succeed(
        d,
        &case(&["eval", "imported.safetensors", "--dataset", "mnist"], &[]),
    );
    assert!(printed.contains("test accuracy: "), "{printed}");

    // A run folder's checkpoint is evaluated on the data its config.toml names, without
    // --data-dir.
    let data = d.join("data");
    crate::common::image_folder(&data, 4, 60);
    let run = tiny_run(d, &data, "runs", &[]);
    let printed = succeed(d, &case(&["eval", s(&run.join("best.safetensors"))], &[]));
    assert!(
        printed.contains("on folder test set (12 images)"),
        "{printed}"
    );

    // summary and import default to the model's natural input and classes.
    let printed = succeed(d, &case(&["summary", "resnet20"], &[]));
    assert!(
        printed.starts_with("resnet20, input 3×32×32, 10 classes"),
        "{printed}"
    );
    let printed = succeed(d, &case(&["summary", "lenet5"], &[]));
    assert!(
        printed.starts_with("lenet5, input 1×28×28, 10 classes"),
        "{printed}"
    );

    // A checkpoint of an earlier import (empty normalisation) predicts without normalising.
    let legacy = edited_checkpoint(&ckpt, &d.join("legacy.safetensors"), |m| {
        m["normalization"] = serde_json::json!({"mean": [], "std": []})
    });
    succeed(
        d,
        &case(&["predict", "--checkpoint", s(&legacy), s(&digit)], &[]),
    );
}
