//! What one epoch measured, and the metrics CSV's text.
use serde::{Deserialize, Serialize};

/// The first line of `metrics.csv`.
pub const CSV_HEADER: &str =
    "epoch,train_loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy,images_per_second,seconds";

/// One epoch's results: a row of `metrics.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    /// Mean training loss per image.
    pub train_loss: f64,
    /// Fraction of training images classified right (while training).
    pub train_accuracy: f64,
    /// Loss and accuracy on the held-out validation set, when there is one.
    pub validation: Option<(f64, f64)>,
    /// Loss and accuracy on the test set, when it was evaluated.
    pub test: Option<(f64, f64)>,
    /// Training images per second (training only, not evaluation).
    pub images_per_second: f64,
    /// Wall-clock seconds of the epoch's training.
    pub seconds: f64,
    /// The learning rate the epoch started with.
    pub lr: f64,
}

impl EpochMetrics {
    /// The (loss, accuracy) that selects the best epoch: validation's, else the test set's.
    pub fn selection(&self) -> Option<(f64, f64)> {
        self.validation.or(self.test)
    }
}

/// `loss,accuracy`, or two empty cells.
fn pair(cells: Option<(f64, f64)>) -> String {
    cells.map_or(",".to_string(), |(loss, acc)| format!("{loss:.6},{acc:.6}"))
}

/// The whole CSV for `history`: the header and a row per epoch.
pub fn csv(history: &[EpochMetrics]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for m in history {
        out += &format!(
            "{},{:.6},{:.6},{},{},{:.1},{:.2}\n",
            m.epoch,
            m.train_loss,
            m.train_accuracy,
            pair(m.validation),
            pair(m.test),
            m.images_per_second,
            m.seconds
        );
    }
    out
}
