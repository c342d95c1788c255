//! The per-epoch metrics CSV written into a run folder.
use anyhow::Context;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub const HEADER: &str =
    "epoch,train_loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy,images_per_second,seconds";

/// One row of metrics.csv.
#[derive(Clone, Debug)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    /// Loss and accuracy on the held-out validation set, when there is one.
    pub validation: Option<(f64, f64)>,
    pub test_loss: f64,
    pub test_accuracy: f64,
    pub images_per_second: f64,
    pub seconds: f64,
}

pub struct MetricsLog {
    path: PathBuf,
    out: BufWriter<File>,
}

impl MetricsLog {
    pub fn create(path: &Path) -> anyhow::Result<MetricsLog> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut log = MetricsLog {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        };
        writeln!(log.out, "{HEADER}").with_context(|| format!("writing {}", path.display()))?;
        Ok(log)
    }

    /// Appends a row and flushes, so the file is current even if the run is interrupted.
    pub fn append(&mut self, m: &EpochMetrics) -> anyhow::Result<()> {
        writeln!(
            self.out,
            "{},{:.6},{:.6},{},{:.6},{:.6},{:.1},{:.2}",
            m.epoch,
            m.train_loss,
            m.train_accuracy,
            // Empty cells when no validation set was held out.
            m.validation
                .map_or(",".to_string(), |(loss, acc)| format!("{loss:.6},{acc:.6}")),
            m.test_loss,
            m.test_accuracy,
            m.images_per_second,
            m.seconds
        )
        .and_then(|_| self.out.flush())
        .with_context(|| format!("writing {}", self.path.display()))
    }
}
