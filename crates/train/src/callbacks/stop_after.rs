//! Stopping a run after a given epoch, as if it were interrupted (it can be resumed).
use crate::callback::{Callback, Control, EpochEnd};
use crate::error::Result;

/// Stops the run at the end of epoch `epoch` (unless that is the last one anyway).
pub struct StopAfter {
    pub epoch: usize,
}

impl Callback for StopAfter {
    fn on_epoch_end(&mut self, event: &EpochEnd) -> Result<Control> {
        let epoch = event.metrics.epoch;
        Ok(if epoch == self.epoch && epoch < event.epochs {
            Control::Stop {
                reason: format!("stopped after epoch {epoch} as asked"),
            }
        } else {
            Control::Continue
        })
    }
}
