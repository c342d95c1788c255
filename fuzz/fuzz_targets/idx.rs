//! IDX files (MNIST's format), plain or gzip: bit 0 of the mode byte reads a label file (else an
//! image file), bit 1 gzip-compresses the bytes first (so the decoder sees valid streams of
//! fuzzed content; raw bytes starting 1f 8b fuzz the decoder itself).
#![no_main]
use convkit_data::idx::{read_images, read_labels};
use convkit_fuzz::{mode_and_bytes, scratch_file};
use flate2::{write::GzEncoder, Compression};
use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let Some((mode, bytes)) = mode_and_bytes(data) else {
        return;
    };
    let bytes = if mode & 2 != 0 {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).expect("writing to memory");
        encoder.finish().expect("writing to memory")
    } else {
        bytes.to_vec()
    };
    let path = scratch_file("idx", &bytes);
    if mode & 1 != 0 {
        let _ = read_labels(&path);
    } else {
        let _ = read_images(&path);
    }
});
