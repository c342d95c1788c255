//! Curves of several runs in one chart, read back from their folders' `metrics.csv` (per epoch) and
//! `batches.csv` (per batch): the picture for "deeper plain nets train worse", "this init does not
//! learn", "BatchNorm tolerates a higher learning rate".
use crate::callbacks::{drawing_error, BATCHES_HEADER};
use crate::error::{Error, Result};
use crate::metrics::{parse_csv, EpochMetrics};
use convkit_plot::{Axis, Panel, Series};
use std::path::{Path, PathBuf};
use std::str::FromStr;

const PANEL: (u32, u32) = (560, 400);

/// What a panel shows: a per-epoch column of `metrics.csv` (errors and accuracies in %), or the
/// loss of every batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMetric {
    TrainLoss,
    TrainError,
    TrainAccuracy,
    ValLoss,
    ValError,
    ValAccuracy,
    TestLoss,
    TestError,
    TestAccuracy,
    BatchLoss,
}

/// Every metric with its name on the command line.
const NAMES: [(&str, RunMetric); 10] = [
    ("train-loss", RunMetric::TrainLoss),
    ("train-error", RunMetric::TrainError),
    ("train-accuracy", RunMetric::TrainAccuracy),
    ("val-loss", RunMetric::ValLoss),
    ("val-error", RunMetric::ValError),
    ("val-accuracy", RunMetric::ValAccuracy),
    ("test-loss", RunMetric::TestLoss),
    ("test-error", RunMetric::TestError),
    ("test-accuracy", RunMetric::TestAccuracy),
    ("batch-loss", RunMetric::BatchLoss),
];

impl RunMetric {
    /// Its name, as [`FromStr`] reads it.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("", |(n, _)| n)
    }

    /// The value for one epoch, if it was measured.
    fn of_epoch(self, m: &EpochMetrics) -> Option<f64> {
        let loss = |pair: Option<(f64, f64)>| pair.map(|(loss, _)| loss);
        let accuracy = |pair: Option<(f64, f64)>| pair.map(|(_, acc)| 100.0 * acc);
        let error = |pair: Option<(f64, f64)>| pair.map(|(_, acc)| 100.0 * (1.0 - acc));
        let train = Some((m.train_loss, m.train_accuracy));
        match self {
            RunMetric::TrainLoss => loss(train),
            RunMetric::TrainError => error(train),
            RunMetric::TrainAccuracy => accuracy(train),
            RunMetric::ValLoss => loss(m.validation),
            RunMetric::ValError => error(m.validation),
            RunMetric::ValAccuracy => accuracy(m.validation),
            RunMetric::TestLoss => loss(m.test),
            RunMetric::TestError => error(m.test),
            RunMetric::TestAccuracy => accuracy(m.test),
            RunMetric::BatchLoss => None,
        }
    }
}

impl FromStr for RunMetric {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<RunMetric, String> {
        NAMES
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, m)| *m)
            .ok_or_else(|| {
                let known: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                format!("unknown metric '{s}' (known: {})", known.join(", "))
            })
    }
}

/// How the chart is drawn.
#[derive(Clone, Copy, Debug)]
pub struct CompareOptions {
    /// Loss axes on a log scale.
    pub log_loss: bool,
    /// Batch losses as the mean of this many consecutive batches (1: raw).
    pub smooth: usize,
}

impl Default for CompareOptions {
    fn default() -> CompareOptions {
        CompareOptions {
            log_loss: false,
            smooth: 1,
        }
    }
}

/// One run to draw: its legend label and its folder.
#[derive(Clone, Debug)]
pub struct RunToCompare {
    pub label: String,
    pub dir: PathBuf,
}

