//! `metrics.csv` in the run folder: one row per epoch, rewritten whole after every epoch (atomically,
//! so the file is always complete; a resumed run's file holds the earlier epochs too).
use crate::callback::{Callback, Control, EpochEnd, RunStart};
use crate::error::Result;
use crate::metrics::csv;
use std::path::Path;

/// Writes `metrics.csv`.
#[derive(Default)]
pub struct MetricsCsv;

fn write(run_dir: &Path, history: &[crate::metrics::EpochMetrics]) -> Result<()> {
    convkit_nn::io::write_atomic(&run_dir.join("metrics.csv"), csv(history).as_bytes())?;
    Ok(())
}

impl Callback for MetricsCsv {
    fn on_run_start(&mut self, event: &RunStart) -> Result<()> {
        write(event.run_dir, event.history)
    }

    fn on_epoch_end(&mut self, event: &EpochEnd) -> Result<Control> {
        write(event.run_dir, event.history)?;
        Ok(Control::Continue)
    }
}
