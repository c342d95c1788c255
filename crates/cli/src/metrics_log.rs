//! The per-epoch metrics CSV written into a run folder.
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub const HEADER: &str =
    "epoch,train_loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy,images_per_second,seconds";

/// One row of metrics.csv.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    /// Loss and accuracy on the held-out validation set, when there is one.
    pub validation: Option<(f64, f64)>,
    /// Loss and accuracy on the test set, when it was evaluated (`convkit search` never does).
    pub test: Option<(f64, f64)>,
    pub images_per_second: f64,
    pub seconds: f64,
}

pub struct MetricsLog {
    path: PathBuf,
    out: BufWriter<File>,
}

/// `loss,accuracy`, or two empty cells.
fn pair(cells: Option<(f64, f64)>) -> String {
    cells.map_or(",".to_string(), |(loss, acc)| format!("{loss:.6},{acc:.6}"))
}

impl MetricsLog {
    /// A new file holding the header and `history` (the rows of a resumed run), written to a
    /// temporary file and renamed over `path`, so the old file survives a crash.
    pub fn create(path: &Path, history: &[EpochMetrics]) -> anyhow::Result<MetricsLog> {
        let tmp = convkit_nn::io::temporary_path(path);
        let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut log = MetricsLog {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        };
        writeln!(log.out, "{HEADER}").with_context(|| format!("writing {}", tmp.display()))?;
        history.iter().try_for_each(|row| log.append(row))?;
        log.out
            .flush()
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(log)
    }

    /// Appends a row and flushes, so the file is current even if the run is interrupted.
    pub fn append(&mut self, m: &EpochMetrics) -> anyhow::Result<()> {
        writeln!(
            self.out,
            "{},{:.6},{:.6},{},{},{:.1},{:.2}",
            m.epoch,
            m.train_loss,
            m.train_accuracy,
            pair(m.validation),
            pair(m.test),
            m.images_per_second,
            m.seconds
        )
        .and_then(|_| self.out.flush())
        .with_context(|| format!("writing {}", self.path.display()))
    }
}
