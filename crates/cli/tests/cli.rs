//! End-to-end runs of the `convkit` binary: a short real training run on the embedded MNIST, then
//! eval and predict with its checkpoint, reproducibility, and the error paths a user can hit.
mod common;
use common::{convkit, stderr, stdout, tensor_bits};
use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs `convkit train` with `extra` arguments into a fresh folder; returns the run folder.
fn train(out_dir: &Path, extra: &[&str]) -> (Output, PathBuf) {
    let mut args = vec!["train", "--out-dir", out_dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = convkit(&args);
    (out, out_dir.join("lenet5-mnist"))
}

fn accuracy_line(text: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with("test accuracy: "))
        .unwrap_or_else(|| panic!("no accuracy in:\n{text}"));
    line["test accuracy: ".len()..]
        .split('%')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// One short run feeds the train, eval and predict checks (training is the slow part).
#[test]
fn train_eval_predict_on_mnist() {
    let dir = tempfile::tempdir().unwrap();
    let (out, run_dir) = train(dir.path(), &["--train-limit", "6000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let accuracy = accuracy_line(&stdout(&out));
    assert!(
        accuracy > 90.0,
        "6,000 images for one epoch should reach > 90%, got {accuracy}%"
    );
    let csv = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2, "header and one epoch:\n{csv}");
    assert!(run_dir.join("best.safetensors").exists() && run_dir.join("last.safetensors").exists());

    let checkpoint = run_dir.join("best.safetensors");
    let out = convkit(&["eval", "--checkpoint", checkpoint.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        (accuracy_line(&text) - accuracy).abs() < 0.01,
        "eval disagrees with train:\n{text}"
    );
    assert!(text.contains("confusion matrix"), "{text}");
    let mirrored = convkit(&["eval", checkpoint.to_str().unwrap(), "--tta", "mirror"]);
    assert!(mirrored.status.success(), "{}", stderr(&mirrored));
    let mirrored = stdout(&mirrored);
    assert!(mirrored.contains("10000 images, TTA mirror)"), "{mirrored}");
    // Mirrored digits are other shapes: the average of both views is not the plain accuracy.
    assert!(
        (accuracy_line(&mirrored) - accuracy).abs() >= 0.01,
        "TTA changed nothing:\n{mirrored}"
    );
    let top5: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("top-5 accuracy: "))
        .and_then(|v| v.trim_end_matches('%').parse().ok())
        .unwrap_or_else(|| panic!("no top-5 line:\n{text}"));
    assert!(
        top5 >= accuracy && top5 <= 100.0,
        "top-5 {top5} < top-1 {accuracy}"
    );

    // A test image written as PNG must come back as its own label.
    let test_set = convkit_data::Mnist::load(
        &convkit_data::default_mnist_dir(),
        convkit_data::Split::Test,
    )
    .unwrap();
    let sample = test_set.get(0).unwrap();
    let png = dir.path().join("digit.png");
    image::GrayImage::from_raw(28, 28, sample.image.to_vec())
        .unwrap()
        .save(&png)
        .unwrap();
    let out = convkit(&[
        "predict",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        png.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let top = text.split(": ").nth(1).unwrap().split(' ').next().unwrap();
    assert_eq!(top, sample.label.to_string(), "{text}");
    assert_eq!(text.matches('%').count(), 5, "top-5 classes: {text}");

    // A file that is no image.
    let junk = dir.path().join("junk.png");
    std::fs::write(&junk, b"not an image").unwrap();
    let out = convkit(&[
        "predict",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        junk.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("junk.png") && stderr(&out).contains("decode"),
        "{}",
        stderr(&out)
    );

    // A checkpoint whose metadata describes another model (3 input channels) than its tensors hold.
    let mut bytes = std::fs::read(&checkpoint).unwrap();
    let at = bytes.windows(11).position(|w| w == b"in_channels").unwrap();
    let digit = at + bytes[at..].iter().position(|b| b.is_ascii_digit()).unwrap();
    bytes[digit] = b'3';
    let other = dir.path().join("other-model.safetensors");
    std::fs::write(&other, bytes).unwrap();
    let out = convkit(&["eval", "--checkpoint", other.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("other-model.safetensors") && err.contains("conv1.weight"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn same_seed_same_threads_same_run() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = ["--train-limit", "1000", "--seed", "7"];
    let (out_a, run_a) = train(a.path(), &args);
    let (out_b, run_b) = train(b.path(), &args);
    assert!(out_a.status.success() && out_b.status.success());
    let weights = |run: &Path| tensor_bits(&run.join("last.safetensors"));
    assert!(
        weights(&run_a) == weights(&run_b),
        "same seed, different weights"
    );
    let losses = |run: &Path| {
        let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
        csv.lines()
            .nth(1)
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(losses(&run_a), losses(&run_b));
}

#[test]
fn diverging_run_stops_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = train(dir.path(), &["--train-limit", "640", "--lr", "10000"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("training diverged") && err.contains("lower learning rate"),
        "{err}"
    );
    assert!(err.contains("step"), "names the step: {err}");
}

#[test]
fn missing_and_truncated_datasets_are_reported_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = convkit(&["train", "--data-dir", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("train-images-idx3-ubyte") && err.contains("--data-dir"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let good = convkit_data::default_mnist_dir();
    for name in [
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        std::fs::copy(good.join(name), dir.path().join(name)).unwrap();
    }
    let full = std::fs::read(good.join("train-images-idx3-ubyte.gz")).unwrap();
    std::fs::write(
        dir.path().join("train-images-idx3-ubyte.gz"),
        &full[..full.len() / 2],
    )
    .unwrap();
    let out = convkit(&["train", "--data-dir", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("train-images-idx3-ubyte.gz") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn augmentation_workers_and_validation_split() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = |workers| {
        [
            "--train-limit",
            "1000",
            "--augment",
            "crop,rotate",
            "--val-fraction",
            "0.2",
            "--workers",
            workers,
        ]
    };
    let (out_a, run_a) = train(a.path(), &args("1"));
    let (out_b, run_b) = train(b.path(), &args("2"));
    assert!(out_a.status.success(), "{}", stderr(&out_a));
    assert!(out_b.status.success(), "{}", stderr(&out_b));
    let text = stdout(&out_a);
    assert!(text.contains("(800 images)"), "20% held out:\n{text}");
    assert!(text.contains("validation: 200 images held out"), "{text}");
    assert!(text.contains("validation loss"), "{text}");
    let csv = std::fs::read_to_string(run_a.join("metrics.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let val_accuracy: f64 = row[header.iter().position(|&h| h == "val_accuracy").unwrap()]
        .parse()
        .unwrap_or_else(|_| panic!("no validation accuracy in metrics.csv:\n{csv}"));
    assert!((0.0..=1.0).contains(&val_accuracy), "{csv}");
    let weights = |run: &Path| tensor_bits(&run.join("last.safetensors"));
    assert!(
        weights(&run_a) == weights(&run_b),
        "the worker count changed the run"
    );

    let mixup_dir = tempfile::tempdir().unwrap();
    let (out, run) = train(
        mixup_dir.path(),
        &["--train-limit", "500", "--mixup", "0.4"],
    );
    assert!(out.status.success(), "mixup run: {}", stderr(&out));
    assert!(run.join("last.safetensors").exists());
    let out = convkit(&["train", "--mixup", "0"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("alpha"), "{}", stderr(&out));
    let out = convkit(&["train", "--augment", "crop,sparkle"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("sparkle"), "{}", stderr(&out));
    let out = convkit(&["train", "--val-fraction", "1.5"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("1.5"), "{}", stderr(&out));
}

#[test]
fn early_stopping_ends_a_stalled_run() {
    let dir = tempfile::tempdir().unwrap();
    // With a vanishing learning rate nothing improves after the first epoch.
    let (out, run) = train(
        dir.path(),
        &[
            "--train-limit",
            "300",
            "--epochs",
            "4",
            "--lr",
            "1e-12",
            "--early-stop",
            "1",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("early stopping"), "{text}");
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "header and two epochs:\n{csv}");
    let curves = image::open(run.join("curves.png")).expect("curves.png decodes");
    assert_eq!((curves.width(), curves.height()), (960, 360));
    let pixels = curves.to_rgb8();
    assert!(
        // The training series is the first of the palette.
        pixels.pixels().any(|p| p.0 == convkit_plot::PALETTE[0]),
        "no training curve drawn"
    );
    let out = convkit(&["train", "--early-stop", "0"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--early-stop"), "{}", stderr(&out));
}

#[test]
fn unknown_names_are_rejected() {
    let out = convkit(&["train", "--model", "resnet9000"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("lenet5"),
        "lists the models: {}",
        stderr(&out)
    );
    let out = convkit(&["train", "--dataset", "imagenet"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("mnist"),
        "lists the datasets: {}",
        stderr(&out)
    );
}

#[test]
fn bad_checkpoints_and_images_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.safetensors");
    std::fs::write(&bogus, b"not a checkpoint").unwrap();
    let out = convkit(&["eval", "--checkpoint", bogus.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("bogus.safetensors") && !stderr(&out).contains("panicked"),
        "{}",
        stderr(&out)
    );

    let missing = dir.path().join("missing.safetensors");
    let out = convkit(&[
        "predict",
        "--checkpoint",
        missing.to_str().unwrap(),
        "x.png",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("missing.safetensors"),
        "{}",
        stderr(&out)
    );
}
