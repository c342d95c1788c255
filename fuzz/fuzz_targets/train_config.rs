//! Run configuration files (`config.toml`): parsing, then validation.
#![no_main]
use convkit_train::TrainConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = TrainConfig::from_toml(text) {
        let _ = config.validate();
    }
});
