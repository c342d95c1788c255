//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses its own subset of these helpers
use convkit_nn::io::read_safetensors;
use convkit_tensor::Tensor;
use std::path::PathBuf;

/// The PyTorch fixtures: `CONVKIT_FIXTURES=DIR` when set, else the repository's `tests/fixtures`.
pub fn fixture_dir() -> PathBuf {
    std::env::var_os("CONVKIT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures"))
}

/// The tensors of a fixture file, by name.
pub struct Fixture(Vec<(String, Tensor)>);

impl Fixture {
    pub fn open(file: &str) -> Fixture {
        let path = fixture_dir().join(file);
        Fixture(
            read_safetensors(&path)
                .unwrap_or_else(|e| panic!("{e}"))
                .tensors,
        )
    }

    pub fn get(&self, name: &str) -> Tensor {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("fixture has no tensor {name}"))
            .1
            .clone()
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    /// The tensors whose names start with `prefix`, with the prefix removed.
    pub fn with_prefix(&self, prefix: &str) -> Vec<(String, Tensor)> {
        self.0
            .iter()
            .filter_map(|(n, t)| Some((n.strip_prefix(prefix)?.to_string(), t.clone())))
            .collect()
    }
}

/// `|a − b| ≤ atol + rtol·|b|` elementwise.
pub fn assert_close(what: &str, actual: &[f32], expected: &[f32], atol: f32, rtol: f32) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (a, b)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - b).abs() <= atol + rtol * b.abs(),
            "{what} element {i}: {a} vs {b}"
        );
    }
}
