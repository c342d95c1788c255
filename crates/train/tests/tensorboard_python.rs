//! The real check: TensorBoard's own readers load a file written by EventWriter
//! (fixtures/read_tensorboard.py). Needs Python with the `tensorboard` and `Pillow` packages, so it is
//! ignored by default:
//!
//!   CONVKIT_PYTHON=/path/to/venv/bin/python cargo test --release -p convkit-train \
//!       --test tensorboard_python -- --ignored --nocapture
//!
//! Set CONVKIT_TB_DIR to keep the demo run folder (otherwise a temporary one is used).

use std::path::Path;
use std::process::Command;

use convkit_train::tensorboard::EventWriter;

/// Scalars over 5 steps, an RGB image, a ready PNG and a histogram at two steps.
fn write_demo(dir: &Path) -> std::path::PathBuf {
    let mut writer = EventWriter::create(dir).unwrap();
    for step in 0..5u64 {
        writer
            .add_scalar("loss/train", step, 2.0 / (step as f64 + 1.0))
            .unwrap();
        writer
            .add_scalar("accuracy/val", step, 0.5 + 0.1 * step as f64)
            .unwrap();
    }
    let (height, width) = (28u32, 32u32);
    let rgb: Vec<u8> = (0..height * width)
        .flat_map(|i| [(i % width * 8) as u8, (i / width * 9) as u8, 128])
        .collect();
    writer
        .add_image("samples/rgb", 4, &rgb, height, width, 3)
        .unwrap();
    let mut png = Vec::new();
    image::GrayImage::from_fn(40, 20, |x, y| image::Luma([(x * 6 + y) as u8]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    writer.add_png("curves", 4, &png).unwrap();
    for step in [0u64, 4] {
        let spread = 1.0 + step as f32;
        let values: Vec<f32> = (0..1000)
            .map(|i| (i as f32 / 999.0 - 0.5) * spread)
            .collect();
        writer.add_histogram("conv1.weight", step, &values).unwrap();
    }
    writer.flush().unwrap();
    writer.path().to_owned()
}

#[test]
#[ignore = "needs Python with tensorboard and Pillow (set CONVKIT_PYTHON)"]
fn tensorboards_event_accumulator_reads_our_file() {
    let temporary = tempfile::tempdir().unwrap();
    let dir =
        std::env::var_os("CONVKIT_TB_DIR").map_or_else(|| temporary.path().to_owned(), Into::into);
    let file = write_demo(&dir);
    println!("wrote {}", file.display());

    let python = std::env::var("CONVKIT_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/read_tensorboard.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{python} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    for expected in [
        "file_version: 2.0",
        "scalars     loss/train: 5 steps [0, 1, 2, 3, 4], first 2.0, last 0.4000000059604645",
        "scalars     accuracy/val: 5 steps [0, 1, 2, 3, 4], first 0.5, last 0.8999999761581421",
        "images      samples/rgb: step 4, 32x28,",
        "Pillow decodes 32x28 RGB",
        "images      curves: step 4, 40x20,",
        "Pillow decodes 40x20 L",
        "histograms  conv1.weight: step 4, min -2.5 max 2.5 num 1000.0",
        "histograms  conv1.weight: 2 steps",
        "plugin scalars    loss/train: 5 steps",
        "plugin images     samples/rgb: 1 steps",
        "plugin histograms conv1.weight: 2 steps",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?}");
    }
}
