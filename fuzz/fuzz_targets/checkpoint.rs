//! convkit checkpoints: the safetensors header, tensor shapes and offsets, the metadata JSON (model
//! spec, normalisation, run state), rebuilding the model and loading its weights; the same bytes
//! as a run folder's last.safetensors for `--resume`.
#![no_main]
use convkit_fuzz::{scratch_dir, scratch_file};
use convkit_train::checkpoint::{load_model, SavedRun};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("run/last.safetensors", data);
    let _ = load_model(&path);
    let _ = SavedRun::load(&scratch_dir().join("run"));
});
