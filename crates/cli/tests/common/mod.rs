//! What the CLI test files share: running the binary, reading its output, and a small
//! generated image folder to train on in seconds.
#![allow(dead_code)] // each test file uses its own part

#[cfg(feature = "mpi")]
pub mod mpi;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn convkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convkit"))
        .args(args)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .expect("convkit runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that `out` succeeded, showing its output otherwise.
pub fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// `root/train` and `root/test`: three classes of noisy 16×16 RGB images, each class brighter by
/// `signal` in its own channel (0: pure noise, nothing to learn); `per_class` training and 4 test
/// images per class.
pub fn image_folder(root: &Path, per_class: u32, signal: u8) {
    let mut state = 12345u32;
    let mut noise = move || {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (state >> 16) as u8 % 96
    };
    for (split, count) in [("train", per_class), ("test", 4)] {
        for class in 0..3usize {
            let dir = root.join(split).join(format!("class{class}"));
            std::fs::create_dir_all(&dir).unwrap();
            for k in 0..count {
                let image = image::RgbImage::from_fn(16, 16, |_, _| {
                    let mut pixel = [noise(), noise(), noise()];
                    pixel[class] = pixel[class].saturating_add(signal);
                    image::Rgb(pixel)
                });
                image.save(dir.join(format!("{k}.png"))).unwrap();
            }
        }
    }
}

/// The `column` values of every row of a run's metrics.csv.
pub fn metrics_column(run: &Path, column: &str) -> Vec<String> {
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header.iter().position(|&h| h == column).unwrap();
    lines
        .map(|l| l.split(',').nth(at).unwrap().to_string())
        .collect()
}

/// Every tensor of a safetensors file, by name, as raw f32 bits: what "byte-identical weights"
/// compares (the metadata holds the run's identity and folder, which differ between runs).
pub fn tensor_bits(path: &Path) -> Vec<(String, Vec<u32>)> {
    let file = convkit_nn::io::read_safetensors(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    file.tensors
        .into_iter()
        .map(|(name, t)| (name, t.to_vec().iter().map(|x| x.to_bits()).collect()))
        .collect()
}

/// `convkit train` on the image folder `data` with run folders in `out`, plus `extra` options.
pub fn train_on_folder(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--dataset",
        "folder",
        "--data-dir",
        data.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    convkit(&args)
}

/// The first run folder in `out` (by name): the only one where a single run wrote.
pub fn only_run(out: &Path) -> PathBuf {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries.remove(0)
}
