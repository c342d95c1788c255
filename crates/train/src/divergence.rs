//! Stopping a run whose loss has diverged: not finite, or grown far beyond where it started.
use crate::error::{Error, Result};

/// How many times its first value the loss may reach before the run counts as diverged.
pub const GROWTH_LIMIT: f32 = 1e3;

/// Watches the per-batch loss of a run.
#[derive(Default)]
pub struct DivergenceGuard {
    /// The first loss this process saw (at least 1, so that a near-zero start is no trap).
    reference: Option<f32>,
}

impl DivergenceGuard {
    /// Checks the loss of `step` (1-based) of `epoch`; `lr` is named in the advice.
    ///
    /// # Errors
    /// [`Error::Diverged`] naming the value, the epoch and step, and the learning rate.
    pub fn check(&mut self, loss: f32, epoch: usize, step: usize, lr: f32) -> Result<()> {
        let advice = format!(
            "at epoch {epoch}, step {step}; try a lower learning rate (--lr, optimizer.lr; now {lr})"
        );
        if !loss.is_finite() {
            return Err(Error::Diverged(format!("the loss became {loss} {advice}")));
        }
        let reference = *self.reference.get_or_insert(loss.max(1.0));
        if loss > GROWTH_LIMIT * reference {
            return Err(Error::Diverged(format!(
                "the loss reached {loss:.4e}, over {GROWTH_LIMIT} times its start ({reference:.4}), {advice}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_on_non_finite_and_runaway_losses() {
        let mut guard = DivergenceGuard::default();
        guard.check(2.3, 1, 1, 0.1).unwrap();
        guard.check(2000.0, 1, 2, 0.1).unwrap();
        let err = guard.check(2400.0, 1, 3, 0.1).unwrap_err().to_string();
        assert!(
            err.contains("epoch 1, step 3") && err.contains("lower learning rate"),
            "{err}"
        );
        let err = guard.check(f32::NAN, 2, 7, 0.1).unwrap_err().to_string();
        assert!(
            err.starts_with("training diverged: the loss became NaN at epoch 2, step 7"),
            "{err}"
        );
    }
}
