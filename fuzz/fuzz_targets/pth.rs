//! PyTorch `.pth` files: the zip reader, the restricted unpickler and the tensor views.
#![no_main]
use convkit_fuzz::scratch_file;
use convkit_nn::torch::read_pth;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_pth(scratch_file("state_dict.pth", data));
});
