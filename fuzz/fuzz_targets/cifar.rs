//! CIFAR binary batches, plain or gzip: bit 0 of the mode byte reads the bytes as CIFAR-100's
//! `test.bin` (coarse and fine label bytes; fine labels), else as one CIFAR-10 batch file.
#![no_main]
use convkit_data::{Cifar10, Cifar100, Cifar100Labels, Split};
use convkit_fuzz::{mode_and_bytes, scratch_dir, scratch_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((mode, bytes)) = mode_and_bytes(data) else {
        return;
    };
    if mode & 1 != 0 {
        scratch_file("cifar100/test.bin", bytes);
        let _ = Cifar100::load(&scratch_dir().join("cifar100"), Split::Test, Cifar100Labels::Fine);
    } else {
        let _ = Cifar10::load_batch_file(&scratch_file("data_batch_1.bin", bytes));
    }
});
