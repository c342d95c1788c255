//! `convkit lr-find` draws the range test and suggests a rate; `train --lr auto` trains with it
//! and records it in config.toml.
mod common;
use common::{convkit, image_folder, ok, stderr, stdout, train_on_folder};

#[test]
fn lr_find_suggests_a_rate_and_train_lr_auto_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    image_folder(&data, 8, 60);
    let plot = dir.path().join("lr.png");
    let out = convkit(&[
        "lr-find",
        "--dataset",
        "folder",
        "--data-dir",
        data.to_str().unwrap(),
        "--batch-size",
        "4",
        "--iterations",
        "40",
        "--start-lr",
        "1e-5",
        "--out",
        plot.to_str().unwrap(),
    ]);
    ok(&out);
    let text = stdout(&out);
    assert!(text.contains("suggested learning rate: "), "{text}");
    assert!(image::open(&plot).is_ok(), "no plot");

    let runs = dir.path().join("runs");
    let out = train_on_folder(&data, &runs, &["--batch-size", "4", "--lr", "auto"]);
    ok(&out);
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.starts_with("--lr auto: the range test suggests "))
        .unwrap_or_else(|| panic!("{text}"));
    let suggested: f32 = line.split_whitespace().nth(6).unwrap().parse().unwrap();
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let config = convkit_train::TrainConfig::load(&run.join("config.toml")).unwrap();
    let recorded = config.optimizer.lr.unwrap();
    assert!(
        (recorded / suggested - 1.0).abs() < 1e-3,
        "{recorded} vs {suggested}"
    );

    let out = convkit(&["train", "--resume", run.to_str().unwrap(), "--lr", "auto"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--lr auto chooses the rate of a fresh run"),
        "{}",
        stderr(&out)
    );
    let out = convkit(&["train", "--lr", "fast"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("neither a number nor `auto`"),
        "{}",
        stderr(&out)
    );
}
