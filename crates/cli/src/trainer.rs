//! One epoch of training: forward, loss, backward, clipping, optimiser and schedule steps over the
//! loader's batches, with a progress bar and the snapshots of a snapshot ensemble.
use crate::checkpoint_io::{save_checkpoint, TrainedModel};
use crate::optim_args::OptimArgs;
use crate::tensors::{batch_images, training_loss};
use anyhow::bail;
use convkit_data::DataLoader;
use convkit_nn::optim::Optimizer;
use convkit_nn::rng_scope::with_rng_seed;
use convkit_nn::schedule::LrScheduler;
use convkit_nn::Mode;
use convkit_tensor::Tensor;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What one epoch of training measured.
pub struct EpochResult {
    /// Mean training loss per image.
    pub loss: f64,
    /// Fraction of training images classified right (while training).
    pub accuracy: f64,
    /// Images trained on.
    pub images: usize,
    /// Wall-clock time of the epoch's training.
    pub seconds: f64,
}

/// The training state a run carries from epoch to epoch.
pub struct Trainer<'a> {
    /// The model, with what its checkpoints record.
    pub trained: TrainedModel<'a>,
    /// The model's parameters (gradient clipping walks them).
    pub params: Vec<(String, Tensor)>,
    pub optimizer: Box<dyn Optimizer>,
    pub scheduler: Option<LrScheduler>,
    /// The training batches.
    pub loader: DataLoader,
    /// The optimiser options: clipping, and the rate a divergence message names.
    pub optim: &'a OptimArgs,
    /// The run's seed, from which each epoch's dropout seed is derived.
    pub seed: u64,
    /// Where snapshots go.
    pub run_dir: PathBuf,
    /// Hide the progress bar and the snapshot messages.
    pub quiet: bool,
    /// Snapshots saved so far (set from [`Trainer::cycles`] when a run resumes).
    pub snapshots: usize,
}

/// The seed of epoch `epoch`'s dropout masks: a function of the run's seed and the epoch alone, so
/// a resumed run draws the same ones.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The file of the `k`-th snapshot (1-based) of a snapshot ensemble.
fn snapshot_path(run_dir: &Path, k: usize) -> PathBuf {
    run_dir.join(format!("snapshot-{k}.safetensors"))
}

fn progress_bar(len: usize, epoch: usize, epochs: usize, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    let style =
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}<{eta})")
            .expect("valid template")
            .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("epoch {epoch}/{epochs}"));
    bar
}

impl Trainer<'_> {
    /// Trains epoch `epoch` (1-based) of `epochs`.
    ///
    /// # Errors
    /// A loss that is no longer finite (with advice), or a failing layer or snapshot write.
    pub fn train_epoch(&mut self, epoch: usize, epochs: usize) -> anyhow::Result<EpochResult> {
        with_rng_seed(epoch_seed(self.seed, epoch), || {
            self.train_epoch_seeded(epoch, epochs)
        })
    }

    fn train_epoch_seeded(&mut self, epoch: usize, epochs: usize) -> anyhow::Result<EpochResult> {
        let bar = progress_bar(self.loader.num_batches(), epoch, epochs, self.quiet);
        let start = Instant::now();
        let (mut seen, mut correct, mut loss_sum) = (0usize, 0usize, 0.0f64);
        for (step, mut batch) in self.loader.epoch(epoch as u64 - 1).enumerate() {
            let soft_targets = batch.targets.take();
            let (images, labels) = batch_images(batch)?;
            let logits = self.trained.model.forward(&images, Mode::Train)?;
            let loss = training_loss(&logits, &labels, soft_targets)?;
            let value = loss.item();
            if !value.is_finite() {
                bail!(
                    "training diverged: the loss became {value} at epoch {epoch}, step {}; try a lower learning rate (--lr, now {})",
                    step + 1,
                    self.optim.lr()
                );
            }
            self.optimizer.zero_grad();
            loss.backward()?;
            self.optim.clip(&self.params)?;
            self.optimizer.step()?;
            if let Some(s) = self.scheduler.as_mut() {
                s.batch_end(self.optimizer.as_mut());
            }
            self.save_snapshot_at_cycle_end(epoch)?;
            seen += labels.len();
            loss_sum += value as f64 * labels.len() as f64;
            correct += logits
                .argmax(1)?
                .iter()
                .zip(&labels)
                .filter(|(p, l)| p == l)
                .count();
            bar.inc(1);
            if step % 20 == 0 {
                let rate = seen as f64 / start.elapsed().as_secs_f64();
                bar.set_message(format!(
                    "loss {:.4} acc {:.2}% {rate:.0} img/s",
                    loss_sum / seen as f64,
                    100.0 * correct as f64 / seen as f64
                ));
            }
        }
        bar.finish_and_clear();
        Ok(EpochResult {
            loss: loss_sum / seen as f64,
            accuracy: correct as f64 / seen as f64,
            images: seen,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// Ends the epoch for the schedule (`metric` feeds reduce-on-plateau), saving a snapshot if a
    /// cycle ended.
    pub fn end_epoch(&mut self, epoch: usize, metric: Option<f64>) -> anyhow::Result<()> {
        if let Some(s) = self.scheduler.as_mut() {
            s.epoch_end(metric.map(|m| m as f32), self.optimizer.as_mut());
        }
        self.save_snapshot_at_cycle_end(epoch)
    }

    /// Cycles of the schedule finished so far: the snapshots a run has saved up to now.
    pub fn cycles(&self) -> usize {
        self.scheduler
            .as_ref()
            .map_or(0, LrScheduler::cycles_completed)
    }

    /// Saves `snapshot-<k>.safetensors` when the schedule has just finished its `k`-th cycle (the
    /// rate at its minimum), during epoch `epoch`. Called after every schedule step: a step ends
    /// at most one cycle.
    fn save_snapshot_at_cycle_end(&mut self, epoch: usize) -> anyhow::Result<()> {
        let k = self.cycles();
        if k <= self.snapshots {
            return Ok(());
        }
        self.snapshots = k;
        let path = snapshot_path(&self.run_dir, k);
        save_checkpoint(&path, &self.trained, epoch, None, None)?;
        if !self.quiet {
            println!(
                "snapshot {k} (end of cycle {k}, epoch {epoch}): {}",
                path.display()
            );
        }
        Ok(())
    }
}
