//! The range test on a run's own model, data, optimiser and step.
use super::{range_test, LrFindConfig, LrFindResult};
use crate::error::Result;
use crate::step::StepBatch;
use crate::trainer::Trainer;

impl Trainer {
    /// Runs the learning-rate range test with this run's model, training data (augmented as
    /// configured), optimiser, parameter groups and step, then restores every parameter and
    /// buffer, so that `fit` starts from the same weights afterwards.
    ///
    /// # Errors
    /// Invalid settings, a failing step, or a loss that diverges at once.
    pub fn lr_find(&mut self, config: &LrFindConfig) -> Result<LrFindResult> {
        let loader = self.data.train_loader(&self.config)?;
        let (groups, frozen) = self.optimizer_groups()?;
        // A fine-tuning run's first epoch: the rates of its first phase are the ones tested.
        self.apply_epoch(1, &frozen);
        let buffers = self.model.buffers();
        let mut optimizer = self
            .config
            .optimizer
            .build(groups, buffers, config.iterations)?;
        let model = self.model.as_ref();
        let saved: Vec<Vec<f32>> = model
            .named_tensors()
            .iter()
            .map(|(_, t)| t.to_vec())
            .collect();
        let step = self.step.as_mut();
        let mut epoch = 0u64;
        let mut batches = loader.epoch(epoch);
        let result = range_test(config, |lr| {
            let batch = match batches.next() {
                Some(batch) => batch,
                None => {
                    epoch += 1;
                    batches = loader.epoch(epoch);
                    batches
                        .next()
                        .expect("a training set holds at least one batch")
                }
            };
            optimizer.set_lr(lr as f32);
            optimizer.zero_grad();
            let output = step.forward_backward(model, &StepBatch::from_loader(batch)?)?;
            if output.loss.is_finite() {
                optimizer.step()?;
            }
            Ok(output.loss as f64)
        });
        optimizer.zero_grad();
        for ((_, t), values) in model.named_tensors().iter().zip(&saved) {
            t.data_mut().copy_from_slice(values);
        }
        result
    }
}
