//! Weights from and to PyTorch: reading a `state_dict` saved by `torch.save` (`.pth`/`.pt`, read
//! by a safe unpickler that builds only tensors, dicts and plain values) or as safetensors, loading
//! it into a model with every missing, unexpected and mis-shaped tensor reported, and exporting a
//! model as a state_dict that PyTorch's `load_state_dict(strict=True)` accepts.
//!
//! PyTorch's BatchNorm (and any norm layer that tracks running statistics) has an int64
//! `num_batches_tracked` buffer: import loads it where the model has one (convkit's BatchNorm keeps
//! it as f32) and ignores it otherwise; export writes it as int64, adding one (0) after every
//! `running_var` that lacks it.
mod budget;
mod pickle;
mod storage;
mod zip;

use crate::checkpoint::load_state_dict;
use crate::error::{Error, Result};
use crate::io::{format_error, read_safetensors, write_raw_safetensors, Dtype, RawTensor};
use crate::module::Module;
use convkit_tensor::Tensor;
use pickle::Value;
use std::collections::HashMap;
use std::path::Path;

/// PyTorch's name of the counter it keeps beside each norm layer's running statistics.
pub const NUM_BATCHES_TRACKED: &str = "num_batches_tracked";

/// Reads a plain tensor `state_dict` written by `torch.save` (the zip format of PyTorch ≥ 1.6),
/// in the file's order, every tensor converted to f32.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] naming the file when it is not a
/// zip archive, when its pickle uses a global other than `collections.OrderedDict`, the tensor
/// rebuilders and storage types (the message names the refused global), or when it is not a dict
/// of named tensors.
pub fn read_pth(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|error| Error::Io {
        path: path.to_path_buf(),
        error,
    })?;
    parse_pth(path, &bytes)
}

/// [`read_pth`] on the file's bytes; `path` names the file in errors.
fn parse_pth(path: &Path, bytes: &[u8]) -> Result<Vec<(String, Tensor)>> {
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(format_error(
            path,
            "not a zip archive (PyTorch's legacy pre-1.6 format is not read: re-save with a newer torch)",
        ));
    }
    let archive = zip::ZipArchive::new(bytes).map_err(|e| format_error(path, e))?;
    let pickle_name = archive
        .names()
        .find(|n| n.ends_with("/data.pkl"))
        .ok_or_else(|| format_error(path, "no <name>/data.pkl in the archive"))?
        .to_string();
    let prefix = &pickle_name[..pickle_name.len() - "data.pkl".len()];
    if archive.get(&format!("{prefix}byteorder")) == Some(b"big") {
        return Err(format_error(path, "big-endian tensors are not read"));
    }
    let root = pickle::unpickle(archive.get(&pickle_name).expect("listed above"))
        .map_err(|e| format_error(path, e))?;
    let Value::Dict(entries) = root else {
        return Err(format_error(path, "the pickle is not a dict of tensors"));
    };
    entries
        .into_iter()
        .map(|(key, value)| {
            let (Value::Str(name), Value::Tensor(t)) = (key, value) else {
                return Err(format_error(
                    path,
                    "an entry is not a named tensor (save model.state_dict())",
                ));
            };
            let storage = format!("{prefix}data/{}", t.storage.key);
            let bytes = archive
                .get(&storage)
                .ok_or_else(|| format_error(path, format!("{name}: no storage {storage}")))?;
            let data = storage::gather(&t, bytes)
                .map_err(|e| format_error(path, format!("{name}: {e}")))?;
            Ok((name, Tensor::from_vec(data, t.size.as_slice())?))
        })
        .collect()
}

