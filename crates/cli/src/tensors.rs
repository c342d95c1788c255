//! Turning loader batches into tensors, and the training loss on them.
use convkit_data::Batch;
use convkit_tensor::ops::loss::{cross_entropy, ClassTarget, CrossEntropyConfig};
use convkit_tensor::Tensor;

/// The images of a batch as an `[N, C, H, W]` tensor (no copy of the pixels beyond the move).
pub fn batch_images(batch: Batch) -> anyhow::Result<(Tensor, Vec<usize>)> {
    let images = Tensor::from_vec(batch.images, batch.dims)?;
    Ok((images, batch.labels))
}

/// Cross-entropy of `logits` against the batch's soft targets (`[N, C]` probabilities, from mixup)
/// when it has them, else against its class labels.
pub fn training_loss(
    logits: &Tensor,
    labels: &[usize],
    soft_targets: Option<Vec<f32>>,
) -> anyhow::Result<Tensor> {
    Ok(match soft_targets {
        Some(probabilities) => {
            let probabilities = Tensor::from_vec(probabilities, logits.dims())?;
            cross_entropy(
                logits,
                ClassTarget::Probabilities(&probabilities),
                &CrossEntropyConfig::default(),
            )?
        }
        None => logits.cross_entropy(labels)?,
    })
}
