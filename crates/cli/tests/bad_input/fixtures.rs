//! The damaged and hostile files of the table, made on the spot: IDX and CIFAR files, image
//! headers, safetensors files and convkit checkpoints with edited metadata.
use convkit_data::Normalize;
use convkit_models::{build_model, ModelSpec};
use convkit_nn::io::{read_safetensors, write_safetensors};
use convkit_tensor::seeded_rng;
use convkit_train::checkpoint::{save, ModelRecord, SaveOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An IDX image file header (and `pixels`).
pub fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for v in [0x803, count, rows, cols] {
        bytes.extend_from_slice(&u32::to_be_bytes(v));
    }
    bytes.extend_from_slice(pixels);
    bytes
}

/// An IDX label file.
pub fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut bytes = [0x801, labels.len() as u32].map(u32::to_be_bytes).concat();
    bytes.extend_from_slice(labels);
    bytes
}

/// Writes `bytes` to `dir/name` (folders created); returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// An MNIST-layout folder whose four files are `images` and `labels` (train and test alike).
pub fn mnist_dir(dir: &Path, images: &[u8], labels: &[u8]) -> PathBuf {
    for split in ["train", "t10k"] {
        write(dir, &format!("{split}-images-idx3-ubyte"), images);
        write(dir, &format!("{split}-labels-idx1-ubyte"), labels);
    }
    dir.to_path_buf()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG that announces a `width`×`height` grey image and holds a few bytes of compressed data:
/// a decompression bomb's header.
pub fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for chunk in [ihdr, b"IDAT\x78\x9c".to_vec(), b"IEND".to_vec()] {
        png.extend_from_slice(&(chunk.len() as u32 - 4).to_be_bytes());
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    png
}

/// A safetensors file of raw parts: an 8-byte header length (as given), the header, the data.
pub fn raw_safetensors(header_len: u64, header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = header_len.to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// A freshly initialised LeNet-5 for MNIST saved as a convkit checkpoint at `path`.
pub fn lenet_checkpoint(path: &Path) -> PathBuf {
    let spec = ModelSpec::MNIST;
    let model = build_model("lenet5", &spec, &mut seeded_rng(0)).unwrap();
    let record = ModelRecord {
        name: "lenet5".into(),
        spec,
        dataset: "mnist".into(),
        class_names: (0..10).map(|d| d.to_string()).collect(),
        normalize: Normalize {
            mean: vec![0.1307],
            std: vec![0.3081],
        },
    };
    save(path, model.as_ref(), &record, &SaveOptions::default()).unwrap();
    path.to_path_buf()
}

/// `source`'s tensors with its convkit metadata changed by `edit`, written to `path`.
pub fn edited_checkpoint(
    source: &Path,
    path: &Path,
    edit: impl FnOnce(&mut serde_json::Value),
) -> PathBuf {
    let file = read_safetensors(source).unwrap();
    let mut meta: serde_json::Value = serde_json::from_str(&file.metadata["convkit"]).unwrap();
    edit(&mut meta);
    let metadata = HashMap::from([("convkit".to_string(), meta.to_string())]);
    write_safetensors(path, &file.tensors, metadata).unwrap();
    path.to_path_buf()
}
