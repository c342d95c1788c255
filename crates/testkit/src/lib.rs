//! Test support for convkit: loading the PyTorch reference fixtures (safetensors files whose
//! metadata key `cases` maps each case to its op and config) and comparing with a tolerance.
//!
//! Fixtures come from the repo's `tests/fixtures/`, or from the directory in `CONVKIT_FIXTURES`.
use convkit_tensor::Tensor;
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The directory parity tests read: `$CONVKIT_FIXTURES`, else the repo's `tests/fixtures`.
pub fn fixture_dir() -> PathBuf {
    match std::env::var_os("CONVKIT_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures"),
    }
}

/// Every tensor of a safetensors file (converted to f32 tensors) and its string metadata.
pub struct TensorFile {
    pub path: PathBuf,
    pub tensors: BTreeMap<String, Tensor>,
    pub metadata: BTreeMap<String, String>,
}

impl TensorFile {
    /// Reads `<fixture_dir>/<file_name>`.
    pub fn load(file_name: &str) -> Result<TensorFile, String> {
        let path = fixture_dir().join(file_name);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (_, meta) =
            SafeTensors::read_metadata(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let metadata = meta
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let st =
            SafeTensors::deserialize(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                return Err(format!(
                    "{}: tensor {name} is {:?}, expected F32",
                    path.display(),
                    view.dtype()
                ));
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let tensor = Tensor::from_vec(values, view.shape()).map_err(|e| e.to_string())?;
            tensors.insert(name, tensor);
        }
        Ok(TensorFile {
            path,
            tensors,
            metadata,
        })
    }

    /// The cases listed in the `cases` metadata, in name order, each with its tensors.
    pub fn cases(&self) -> Result<Vec<Case>, String> {
        let raw = self
            .metadata
            .get("cases")
            .ok_or_else(|| format!("{}: no `cases` metadata", self.path.display()))?;
        let cases: BTreeMap<String, Value> = serde_json::from_str(raw)
            .map_err(|e| format!("{}: bad `cases` metadata: {e}", self.path.display()))?;
        Ok(cases
            .into_iter()
            .map(|(name, config)| {
                let prefix = format!("{name}.");
                let tensors = self
                    .tensors
                    .iter()
                    .filter_map(|(k, t)| {
                        k.strip_prefix(&prefix)
                            .map(|role| (role.to_string(), t.clone()))
                    })
                    .collect();
                Case {
                    name,
                    config,
                    tensors,
                }
            })
            .collect())
    }
}

/// One fixture case: its name, its config (with `op`), and its tensors by role (`input`, `grad_out`, ...).
pub struct Case {
    pub name: String,
    pub config: Value,
    pub tensors: BTreeMap<String, Tensor>,
}

impl Case {
    pub fn op(&self) -> &str {
        self.config["op"].as_str().unwrap_or("")
    }

    /// A fresh copy of the tensor with this role (so gradients of separate cases never mix).
    pub fn tensor(&self, role: &str) -> Result<Tensor, String> {
        let t = self
            .tensors
            .get(role)
            .ok_or_else(|| format!("case {} has no tensor `{role}`", self.name))?;
        Ok(Tensor::from_vec(t.to_vec(), t.shape().clone()).expect("same shape"))
    }

    pub fn has(&self, role: &str) -> bool {
        self.tensors.contains_key(role)
    }

    /// A config value that PyTorch gives either as an int or as a (height, width) pair.
    pub fn pair(&self, key: &str, default: usize) -> (usize, usize) {
        match &self.config[key] {
            Value::Number(n) => (
                n.as_u64().unwrap_or(0) as usize,
                n.as_u64().unwrap_or(0) as usize,
            ),
            Value::Array(a) if a.len() == 2 => (
                a[0].as_u64().unwrap_or(0) as usize,
                a[1].as_u64().unwrap_or(0) as usize,
            ),
            _ => (default, default),
        }
    }

    pub fn f32(&self, key: &str) -> Option<f32> {
        self.config[key].as_f64().map(|v| v as f32)
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        self.config[key].as_bool()
    }
}

/// Checks `|a − b| ≤ atol + rtol·|b|` element-wise; the error names the first offending element.
pub fn assert_close(
    what: &str,
    actual: &[f32],
    expected: &[f32],
    atol: f32,
    rtol: f32,
) -> Result<(), String> {
    if actual.len() != expected.len() {
        return Err(format!(
            "{what}: {} values, expected {}",
            actual.len(),
            expected.len()
        ));
    }
    for (i, (&a, &b)) in actual.iter().zip(expected).enumerate() {
        let close = (a - b).abs() <= atol + rtol * b.abs();
        if !close {
            return Err(format!(
                "{what}: element {i} is {a}, expected {b} (atol {atol}, rtol {rtol})"
            ));
        }
    }
    Ok(())
}
