//! Histograms in TensorFlow's default bucket scheme, the one TensorFlow's own summary writer uses.

use std::sync::OnceLock;

use super::error::HistogramInputError;

/// `HistogramProto`: summary statistics and bucket counts. Bucket `i` counts the values `v` with
/// `bucket_limit[i-1] <= v < bucket_limit[i]` (the first bucket is open below).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    pub min: f64,
    pub max: f64,
    pub num: f64,
    pub sum: f64,
    pub sum_squares: f64,
    pub bucket_limit: Vec<f64>,
    pub bucket: Vec<f64>,
}

/// TensorFlow's default bucket right edges, ascending: `-f64::MAX`, the negatives of the positive
/// edges, `0`, the positive edges `1e-12 · 1.1^k` (grown by repeated multiplication while below 1e20,
/// 774 of them), and `f64::MAX`.
pub fn default_bucket_limits() -> &'static [f64] {
    static LIMITS: OnceLock<Vec<f64>> = OnceLock::new();
    LIMITS.get_or_init(|| {
        let mut positive = Vec::new();
        let mut edge = 1e-12;
        while edge < 1e20 {
            positive.push(edge);
            edge *= 1.1;
        }
        positive.push(f64::MAX);
        let negative = positive.iter().rev().map(|edge| -edge);
        negative
            .chain(std::iter::once(0.0))
            .chain(positive.iter().copied())
            .collect()
    })
}

impl Histogram {
    /// Counts `values` in [`default_bucket_limits`]. As TensorFlow does, each run of consecutive empty
    /// buckets is written as one empty bucket ending at the run's last edge, so the proto stays small
    /// while every bucket edge is still one of the default ones. Sums are accumulated in f64.
    ///
    /// # Errors
    /// [`HistogramInputError::Empty`] for no values, [`HistogramInputError::NonFinite`] for a NaN or
    /// infinity (it would fall in no bucket).
    pub fn from_values(values: &[f32]) -> Result<Histogram, HistogramInputError> {
        if values.is_empty() {
            return Err(HistogramInputError::Empty);
        }
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(HistogramInputError::NonFinite {
                index,
                value: values[index],
            });
        }
        let limits = default_bucket_limits();
        let mut counts = vec![0.0; limits.len()];
        let mut histogram = Histogram {
            min: f64::MAX,
            max: -f64::MAX,
            ..Histogram::default()
        };
        for &value in values {
            let value = f64::from(value);
            // The first edge above `value`; every finite f32 lies below the last edge, f64::MAX.
            counts[limits.partition_point(|&edge| edge <= value)] += 1.0;
            histogram.min = histogram.min.min(value);
            histogram.max = histogram.max.max(value);
            histogram.sum += value;
            histogram.sum_squares += value * value;
        }
        histogram.num = values.len() as f64;
        let mut i = 0;
        while i < counts.len() {
            if counts[i] == 0.0 {
                while i + 1 < counts.len() && counts[i + 1] == 0.0 {
                    i += 1;
                }
            }
            histogram.bucket_limit.push(limits[i]);
            histogram.bucket.push(counts[i]);
            i += 1;
        }
        Ok(histogram)
    }
}
