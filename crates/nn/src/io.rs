//! Reading and atomically writing safetensors files of named f32 tensors.
use crate::error::{Error, Result};
use convkit_tensor::Tensor;
use safetensors::tensor::TensorView;
pub use safetensors::Dtype;
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The contents of a safetensors file: tensors in file order, and the `__metadata__` map.
pub struct TensorFile {
    pub tensors: Vec<(String, Tensor)>,
    pub metadata: HashMap<String, String>,
}

pub(crate) fn format_error(path: &Path, msg: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Reads every tensor of a safetensors file as f32. F32 is read as is; F64, I64 and I32 (PyTorch's
/// `num_batches_tracked` is I64) are converted.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] naming the path when it is truncated,
/// corrupt, or holds another dtype.
pub fn read_safetensors(path: &Path) -> Result<TensorFile> {
    let bytes = fs::read(path).map_err(|error| Error::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let (_, header) =
        SafeTensors::read_metadata(&bytes).map_err(|e| format_error(path, e.to_string()))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| format_error(path, e.to_string()))?;
    let mut tensors = Vec::new();
    for name in header.offset_keys() {
        let view = file
            .tensor(&name)
            .map_err(|e| format_error(path, e.to_string()))?;
        let data = to_f32(&view).ok_or_else(|| {
            format_error(
                path,
                format!(
                    "tensor {name} has dtype {:?}; convkit reads F32, F64, I64 and I32",
                    view.dtype()
                ),
            )
        })?;
        tensors.push((name, Tensor::from_vec(data, view.shape())?));
    }
    Ok(TensorFile {
        tensors,
        metadata: header.metadata().clone().unwrap_or_default(),
    })
}

fn to_f32(view: &TensorView<'_>) -> Option<Vec<f32>> {
    fn decode<const N: usize>(bytes: &[u8], f: impl Fn([u8; N]) -> f32) -> Vec<f32> {
        bytes
            .chunks_exact(N)
            .map(|c| f(c.try_into().expect("chunks_exact gives N bytes")))
            .collect()
    }
    let bytes = view.data();
    Some(match view.dtype() {
        Dtype::F32 => decode(bytes, f32::from_le_bytes),
        Dtype::F64 => decode(bytes, |b| f64::from_le_bytes(b) as f32),
        Dtype::I64 => decode(bytes, |b| i64::from_le_bytes(b) as f32),
        Dtype::I32 => decode(bytes, |b| i32::from_le_bytes(b) as f32),
        _ => return None,
    })
}

/// Writes `tensors` (f32) and `metadata` to `path` atomically: the bytes go to `<path>.tmp` in the
/// same directory, are flushed to disk, and the file is renamed over `path`, so a failure at any
/// point leaves the previous file intact (and no temporary file behind, when it can be removed).
///
/// # Errors
/// [`Error::Io`] naming the path that could not be written.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: HashMap<String, String>,
) -> Result<()> {
    let entries: Vec<RawTensor> = tensors
        .iter()
        .map(|(name, t)| RawTensor {
            name: name.clone(),
            dtype: Dtype::F32,
            dims: t.dims().to_vec(),
            bytes: t.data().iter().flat_map(|x| x.to_le_bytes()).collect(),
        })
        .collect();
    write_raw_safetensors(path, &entries, metadata)
}

/// A named tensor already encoded as little-endian bytes of `dtype`.
pub struct RawTensor {
    pub name: String,
    pub dtype: Dtype,
    pub dims: Vec<usize>,
    pub bytes: Vec<u8>,
}

/// Writes tensors of any dtype atomically, as [`write_safetensors`] does for f32.
///
/// # Errors
/// [`Error::Format`] when a tensor's bytes do not fit its dtype and shape; [`Error::Io`] naming the
/// path that could not be written.
pub fn write_raw_safetensors(
    path: &Path,
    tensors: &[RawTensor],
    metadata: HashMap<String, String>,
) -> Result<()> {
    let mut views = Vec::with_capacity(tensors.len());
    for t in tensors {
        let view = TensorView::new(t.dtype, t.dims.clone(), &t.bytes)
            .map_err(|e| format_error(path, format!("tensor {}: {e}", t.name)))?;
        views.push((t.name.as_str(), view));
    }
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| format_error(path, e.to_string()))?;
    write_atomic(path, &bytes)
}

/// `<path>.tmp`: where [`write_safetensors`] writes before renaming.
pub fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `bytes` to `path` so that a crash at any moment leaves either the old file or the new
/// one: the bytes go to [`temporary_path`] in the same folder, are synced to disk, the file is
/// renamed over `path`, and the folder is synced so that the rename itself is durable.
///
/// # Errors
/// [`Error::Io`] naming the path that could not be written (the previous file stays intact).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_path(path);
    let io_error = |path: &Path, error| Error::Io {
        path: path.to_path_buf(),
        error,
    };
    let written = fs::File::create(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .map_err(|e| io_error(&tmp, e))
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| io_error(path, e)))
        .and_then(|()| sync_folder(path).map_err(|e| io_error(path, e)));
    if written.is_err() && tmp.is_file() {
        let _ = fs::remove_file(&tmp); // best effort: the error being returned is the one that matters
    }
    written
}

/// Syncs the folder holding `path`, making a rename inside it durable (a no-op where folders
/// cannot be opened for syncing).
fn sync_folder(path: &Path) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if cfg!(unix) {
        fs::File::open(folder)?.sync_all()?;
    }
    Ok(())
}
