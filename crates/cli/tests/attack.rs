//! `convkit attack`: robust accuracy per ε in a table and a CSV, a robustness curve and an example
//! grid, the gradient-masking checks, and clear errors for bad input.
mod common;
use common::{convkit, image_folder, ok, stderr, stdout, train_on_folder};
use convkit_models::ModelSpec;
use convkit_nn::checkpoint::{self, CheckpointMeta};
use convkit_tensor::seeded_rng;
use std::path::{Path, PathBuf};

/// LeNet-5 trained for a few seconds on a small, easy image folder; its best checkpoint.
fn trained_checkpoint(root: &Path) -> (PathBuf, PathBuf) {
    let data = root.join("data");
    image_folder(&data, 16, 120);
    let out = root.join("runs");
    ok(&train_on_folder(
        &data,
        &out,
        &["--batch-size", "8", "--epochs", "2"],
    ));
    (data, out.join("lenet5-folder").join("best.safetensors"))
}

/// The CSV's rows as (attack, norm, eps, accuracy).
fn csv_rows(path: &Path) -> Vec<(String, String, f32, f64)> {
    let csv = std::fs::read_to_string(path).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("attack,norm,eps,correct,total,accuracy"));
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (
                cells[0].to_string(),
                cells[1].to_string(),
                cells[2].parse().unwrap(),
                cells[5].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn attack_writes_the_table_csv_curve_and_grid() {
    let dir = tempfile::tempdir().unwrap();
    let (data, ckpt) = trained_checkpoint(dir.path());
    let out_dir = dir.path().join("attack");
    let out = convkit(&[
        "attack",
        ckpt.to_str().unwrap(),
        "--method",
        "fgsm,pgd,deepfool",
        "--eps",
        "0,0.1,0.3",
        "--eps-l2",
        "0,2",
        "--steps",
        "5",
        "--grid-images",
        "3",
        "--data-dir",
        data.to_str().unwrap(),
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    ok(&out);
    let text = stdout(&out);
    assert!(text.contains("robust accuracy on 12 images"), "{text}");
    assert!(
        text.contains("gradient-masking checks on 12 images"),
        "{text}"
    );

    let rows = csv_rows(&out_dir.join("robustness.csv"));
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        names,
        ["fgsm", "fgsm", "fgsm", "pgd-5", "pgd-5", "pgd-5", "deepfool", "deepfool"]
    );
    assert_eq!((rows[6].1.as_str(), rows[7].2), ("l2", 2.0));
    // ε = 0 is the clean accuracy for every attack, and PGD only loses accuracy as ε grows.
    let clean = rows[0].3;
    assert!(clean > 0.6, "the test model learned nothing: {rows:?}");
    assert!(
        rows.iter().filter(|r| r.2 == 0.0).all(|r| r.3 == clean),
        "{rows:?}"
    );
    assert!(rows[3].3 >= rows[4].3 && rows[4].3 >= rows[5].3, "{rows:?}");

    let curve = image::open(out_dir.join("robustness.png")).unwrap();
    assert_eq!(
        (curve.width(), curve.height()),
        (1120, 400),
        "one panel per norm"
    );
    let grid = image::open(out_dir.join("examples.png")).unwrap().to_rgb8();
    // 16×16 images zoomed ×6; clean + (perturbation, adversarial) for 3 attacks; 3 rows.
    assert_eq!(grid.width(), 6 + 7 * (96 + 6));
    let coloured = grid.pixels().filter(|p| p.0[0] != p.0[1]).count();
    assert!(
        coloured > 100,
        "the RGB images and coloured captions are drawn"
    );
}

#[test]
fn bad_eps_and_unknown_attacks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("never-read.safetensors");
    let out = convkit(&["attack", ckpt.to_str().unwrap(), "--eps", "0,-0.1"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--eps: ε must be a finite number ≥ 0, got -0.1"),
        "{}",
        stderr(&out)
    );
    let out = convkit(&["attack", ckpt.to_str().unwrap(), "--method", "fgsm,jsma"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("unknown attack 'jsma'") && err.contains("fgsm, fgsm-rs, bim, pgd"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_checkpoint_without_normalisation_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ModelSpec {
        in_channels: 1,
        num_classes: 10,
        input_size: (28, 28),
    };
    let model = convkit_models::build_model("lenet5", &spec, &mut seeded_rng(0)).unwrap();
    let mut meta = CheckpointMeta::new("lenet5");
    meta.config = serde_json::json!({ "spec": spec, "dataset": "mnist" });
    meta.class_names = (0..10).map(|c| c.to_string()).collect();
    let path = dir.path().join("bare.safetensors");
    checkpoint::save(&path, model.as_ref(), &meta, None).unwrap();
    let out = convkit(&["attack", path.to_str().unwrap(), "--limit", "4"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("bare.safetensors") && err.contains("no normalisation metadata"),
        "{err}"
    );
}