/// Reads a PyTorch state_dict from a `.pth`/`.pt` file (see [`read_pth`]) or, for any other
/// extension, a safetensors file.
///
/// # Errors
/// As [`read_pth`] or [`read_safetensors`].
pub fn read_state_dict(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>> {
    let path = path.as_ref();
    match path.extension().and_then(|e| e.to_str()) {
        Some("pth" | "pt") => read_pth(path),
        _ => Ok(read_safetensors(path)?.tensors),
    }
}

/// Loads a PyTorch state_dict into `module`: `num_batches_tracked` entries the module lacks are
/// ignored (and those it has but the file lacks are left as they are), everything else must match exactly (see [`load_state_dict`]); `source` names the file
/// in the error.
///
/// # Errors
/// [`Error::StateMismatch`] listing every missing, unexpected and mis-shaped tensor by name.
pub fn import_state_dict(
    module: &dyn Module,
    tensors: &[(String, Tensor)],
    source: &str,
) -> Result<()> {
    let own = module.named_tensors();
    let in_module = |name: &str| own.iter().any(|(n, _)| n == name);
    let in_file = |name: &str| tensors.iter().any(|(n, _)| n == name);
    let mut kept: Vec<(String, Tensor)> = tensors
        .iter()
        .filter(|(name, _)| in_module(name) || !is_num_batches_tracked(name))
        .cloned()
        .collect();
    // A counter the file lacks keeps the module's own value (copied: loading a tensor from
    // itself would hold its lock twice).
    for (name, t) in own
        .iter()
        .filter(|(n, _)| is_num_batches_tracked(n) && !in_file(n))
    {
        kept.push((name.clone(), Tensor::from_vec(t.to_vec(), t.dims())?));
    }
    load_state_dict(module, &kept, source)
}

fn is_num_batches_tracked(name: &str) -> bool {
    name.rsplit('.').next() == Some(NUM_BATCHES_TRACKED)
}

/// `module`'s state_dict as PyTorch has it for the same architecture: its tensors as f32 except
/// `num_batches_tracked`, which PyTorch keeps as an int64 scalar (convkit's BatchNorm holds it as
/// f32; a norm layer with running statistics but no counter gets one, 0, after its `running_var`).
pub fn export_state_dict(module: &dyn Module) -> Vec<RawTensor> {
    let tensors = module.named_tensors();
    let has = |name: &str| tensors.iter().any(|(n, _)| n == name);
    let mut out = Vec::new();
    for (name, t) in &tensors {
        if is_num_batches_tracked(name) {
            out.push(counter(
                name.clone(),
                t.to_vec().first().copied().unwrap_or(0.0),
            ));
            continue;
        }
        out.push(RawTensor {
            name: name.clone(),
            dtype: Dtype::F32,
            dims: t.dims().to_vec(),
            bytes: t.data().iter().flat_map(|x| x.to_le_bytes()).collect(),
        });
        let missing_counter = name
            .strip_suffix("running_var")
            .map(|prefix| format!("{prefix}{NUM_BATCHES_TRACKED}"))
            .filter(|c| !has(c));
        if let Some(c) = missing_counter {
            out.push(counter(c, 0.0));
        }
    }
    out
}

/// An int64 scalar `num_batches_tracked` holding `value` (a whole number).
fn counter(name: String, value: f32) -> RawTensor {
    RawTensor {
        name,
        dtype: Dtype::I64,
        dims: Vec::new(),
        bytes: (value.round() as i64).to_le_bytes().to_vec(),
    }
}

/// Writes [`export_state_dict`]`(module)` to `path` as safetensors (read in Python with
/// `safetensors.torch.load_file`), atomically.
///
/// # Errors
/// [`Error::Io`] naming the path that could not be written.
pub fn save_for_pytorch(path: impl AsRef<Path>, module: &dyn Module) -> Result<()> {
    write_raw_safetensors(path.as_ref(), &export_state_dict(module), HashMap::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte of a real `.pth` file replaced by a few values that matter to the zip and pickle
    /// readers (lengths, opcodes): reading must return a value or an error, never panic.
    #[test]
    fn corrupted_files_give_errors_not_panics() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pth/views.pth");
        let original = std::fs::read(&path).unwrap();
        let mut errors = 0;
        for at in 0..original.len() {
            for value in [0x00, 0xFF, b'K', b'(', 0x8a, b'Q'] {
                let mut bytes = original.clone();
                bytes[at] = value;
                errors += usize::from(parse_pth(&path, &bytes).is_err());
            }
            assert!(parse_pth(&path, &original[..at]).is_err());
        }
        assert!(errors > 0);
    }
}
