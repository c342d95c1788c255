//! The decode path of image folders: one file in one class folder, named .png or .jpg by bit 0 of
//! the mode byte (the format is read from the bytes either way); bit 1 asks for a resize to 8×8
//! and bit 2 for grayscale.
#![no_main]
use convkit_data::{ImageFolder, ImageFolderConfig, OnCorrupt};
use convkit_fuzz::{mode_and_bytes, scratch_dir, scratch_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((mode, bytes)) = mode_and_bytes(data) else {
        return;
    };
    let name = if mode & 1 != 0 { "a.jpg" } else { "a.png" };
    let _ = std::fs::remove_dir_all(scratch_dir().join("folder"));
    scratch_file(&format!("folder/class/{name}"), bytes);
    let config = ImageFolderConfig {
        size: (mode & 2 != 0).then_some([8, 8]),
        grayscale: mode & 4 != 0,
        on_corrupt: OnCorrupt::Fail,
    };
    let _ = ImageFolder::load(&scratch_dir().join("folder"), &config);
});
