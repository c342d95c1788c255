//! Turning loader batches into tensors.
use convkit_data::Batch;
use convkit_tensor::Tensor;

/// The images of a batch as an `[N, C, H, W]` tensor (no copy of the pixels beyond the move).
pub fn batch_images(batch: Batch) -> anyhow::Result<(Tensor, Vec<usize>)> {
    let images = Tensor::from_vec(batch.images, batch.dims)?;
    Ok((images, batch.labels))
}
