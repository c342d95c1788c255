//! Helpers for the unit tests: IDX files built in memory and written to a temporary folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

/// The bytes of an IDX image file (header fields as given, then `pixels`).
pub fn images_file(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut bytes = [2051u32, count, rows, cols]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect::<Vec<u8>>();
    bytes.extend_from_slice(pixels);
    bytes
}

/// The bytes of an IDX label file.
pub fn labels_file(labels: &[u8]) -> Vec<u8> {
    let mut bytes = [2049u32, labels.len() as u32]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect::<Vec<u8>>();
    bytes.extend_from_slice(labels);
    bytes
}

/// `bytes` gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}
