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

/// The rows of a `metrics.csv` written by [`csv`] (the learning rate is not in the file: 0).
///
/// # Errors
/// The 1-based line and what is wrong with it, when the header or a row does not parse.
pub fn parse_csv(text: &str) -> std::result::Result<Vec<EpochMetrics>, String> {
    let mut lines = text.lines();
    if lines.next() != Some(CSV_HEADER) {
        return Err(format!("line 1: expected the header `{CSV_HEADER}`"));
    }
    lines
        .enumerate()
        .filter(|(_, row)| !row.is_empty())
        .map(|(i, row)| parse_row(row).map_err(|msg| format!("line {}: {msg}", i + 2)))
        .collect()
}

fn parse_row(row: &str) -> std::result::Result<EpochMetrics, String> {
    let cells: Vec<&str> = row.split(',').collect();
    if cells.len() != 9 {
        return Err(format!("{} cells, expected 9", cells.len()));
    }
    let number = |i: usize| -> std::result::Result<f64, String> {
        cells[i]
            .parse::<f64>()
            .map_err(|_| format!("cell {} is not a number: '{}'", i + 1, cells[i]))
    };
    let pair = |i: usize| -> std::result::Result<Option<(f64, f64)>, String> {
        if cells[i].is_empty() && cells[i + 1].is_empty() {
            Ok(None)
        } else {
            Ok(Some((number(i)?, number(i + 1)?)))
        }
    };
    Ok(EpochMetrics {
        epoch: cells[0]
            .parse()
            .map_err(|_| format!("epoch is not a whole number: '{}'", cells[0]))?,
        train_loss: number(1)?,
        train_accuracy: number(2)?,
        validation: pair(3)?,
        test: pair(5)?,
        images_per_second: number(7)?,
        seconds: number(8)?,
        lr: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_reads_back() {
        let history = vec![
            EpochMetrics {
                epoch: 1,
                train_loss: 0.5,
                train_accuracy: 0.8,
                validation: None,
                test: Some((0.25, 0.9)),
                images_per_second: 100.5,
                seconds: 3.25,
                lr: 0.0,
            },
            EpochMetrics {
                epoch: 2,
                train_loss: 1.0,
                train_accuracy: 0.5,
                validation: Some((0.2, 0.95)),
                test: None,
                images_per_second: 10.0,
                seconds: 1.0,
                lr: 0.0,
            },
        ];
        assert_eq!(parse_csv(&csv(&history)).unwrap(), history);
        let broken = format!("{CSV_HEADER}\n1,0.5,x,,,,,1,1\n");
        assert_eq!(
            parse_csv(&broken).unwrap_err(),
            "line 2: cell 3 is not a number: 'x'"
        );
        assert!(parse_csv("epoch,loss\n").unwrap_err().starts_with("line 1"));
    }
}
