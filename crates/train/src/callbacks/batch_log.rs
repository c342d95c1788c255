//! `batches.csv` in the run folder: the loss and learning rate of every training batch (for curves
//! within an epoch, e.g. the first epoch under different initialisations). Each epoch's rows are
//! appended when it ends; a resumed run first drops the rows of epochs it will train again.
use crate::callback::{BatchEnd, Callback, Control, EpochEnd, RunStart};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first line of `batches.csv`.
pub const BATCHES_HEADER: &str = "epoch,batch,step,loss,lr";

/// Writes `batches.csv`.
#[derive(Default)]
pub struct BatchLog {
    path: PathBuf,
    /// Rows of the epoch in progress.
    pending: String,
}

impl Callback for BatchLog {
    fn on_run_start(&mut self, event: &RunStart) -> Result<()> {
        self.path = event.run_dir.join("batches.csv");
        let kept = match std::fs::read_to_string(&self.path) {
            Ok(text) => rows_before(&text, event.first_epoch),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(&self.path, e)),
        };
        let text = format!("{BATCHES_HEADER}\n{kept}");
        convkit_nn::io::write_atomic(&self.path, text.as_bytes())?;
        Ok(())
    }

    fn on_batch_end(&mut self, e: &BatchEnd) -> Result<Control> {
        self.pending += &format!(
            "{},{},{},{:.6},{:.6e}\n",
            e.epoch, e.step, e.global_step, e.loss, e.lr
        );
        Ok(Control::Continue)
    }

    fn on_epoch_end(&mut self, _event: &EpochEnd) -> Result<Control> {
        append(&self.path, &self.pending)?;
        self.pending.clear();
        Ok(Control::Continue)
    }
}

/// The data rows of `text` (a `batches.csv`) from epochs before `first_epoch`.
fn rows_before(text: &str, first_epoch: usize) -> String {
    text.lines()
        .skip(1)
        .filter(|row| {
            let epoch = row.split(',').next().and_then(|e| e.parse::<usize>().ok());
            epoch.is_some_and(|e| e < first_epoch)
        })
        .map(|row| format!("{row}\n"))
        .collect()
}

fn append(path: &Path, rows: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.write_all(rows.as_bytes())
        .map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_run_keeps_only_the_finished_epochs() {
        let text = format!("{BATCHES_HEADER}\n1,1,1,2.3,0.1\n1,2,2,2.1,0.1\n2,1,3,1.9,0.1\n");
        assert_eq!(rows_before(&text, 2), "1,1,1,2.3,0.1\n1,2,2,2.1,0.1\n");
        assert_eq!(rows_before(&text, 1), "");
    }
}
