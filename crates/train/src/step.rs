//! The replaceable parts of one training step. The loop zeroes the gradients, calls the
//! [`TrainStep`] (forward and backward), then every [`GradientHook`] (gradient all-reduce, say),
//! clips, and steps the optimiser and the schedule. Adversarial training replaces the step;
//! data-parallel training adds a hook.
use crate::error::Result;
use crate::tensors::batch_images;
use convkit_data::Batch;
use convkit_nn::{Mode, Module};
use convkit_tensor::ops::loss::{cross_entropy, ClassTarget, CrossEntropyConfig};
use convkit_tensor::Tensor;

/// One batch as the step sees it.
pub struct StepBatch {
    /// `[N, C, H, W]`, normalised (and augmented, when the run augments).
    pub images: Tensor,
    /// The class of each image.
    pub labels: Vec<usize>,
    /// `[N, classes]` target probabilities when the batch was mixed (mixup), else `None`.
    pub soft_targets: Option<Tensor>,
    /// The position of each image in the training set.
    pub indices: Vec<usize>,
}

impl StepBatch {
    /// A loader batch as tensors: the images `[N, C, H, W]` and, after mixup, the targets
    /// `[N, classes]`.
    ///
    /// # Errors
    /// Dimensions that don't fit the data (a loader bug).
    pub fn from_loader(mut batch: Batch) -> Result<StepBatch> {
        let soft_targets = batch.targets.take();
        let indices = std::mem::take(&mut batch.indices);
        let (images, labels) = batch_images(batch)?;
        let rows = labels.len().max(1);
        let soft_targets = soft_targets
            .map(|p| {
                let classes = p.len() / rows;
                Tensor::from_vec(p, [rows, classes])
            })
            .transpose()?;
        Ok(StepBatch {
            images,
            labels,
            soft_targets,
            indices,
        })
    }
}

/// What a step computed.
pub struct StepOutput {
    /// The batch's mean loss (checked for divergence by the loop).
    pub loss: f32,
    /// `[N, classes]`: the training accuracy is counted from them.
    pub logits: Tensor,
}

/// Forward and backward of one batch: after it returns, the parameters' gradients hold what the
/// optimiser should follow.
pub trait TrainStep {
    /// # Errors
    /// A failing layer or loss.
    fn forward_backward(&mut self, model: &dyn Module, batch: &StepBatch) -> Result<StepOutput>;

    /// Called before the first batch of epoch `epoch` (1-based) of `epochs`, including the first
    /// epoch of a resumed run: a step with randomness or a schedule of its own derives them here
    /// from the epoch, so that resumed runs repeat exactly.
    fn begin_epoch(&mut self, _epoch: usize, _epochs: usize) {}

    /// Whether this is the plain [`StandardStep`] (a configuration that asks for another step
    /// is refused while it is installed).
    fn is_standard(&self) -> bool {
        false
    }
}

/// The ordinary step: cross-entropy against the labels (or the soft targets of mixup).
pub struct StandardStep;

impl TrainStep for StandardStep {
    fn is_standard(&self) -> bool {
        true
    }

    fn forward_backward(&mut self, model: &dyn Module, batch: &StepBatch) -> Result<StepOutput> {
        let logits = model.forward(&batch.images, Mode::Train)?;
        let loss = training_loss(&logits, batch)?;
        let value = loss.item();
        // A non-finite loss stops the run before backward (see the loop's divergence guard).
        if value.is_finite() {
            loss.backward()?;
        }
        Ok(StepOutput {
            loss: value,
            logits,
        })
    }
}

/// Cross-entropy of `logits` against the batch's soft targets when it has them, else its labels.
///
/// # Errors
/// Logits that don't fit the batch.
pub fn training_loss(logits: &Tensor, batch: &StepBatch) -> Result<Tensor> {
    Ok(match &batch.soft_targets {
        Some(probabilities) => cross_entropy(
            logits,
            ClassTarget::Probabilities(probabilities),
            &CrossEntropyConfig::default(),
        )?,
        None => logits.cross_entropy(&batch.labels)?,
    })
}

/// Called between backward and the optimiser step with the trained parameters (frozen ones
/// excluded), in the model's registration order.
pub trait GradientHook {
    /// # Errors
    /// Whatever stops the hook from doing its work (the run ends with it).
    fn after_backward(&mut self, params: &[(String, Tensor)]) -> Result<()>;
}
