//! The run's story on standard output: what is trained, a line per epoch, snapshots and early
//! stopping.
use crate::callback::{
    Callback, CheckpointWritten, Control, EpochEnd, RunEnd, RunEndReason, RunStart,
};
use crate::checkpoint::CheckpointKind;
use crate::error::Result;

/// Prints a run's progress, an epoch per line.
#[derive(Default)]
pub struct Console {
    epochs: usize,
}

impl Callback for Console {
    fn on_run_start(&mut self, e: &RunStart) -> Result<()> {
        let c = e.config;
        self.epochs = c.epochs;
        println!(
            "training {} ({} parameters) on {} ({} images), {} epochs, batch {}, {:?} lr {}",
            c.model,
            e.model.num_parameters(),
            c.data.dataset.as_str(),
            e.train_images,
            c.epochs,
            c.batch_size(),
            c.optimizer.name,
            c.optimizer.lr()
        );
        if let Some(l) = c.optimizer.lookahead {
            let alpha = match l.ramp {
                Some(power) => format!("1 − {}·(t/T)^{power}", 1.0 - l.alpha),
                None => l.alpha.to_string(),
            };
            let statistics = if l.buffers {
                " (batch-norm statistics too)"
            } else {
                ""
            };
            println!(
                "lookahead: every {} steps the slow weights{statistics} move {alpha} of the way \
                 to the weights, which restart from them",
                l.k
            );
        }
        if let Some(w) = &c.whitening {
            println!(
                "whitening: layer '{}' set from the patches of the first {} training images",
                w.layer, w.images
            );
        }
        if e.first_epoch > 1 {
            println!(
                "resuming {} after epoch {}",
                e.run_dir.display(),
                e.first_epoch - 1
            );
        }
        if let Some(n) = e.val_images {
            println!(
                "validation: {n} images held out; the best checkpoint is chosen by validation accuracy"
            );
        }
        Ok(())
    }

    fn on_checkpoint(&mut self, e: &CheckpointWritten) -> Result<()> {
        if let CheckpointKind::Snapshot(k) = e.kind {
            println!(
                "snapshot {k} (end of cycle {k}, epoch {}): {}",
                e.epoch,
                e.path.display()
            );
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, e: &EpochEnd) -> Result<Control> {
        let m = e.metrics;
        let epochs = self.epochs;
        if let Some((loss, accuracy)) = m.validation {
            println!(
                "epoch {}/{epochs}: validation loss {loss:.4} acc {:.2}%",
                m.epoch,
                100.0 * accuracy
            );
        }
        let test = m
            .test
            .map_or("not evaluated".to_string(), |(loss, accuracy)| {
                format!("loss {loss:.4} acc {:.2}%", 100.0 * accuracy)
            });
        println!(
            "epoch {}/{epochs}: train loss {:.4} acc {:.2}% | test {test} | lr {:.4e} | {:.0} img/s, {:.1} s",
            m.epoch,
            m.train_loss,
            100.0 * m.train_accuracy,
            m.lr,
            m.images_per_second,
            m.seconds
        );
        Ok(Control::Continue)
    }

    fn on_run_end(&mut self, e: &RunEnd) -> Result<()> {
        if let RunEndReason::EarlyStopped { best_epoch, best } = e.reason {
            let last = e.history.last().map_or(0, |m| m.epoch);
            println!(
                "early stopping: no better {} accuracy for {} epochs (best {:.2}% at epoch {best_epoch})",
                if e.has_validation { "validation" } else { "test" },
                last - best_epoch,
                100.0 * best
            );
        }
        Ok(())
    }
}
