//! `convkit augment` on a small generated image folder: the grid's size, and start-up errors.
mod common;
use common::convkit;

use std::path::Path;

/// Two classes of three 6×5 RGB images.
fn folder(root: &Path) {
    for (class, colour) in [("cats", [200u8, 30, 30]), ("dogs", [30, 30, 200])] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for k in 0..3u8 {
            let image = image::RgbImage::from_fn(5, 6, |x, y| {
                image::Rgb([
                    colour[0],
                    colour[1].wrapping_add(k * 40 + x as u8 * 9),
                    y as u8 * 30,
                ])
            });
            image
                .save(root.join(class).join(format!("{k}.png")))
                .unwrap();
        }
    }
}

#[test]
fn writes_a_grid_of_originals_and_variants() {
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path());
    let out = dir.path().join("grid.png");
    let result = convkit(&[
        "augment",
        "--dataset",
        "folder",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--transforms",
        "crop,flip,jitter",
        "--samples",
        "2",
        "--variants",
        "3",
        "--zoom",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let grid = image::open(&out).unwrap();
    // 4 columns of 5 px and 2 rows of 6 px, 2 px gaps, zoomed twice.
    assert_eq!(
        (grid.width(), grid.height()),
        (2 * (4 * 5 + 3 * 2), 2 * (2 * 6 + 2))
    );
}

#[test]
fn unknown_transforms_and_missing_folders_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path());
    let out = dir.path().join("grid.png");
    let data_dir = dir.path().to_str().unwrap();
    let result = convkit(&[
        "augment",
        "--dataset",
        "folder",
        "--data-dir",
        data_dir,
        "--transforms",
        "crop,spin",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        !result.status.success() && stderr.contains("unknown transform 'spin'"),
        "{stderr}"
    );
    let result = convkit(&[
        "augment",
        "--dataset",
        "folder",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("--data-dir") && stderr.contains("folder dataset needs"),
        "{stderr}"
    );
    assert!(!out.exists());
}
