//! Reading the pretrained weights a fine-tuning run starts from.
use crate::error::{Error, Result};
use convkit_nn::checkpoint::{Checkpoint, METADATA_KEY};
use convkit_nn::io::read_safetensors;
use convkit_nn::torch::read_pth;
use convkit_tensor::Tensor;
use std::path::Path;

/// The state_dict in `path` for the zoo model `model`: a PyTorch `.pth`/`.pt` file, a convkit
/// checkpoint (its weights, not its optimiser state), or a plain safetensors state_dict.
///
/// # Errors
/// A file that cannot be read or parsed (named with its path), or a convkit checkpoint of another
/// model.
pub fn read_pretrained(path: &Path, model: &str) -> Result<Vec<(String, Tensor)>> {
    if matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("pth" | "pt")
    ) {
        return Ok(read_pth(path)?);
    }
    let file = read_safetensors(path)?;
    if !file.metadata.contains_key(METADATA_KEY) {
        return Ok(file.tensors);
    }
    let checkpoint = Checkpoint::load(path)?;
    let saved = &checkpoint.meta().model;
    if saved != model {
        return Err(Error::config(
            "finetune.from",
            format!(
                "{} is a checkpoint of {saved}, not of the run's model {model}",
                path.display()
            ),
        ));
    }
    Ok(checkpoint.tensors().to_vec())
}
