//! `convkit train`'s optimiser, schedule and clipping flags, and `convkit init-stats`, end to end.
mod common;
use common::{convkit, tensor_bits};
use std::process::Output;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The `lr X` field of each epoch line: the rate the epoch started with.
fn epoch_lrs(stdout: &str) -> Vec<f32> {
    stdout
        .lines()
        .filter(|l| l.starts_with("epoch "))
        .map(|l| {
            let field = l
                .split(" | ")
                .find(|f| f.starts_with("lr "))
                .expect("lr field");
            field[3..].trim().parse().unwrap()
        })
        .collect()
}

/// The starting rate of each epoch of `convkit train` on 256 images (4 batches of 64) with
/// `flags`, the run checked to succeed.
fn epoch_lrs_of(flags: &[&str]) -> Vec<f32> {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "train",
        "--out-dir",
        dir.path().to_str().unwrap(),
        "--train-limit",
        "256",
    ];
    args.extend(flags);
    let out = convkit(&args);
    assert!(out.status.success(), "{}", text(&out));
    epoch_lrs(&text(&out))
}

fn assert_rates(got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < tolerance, "{got:?} vs {want:?}");
    }
}

#[test]
fn schedule_steps_per_epoch_with_new_optimizers_and_clipping() {
    let lrs = epoch_lrs_of(&[
        "--epochs",
        "2",
        "--optimizer",
        "adamw",
        "--lr",
        "0.002",
        "--no-decay-bias-norm",
        "--schedule",
        "step",
        "--step-size",
        "1",
        "--gamma",
        "0.5",
        "--clip-grad-norm",
        "1.0",
    ]);
    assert_eq!(lrs, [0.002, 0.001]);

    // Per batch: 4 steps per epoch; a 1-epoch warm-up from 0.1·lr, then cosine over the
    // remaining 8 steps, half-way through at the start of epoch 3.
    let lrs = epoch_lrs_of(&[
        "--epochs",
        "3",
        "--optimizer",
        "sgd",
        "--nesterov",
        "--weight-decay",
        "1e-4",
        "--lr",
        "0.01",
        "--schedule",
        "cosine",
        "--schedule-interval",
        "batch",
        "--warmup-epochs",
        "1",
        "--clip-grad-value",
        "0.5",
    ]);
    assert_rates(&lrs, &[0.001, 0.01, 0.005], 1e-6);

    // One-cycle with PyTorch's options, as Wong et al.'s triangle: 8 steps, the rise ends at
    // step pct_start·8 − 1 = 3, so epoch 2 starts a quarter of the way down, linearly, from 0.1
    // towards 0.1 / (10·1e4).
    let lrs = epoch_lrs_of(&[
        "--epochs",
        "2",
        "--optimizer",
        "adam",
        "--schedule",
        "one-cycle",
        "--max-lr",
        "0.1",
        "--pct-start",
        "0.5",
        "--anneal",
        "linear",
        "--div-factor",
        "10",
    ]);
    assert_rates(&lrs, &[0.01, 0.1 - 0.25 * (0.1 - 1e-6)], 1e-5);
}

/// Lookahead is announced, recorded in the run's configuration and its slow weights saved, so
/// that a run stopped after one epoch and resumed ends where the straight run ends.
#[test]
fn lookahead_runs_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &str, extra: &[&str]| {
        let out_dir = dir.path().join(out);
        let mut args = vec!["train", "--out-dir", out_dir.to_str().unwrap()];
        args.extend(["--train-limit", "192", "--epochs", "2", "--lookahead", "2"]);
        args.extend(extra);
        let out = convkit(&args);
        assert!(out.status.success(), "{}", text(&out));
        (text(&out), out_dir.join("lenet5-mnist"))
    };
    let (printed, straight) = run("straight", &[]);
    assert!(
        printed.contains("lookahead: every 2 steps the slow weights move 0.5 of the way"),
        "{printed}"
    );
    let config = std::fs::read_to_string(straight.join("config.toml")).unwrap();
    assert!(config.contains("[optimizer.lookahead]"), "{config}");
    let (_, split) = run("split", &["--stop-after", "1"]);
    let resumed = convkit(&["train", "--resume", split.to_str().unwrap()]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    let tensors = |run: &std::path::Path| tensor_bits(&run.join("last.safetensors"));
    assert_eq!(tensors(&split), tensors(&straight));
}

#[test]
fn bad_optimizer_and_schedule_flags_are_rejected() {
    for (args, needle) in [
        (
            vec!["--optimizer", "adam", "--nesterov"],
            "--nesterov (optimizer.nesterov): applies to the sgd optimiser only",
        ),
        (vec!["--schedule", "multistep"], "--milestones"),
        (
            vec!["--schedule", "plateau", "--schedule-interval", "batch"],
            "once per epoch",
        ),
        (
            vec!["--schedule", "step", "--step-size", "0"],
            "step_size must be at least 1",
        ),
        (
            vec!["--schedule", "one-cycle", "--pct-start", "1.5"],
            "pct_start must be in (0, 1), got 1.5",
        ),
        (
            vec!["--schedule", "one-cycle", "--div-factor", "0"],
            "div_factor and final_div_factor must be positive",
        ),
        (
            vec!["--label-smoothing", "1.5"],
            "--label-smoothing (data.label_smoothing): must be in [0, 1], got 1.5",
        ),
        (
            vec!["--lookahead", "0"],
            "--lookahead (optimizer.lookahead.k): must be at least 1 step",
        ),
        (
            vec!["--lookahead", "5", "--lookahead-alpha", "1.5"],
            "--lookahead-alpha (optimizer.lookahead.alpha): must be in (0, 1], got 1.5",
        ),
        (
            vec!["--optimizer", "rmsprop", "--lr=-1"],
            "--lr (optimizer.lr): must be a positive number",
        ),
    ] {
        let mut all = vec!["train", "--train-limit", "64", "--out-dir"];
        let dir = tempfile::tempdir().unwrap();
        all.push(dir.path().to_str().unwrap());
        all.extend(args);
        let out = convkit(&all);
        assert!(
            !out.status.success() && text(&out).contains(needle),
            "{all:?}: {}",
            text(&out)
        );
    }
}

#[test]
fn init_stats_prints_a_table_and_writes_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("hist.png");
    let out = convkit(&[
        "init-stats",
        "--width",
        "256",
        "--layers",
        "3",
        "--activation",
        "relu",
        "--init",
        "kaiming",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = text(&out);
    let rows = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with(char::is_numeric))
        .count();
    assert_eq!(rows, 3, "{stdout}");
    let image = image::open(&png).unwrap();
    assert_eq!((image.width(), image.height()), (3 * 240, 200));
    // Something was drawn: not every pixel is white.
    assert!(image.to_rgb8().pixels().any(|p| p.0 != [255, 255, 255]));
}
