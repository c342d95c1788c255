//! One epoch of training: for each batch, zero the gradients, run the step (forward and
//! backward), check for divergence, run the gradient hooks, clip, step the optimiser and the
//! schedule, save a snapshot at a cycle's end, and report to the callbacks.
use crate::callback::{emit, BatchEnd, Control};
use crate::checkpoint::CheckpointKind;
use crate::error::Result;
use crate::run::Run;
use crate::step::StepBatch;
use convkit_nn::rng_scope::with_rng_seed;
use convkit_nn::schedule::LrScheduler;
use std::time::Instant;

/// What one epoch of training measured (on every rank of a data-parallel job together).
pub(crate) struct TrainedEpoch {
    /// Mean training loss per image.
    pub loss: f64,
    /// Fraction of training images classified right (while training).
    pub accuracy: f64,
    pub images: usize,
    pub seconds: f64,
}

/// The seed of epoch `epoch`'s dropout masks: a function of the run's seed and the epoch alone, so
/// a resumed run draws the same ones.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl Run<'_> {
    /// Trains epoch `epoch` (1-based); `Ok(Err(reason))` when a callback stopped it mid-way.
    pub(crate) fn train_epoch(
        &mut self,
        epoch: usize,
    ) -> Result<std::result::Result<TrainedEpoch, String>> {
        with_rng_seed(epoch_seed(self.config.seed, epoch), || {
            self.train_batches(epoch)
        })
    }

    fn train_batches(&mut self, epoch: usize) -> Result<std::result::Result<TrainedEpoch, String>> {
        let start = Instant::now();
        let batches = self.loader.num_batches();
        self.step.begin_epoch(epoch, self.config.epochs);
        let (mut seen, mut correct, mut loss_sum) = (0usize, 0usize, 0.0f64);
        for (index, batch) in self.loader.epoch(epoch as u64 - 1).enumerate() {
            let step = index + 1;
            let batch = StepBatch::from_loader(batch)?;
            self.optimizer.zero_grad();
            let output = self.step.forward_backward(self.model, &batch)?;
            self.guard
                .check(output.loss, epoch, step, self.optimizer.lr())?;
            for hook in self.hooks.iter_mut() {
                hook.after_backward(&self.trainable)?;
            }
            self.config.clip.apply(&self.trainable)?;
            self.optimizer.step()?;
            if let Some(s) = self.scheduler.as_mut() {
                s.batch_end(self.optimizer.as_mut());
            }
            self.save_snapshot_at_cycle_end(epoch)?;
            let n = batch.labels.len();
            seen += n;
            loss_sum += output.loss as f64 * n as f64;
            correct += output
                .logits
                .argmax(1)?
                .iter()
                .zip(&batch.labels)
                .filter(|(p, l)| p == l)
                .count();
            let event = BatchEnd {
                epoch,
                step,
                batches_per_epoch: batches,
                global_step: ((epoch - 1) * batches + step) as u64,
                loss: output.loss,
                epoch_loss: loss_sum / seen as f64,
                epoch_accuracy: correct as f64 / seen as f64,
                images: seen,
                seconds: start.elapsed().as_secs_f64(),
                lr: self.optimizer.lr(),
            };
            let control = emit(self.callbacks, |c| c.on_batch_end(&event))?;
            if let Control::Stop { reason } = self.agree(control)? {
                return Ok(Err(reason));
            }
        }
        // Over every rank of a data-parallel job.
        let mut totals = [seen as f64, correct as f64, loss_sum];
        self.replicas.all_sum(&mut totals)?;
        let [seen, correct, loss_sum] = totals;
        Ok(Ok(TrainedEpoch {
            loss: loss_sum / seen,
            accuracy: correct / seen,
            images: seen as usize,
            seconds: start.elapsed().as_secs_f64(),
        }))
    }

    /// Saves `snapshot-<k>.safetensors` when the schedule has just finished its `k`-th cycle (the
    /// rate at its minimum), during epoch `epoch`. Called after every schedule step: a step ends
    /// at most one cycle.
    pub(crate) fn save_snapshot_at_cycle_end(&mut self, epoch: usize) -> Result<()> {
        let k = self
            .scheduler
            .as_ref()
            .map_or(0, LrScheduler::cycles_completed);
        if k <= self.snapshots {
            return Ok(());
        }
        self.snapshots = k;
        self.save_plain(CheckpointKind::Snapshot(k), epoch)
    }
}
