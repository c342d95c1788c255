//! Turning loader batches into tensors.
use crate::error::Result;
use convkit_data::Batch;
use convkit_tensor::Tensor;

/// The images of a batch as an `[N, C, H, W]` tensor (no copy of the pixels beyond the move).
///
/// # Errors
/// Dimensions that don't fit the pixels (a loader bug).
pub fn batch_images(batch: Batch) -> Result<(Tensor, Vec<usize>)> {
    let images = Tensor::from_vec(batch.images, batch.dims)?;
    Ok((images, batch.labels))
}
