//! `convkit train --adversarial`: robust accuracy per epoch in robust.csv, the settings in
//! config.toml, and clear errors for settings that cannot work.
mod common;
use common::{convkit, image_folder, ok, only_run, stderr, train_on_folder};

#[test]
fn adversarial_training_logs_robust_accuracy_and_records_its_settings() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    image_folder(&data, 8, 120);
    let runs = dir.path().join("runs");
    let out = train_on_folder(
        &data,
        &runs,
        &[
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--adversarial",
            "pgd",
            "--steps",
            "3",
            "--adv-eps",
            "0.05",
            "--adv-warmup-epochs",
            "1",
            "--adv-eval-steps",
            "5",
            "--adv-eval-images",
            "12",
        ],
    );
    ok(&out);
    let run = only_run(&runs);
    let csv = std::fs::read_to_string(run.join("robust.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "epoch,eps,pgd_steps,restarts,images,robust_accuracy,clean_accuracy"
    );
    assert_eq!(rows.len(), 3, "{csv}");
    for row in &rows[1..] {
        let cells: Vec<f64> = row.split(',').map(|c| c.parse().unwrap()).collect();
        assert_eq!(&cells[1..5], [0.05, 5.0, 1.0, 12.0], "{row}");
        assert!(
            cells[5] <= cells[6] + 1.0 / 12.0,
            "robust above clean: {row}"
        );
    }
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    for line in [
        "[adversarial]",
        "method = \"pgd\"",
        "steps = 3",
        "warmup_epochs = 1",
    ] {
        assert!(config.contains(line), "{line} not in\n{config}");
    }
}

#[test]
fn bad_adversarial_settings_are_refused() {
    let cases: [(&[&str], &str); 3] = [
        (&["--adv-eps", "0.1"], "--adversarial"),
        (
            &["--adversarial", "fgsm-rs", "--adv-eps", "2"],
            "--adv-eps (adversarial.eps): must be in (0, 1]",
        ),
        (
            &["--adversarial", "pgd", "--steps", "0"],
            "--steps (adversarial.steps): PGD needs at least 1 step",
        ),
    ];
    for (options, needle) in cases {
        let mut args = vec!["train", "--train-limit", "64"];
        args.extend_from_slice(options);
        let out = convkit(&args);
        assert!(!out.status.success(), "{options:?} accepted");
        assert!(
            stderr(&out).contains(needle),
            "{options:?}: {}",
            stderr(&out)
        );
    }
}