/// One panel per metric with a line per run, as PNG bytes.
///
/// # Errors
/// A run folder without the file a metric needs, a file that does not parse (with its path and
/// line), a metric no run measured, or a chart that cannot be drawn.
pub fn draw_runs(
    runs: &[RunToCompare],
    metrics: &[RunMetric],
    options: CompareOptions,
) -> Result<Vec<u8>> {
    if runs.is_empty() || metrics.is_empty() {
        return Err(Error::config(
            "plot",
            "give at least one run folder and one metric",
        ));
    }
    let panels = metrics
        .iter()
        .map(|&metric| {
            let series = runs
                .iter()
                .map(|run| {
                    Ok(Series::new(
                        run.label.clone(),
                        points(run, metric, options)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            if series.iter().all(|s| s.points.is_empty()) {
                return Err(Error::config(
                    "plot",
                    format!("no run measured {}", metric.name()),
                ));
            }
            let is_loss = matches!(
                metric,
                RunMetric::TrainLoss
                    | RunMetric::ValLoss
                    | RunMetric::TestLoss
                    | RunMetric::BatchLoss
            );
            let y = Axis::new(if is_loss { "loss" } else { "%" });
            let x = if metric == RunMetric::BatchLoss {
                "step"
            } else {
                "epoch"
            };
            Ok(Panel {
                title: metric.name().replace('-', " "),
                x: Axis::new(x),
                y: if is_loss && options.log_loss {
                    y.log()
                } else {
                    y
                },
                series: series.into_iter().map(markers_if_few).collect(),
                vertical_lines: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let image = convkit_plot::render(&panels, PANEL).map_err(drawing_error)?;
    convkit_plot::to_png(&image).map_err(drawing_error)
}

/// Dots on lines of a few points (epochs), none on dense ones (batches).
fn markers_if_few(series: Series) -> Series {
    if series.points.len() <= 50 {
        series.markers()
    } else {
        series
    }
}

/// The (x, y) points of `metric` for `run`.
fn points(
    run: &RunToCompare,
    metric: RunMetric,
    options: CompareOptions,
) -> Result<Vec<(f64, f64)>> {
    if metric == RunMetric::BatchLoss {
        let losses = read_batch_losses(&run.dir)?;
        return Ok(moving_average(&losses, options.smooth.max(1)));
    }
    Ok(read_metrics(&run.dir)?
        .iter()
        .filter_map(|m| metric.of_epoch(m).map(|v| (m.epoch as f64, v)))
        .collect())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// The per-epoch rows of the run in `dir`.
///
/// # Errors
/// The file's path with the OS error or the line that does not parse.
pub fn read_metrics(dir: &Path) -> Result<Vec<EpochMetrics>> {
    let path = dir.join("metrics.csv");
    parse_csv(&read(&path)?).map_err(|msg| Error::Format { path, msg })
}

/// (global step, loss) of every batch of the run in `dir`.
///
/// # Errors
/// The file's path with the OS error or the line that does not parse.
pub fn read_batch_losses(dir: &Path) -> Result<Vec<(f64, f64)>> {
    let path = dir.join("batches.csv");
    let text = read(&path)?;
    let format = |msg: String| Error::Format {
        path: path.clone(),
        msg,
    };
    let mut lines = text.lines();
    if lines.next() != Some(BATCHES_HEADER) {
        return Err(format(format!(
            "line 1: expected the header `{BATCHES_HEADER}`"
        )));
    }
    lines
        .enumerate()
        .map(|(i, row)| {
            let cells: Vec<&str> = row.split(',').collect();
            let number = |k: usize| cells.get(k).and_then(|c| c.parse::<f64>().ok());
            match (cells.len(), number(2), number(3)) {
                (5, Some(step), Some(loss)) => Ok((step, loss)),
                _ => Err(format(format!(
                    "line {}: expected epoch,batch,step,loss,lr",
                    i + 2
                ))),
            }
        })
        .collect()
}

/// The mean of each run of `window` consecutive points, at the last point's x.
fn moving_average(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    points
        .windows(window.min(points.len()).max(1))
        .map(|w| {
            let mean = w.iter().map(|p| p.1).sum::<f64>() / w.len() as f64;
            (w[w.len() - 1].0, mean)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_round_trip_and_unknown_ones_list_the_known() {
        for (name, metric) in NAMES {
            assert_eq!(name.parse::<RunMetric>().unwrap(), metric);
            assert_eq!(metric.name(), name);
        }
        let err = "loss".parse::<RunMetric>().unwrap_err();
        assert!(
            err.contains("train-loss") && err.contains("batch-loss"),
            "{err}"
        );
    }

    #[test]
    fn errors_are_percent_and_missing_splits_are_skipped() {
        let m = EpochMetrics {
            epoch: 3,
            train_loss: 0.5,
            train_accuracy: 0.75,
            validation: None,
            test: Some((0.4, 0.9)),
            images_per_second: 1.0,
            seconds: 1.0,
            lr: 0.0,
        };
        assert_eq!(RunMetric::TrainError.of_epoch(&m), Some(25.0));
        assert!((RunMetric::TestError.of_epoch(&m).unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(RunMetric::ValLoss.of_epoch(&m), None);
    }

    #[test]
    fn smoothing_averages_windows() {
        let points = [(1.0, 1.0), (2.0, 3.0), (3.0, 5.0)];
        assert_eq!(moving_average(&points, 2), vec![(2.0, 2.0), (3.0, 4.0)]);
        assert_eq!(moving_average(&points, 9), vec![(3.0, 3.0)]);
        assert!(moving_average(&[], 3).is_empty());
    }

    #[test]
    fn a_folder_without_metrics_is_named_in_the_error() {
        let dir = std::env::temp_dir().join("convkit-compare-missing");
        let run = RunToCompare {
            label: "a".into(),
            dir: dir.clone(),
        };
        let err = draw_runs(&[run], &[RunMetric::TrainLoss], CompareOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("metrics.csv"), "{err}");
    }
}
