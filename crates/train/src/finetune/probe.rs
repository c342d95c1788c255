//! The linear probe: the body's features computed once, and a step that trains the head on them.
use crate::error::Result;
use crate::eval::EVAL_BATCH;
use crate::run_data::RunData;
use crate::step::{training_loss, StepBatch, StepOutput, TrainStep};
use convkit_data::{DataLoader, LoaderConfig};
use convkit_nn::{ForwardHook, ForwardPass, Mode, Module, ModuleCall};
use convkit_tensor::Tensor;

/// The inputs of the head, one row per training image, in dataset order.
pub(crate) struct Features {
    values: Vec<f32>,
    /// The shape of one image's features.
    dims: Vec<usize>,
}

/// Keeps the input of the module called `head`.
struct HeadInput<'a> {
    head: &'a str,
    input: Option<Tensor>,
}

impl ForwardHook for HeadInput<'_> {
    fn before(&mut self, name: &str, _: &dyn Module, input: &Tensor) -> convkit_nn::Result<()> {
        if name == self.head {
            self.input = Some(input.clone());
        }
        Ok(())
    }

    fn after(&mut self, _: &ModuleCall<'_>) -> convkit_nn::Result<Option<Tensor>> {
        Ok(None)
    }
}

impl Features {
    /// Runs `model` in inference mode over the training images of `data` (normalised, not
    /// augmented) and keeps what reaches its module `head`.
    pub(crate) fn extract(model: &dyn Module, head: &str, data: &RunData) -> Result<Features> {
        let config = LoaderConfig {
            batch_size: EVAL_BATCH,
            shuffle: false,
            drop_last: false,
            seed: 0,
            normalize: Some(data.normalize.clone()),
        };
        let loader = DataLoader::new(data.train.clone(), config)?;
        let (mut values, mut dims) = (Vec::new(), Vec::new());
        for batch in loader.epoch(0) {
            let images = Tensor::from_vec(batch.images, batch.dims)?;
            let mut hook = HeadInput { head, input: None };
            ForwardPass::new(Mode::Eval)
                .with_hook(&mut hook)
                .run(model, &images)?;
            let input = hook.input.expect("every zoo model calls its head");
            dims = input.dims()[1..].to_vec();
            values.extend_from_slice(&input.data());
        }
        Ok(Features { values, dims })
    }

    /// The features of the images at `indices`, `[indices.len(), ...]`.
    fn rows(&self, indices: &[usize]) -> Result<Tensor> {
        let len: usize = self.dims.iter().product();
        let mut rows = Vec::with_capacity(indices.len() * len);
        for &i in indices {
            rows.extend_from_slice(&self.values[i * len..(i + 1) * len]);
        }
        let dims: Vec<usize> = std::iter::once(indices.len())
            .chain(self.dims.iter().copied())
            .collect();
        Ok(Tensor::from_vec(rows, dims)?)
    }
}

/// A step that trains the module `head` of the model on cached [`Features`] of the batch's
/// images: fine-tuning with a frozen body in inference mode, without running the body.
pub(crate) struct LinearProbeStep {
    pub head: String,
    pub features: Features,
}

impl TrainStep for LinearProbeStep {
    fn forward_backward(&mut self, model: &dyn Module, batch: &StepBatch) -> Result<StepOutput> {
        let head = model.module(&self.head)?;
        let x = self.features.rows(&batch.indices)?;
        let logits = head.forward(&x, Mode::Train)?;
        let loss = training_loss(&logits, batch)?;
        let value = loss.item();
        if value.is_finite() {
            loss.backward()?;
        }
        Ok(StepOutput {
            loss: value,
            logits,
        })
    }
}
