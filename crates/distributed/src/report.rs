//! A line per epoch on what the gradient exchange cost (for the primary rank's console).
use crate::collectives::{Collectives, CommStats};
use convkit_train::callback::{BatchEnd, Callback, Control, EpochEnd};
use convkit_train::Result;
use std::sync::Arc;

/// Prints after each epoch: ranks, the all-reduce's time per step and share of the step, and the
/// bytes each rank sends into it per step.
pub struct CommReport {
    comm: Arc<Collectives>,
    at_epoch_start: CommStats,
    steps: u64,
}

impl CommReport {
    pub fn new(comm: &Arc<Collectives>) -> CommReport {
        CommReport {
            comm: Arc::clone(comm),
            at_epoch_start: comm.stats(),
            steps: 0,
        }
    }
}

impl Callback for CommReport {
    fn on_batch_end(&mut self, _event: &BatchEnd) -> Result<Control> {
        self.steps += 1;
        Ok(Control::Continue)
    }

    fn on_epoch_end(&mut self, event: &EpochEnd) -> Result<Control> {
        let now = self.comm.stats();
        let exchanges = (now.exchanges - self.at_epoch_start.exchanges).max(1) as f64;
        let seconds = (now.seconds - self.at_epoch_start.seconds) / exchanges;
        let bytes = (now.bytes - self.at_epoch_start.bytes) as f64 / exchanges;
        let step = event.metrics.seconds / self.steps.max(1) as f64;
        println!(
            "data-parallel on {} ranks: gradient all-reduce {:.2} ms per step ({:.1}% of a {:.0} ms step), {:.2} MB per step and rank",
            self.comm.size(),
            1e3 * seconds,
            100.0 * seconds / step,
            1e3 * step,
            bytes / 1e6
        );
        self.at_epoch_start = now;
        self.steps = 0;
        Ok(Control::Continue)
    }
}
