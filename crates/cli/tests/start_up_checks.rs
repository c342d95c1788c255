//! Bad augmentation and mixup settings stop `convkit train` at start-up, before a run folder
//! exists or an epoch starts, with a message naming the setting.
mod common;
use common::{convkit, stderr, stdout};

#[test]
fn invalid_transform_and_mixup_settings_are_rejected_before_training() {
    let cases: [(&[&str], &str); 9] = [
        (
            &["--augment", "crop,sparkle"],
            "unknown transform 'sparkle'",
        ),
        (
            &["--augment", "flip:p=1.5"],
            "probability must be in [0, 1], got 1.5",
        ),
        (&["--augment", "flip:q=0.5"], "unknown parameter 'q'"),
        (
            &["--augment", "cutout:size=x"],
            "size=x is not a valid whole number",
        ),
        // Checked against MNIST's 28×28 grey images once they are loaded.
        (
            &["--augment", "crop:padding=40"],
            "padding 40 is too large for a 28x28 crop",
        ),
        (
            &["--augment", "flip,cutout:size=56"],
            "size 56 erases the whole of 28x28 images",
        ),
        (&["--augment", "pca"], "needs RGB images"),
        (
            &["--mixup", "-1"],
            "alpha must be a positive number, got -1",
        ),
        (&["--val-fraction", "-0.1"], "--val-fraction"),
    ];
    for (options, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("runs");
        let mut args = vec![
            "train",
            "--train-limit",
            "100",
            "--out-dir",
            out_dir.to_str().unwrap(),
        ];
        args.extend_from_slice(options);
        let out = convkit(&args);
        assert!(!out.status.success(), "{options:?} was accepted");
        let err = stderr(&out);
        assert!(err.contains(message), "{options:?}: {err}");
        assert!(
            err.contains("--augment") || !options.contains(&"--augment"),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            !stdout(&out).contains("epoch"),
            "{options:?} started training"
        );
        assert!(!out_dir.exists(), "{options:?} created a run folder");
    }
}
