//! Evaluation of a model over a whole dataset: loss, top-1 and top-5 accuracy, confusion matrix.
use crate::tensors::batch_images;
use convkit_data::{DataLoader, Dataset, LoaderConfig, Normalize};
use convkit_nn::{Mode, Module};
use convkit_tensor::no_grad;
use std::fmt;
use std::sync::Arc;

/// Counts of (true class, predicted class) pairs.
pub struct ConfusionMatrix {
    class_names: Vec<String>,
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    pub fn new(class_names: Vec<String>) -> Self {
        let n = class_names.len();
        ConfusionMatrix {
            class_names,
            counts: vec![0; n * n],
        }
    }

    pub fn add(&mut self, truth: usize, predicted: usize) {
        let n = self.class_names.len();
        self.counts[truth * n + predicted] += 1;
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn correct(&self) -> u64 {
        let n = self.class_names.len();
        (0..n).map(|i| self.counts[i * n + i]).sum()
    }

    pub fn accuracy(&self) -> f64 {
        self.correct() as f64 / self.total().max(1) as f64
    }
}

/// Rows are true classes, columns predicted ones, with per-class recall at the end of each row.
impl fmt::Display for ConfusionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.class_names.len();
        let width = self
            .counts
            .iter()
            .max()
            .map_or(1, |m| m.to_string().len())
            .max(4);
        let label_width = self
            .class_names
            .iter()
            .map(|c| c.len())
            .max()
            .unwrap_or(1)
            .max(10);
        write!(f, "{:>label_width$} ", "true\\pred")?;
        for name in &self.class_names {
            write!(f, " {:>width$.width$}", name)?;
        }
        writeln!(f, "  recall")?;
        for (i, name) in self.class_names.iter().enumerate() {
            write!(f, "{name:>label_width$} ")?;
            let row = &self.counts[i * n..(i + 1) * n];
            for count in row {
                write!(f, " {count:>width$}")?;
            }
            let total: u64 = row.iter().sum();
            writeln!(f, "  {:>5.1}%", 100.0 * row[i] as f64 / total.max(1) as f64)?;
        }
        Ok(())
    }
}

/// What an evaluation pass measured.
pub struct EvalReport {
    pub loss: f64,
    pub confusion: ConfusionMatrix,
    /// Images whose true class is among the 5 highest scores.
    pub top5_correct: u64,
}

impl EvalReport {
    pub fn accuracy(&self) -> f64 {
        self.confusion.accuracy()
    }

    pub fn top5_accuracy(&self) -> f64 {
        self.top5_correct as f64 / self.confusion.total().max(1) as f64
    }
}

/// How many rows of `scores` (`labels.len()` rows of equal length) rank their label among the top
/// `k`: fewer than `k` classes score strictly higher (ties count in the label's favour).
fn top_k_hits(scores: &[f32], labels: &[usize], k: usize) -> u64 {
    let classes = scores.len() / labels.len().max(1);
    scores
        .chunks(classes.max(1))
        .zip(labels)
        .filter(|(row, &label)| row.iter().filter(|&&s| s > row[label]).count() < k)
        .count() as u64
}

/// Running totals of an evaluation, batch by batch.
pub struct Tally {
    confusion: ConfusionMatrix,
    top5_correct: u64,
    loss_sum: f64,
}

impl Tally {
    /// Empty totals over the classes `class_names`.
    pub fn new(class_names: Vec<String>) -> Self {
        Tally {
            confusion: ConfusionMatrix::new(class_names),
            top5_correct: 0,
            loss_sum: 0.0,
        }
    }

    /// Adds a batch: `scores` (`labels.len()` rows of one score per class; logits or
    /// probabilities, only their order matters) and the batch's summed loss.
    pub fn add(&mut self, scores: &[f32], labels: &[usize], loss_sum: f64) {
        let classes = scores.len() / labels.len().max(1);
        self.top5_correct += top_k_hits(scores, labels, 5);
        for (row, &label) in scores.chunks(classes.max(1)).zip(labels) {
            // The first highest score, NaN counting as the highest, as `Tensor::argmax` picks.
            let beats = |s: f32, best: f32| s > best || (s.is_nan() && !best.is_nan());
            let predicted =
                row.iter().enumerate().fold(
                    0,
                    |best, (i, &s)| if beats(s, row[best]) { i } else { best },
                );
            self.confusion.add(label, predicted);
        }
        self.loss_sum += loss_sum;
    }

    /// The report: the mean loss per image, the confusion matrix and the top-5 count.
    pub fn finish(self) -> EvalReport {
        let loss = self.loss_sum / self.confusion.total().max(1) as f64;
        EvalReport {
            loss,
            confusion: self.confusion,
            top5_correct: self.top5_correct,
        }
    }
}

/// A loader over `dataset` in order, normalised, without augmentation.
pub fn eval_loader(
    dataset: Arc<Dataset>,
    normalize: Normalize,
    batch_size: usize,
) -> anyhow::Result<DataLoader> {
    let config = LoaderConfig {
        batch_size,
        shuffle: false,
        drop_last: false,
        seed: 0,
        normalize: Some(normalize),
    };
    Ok(DataLoader::new(dataset, config)?)
}

/// Runs `model` in eval mode over every image of `dataset`, without recording a graph.
pub fn evaluate(
    model: &dyn Module,
    dataset: Arc<Dataset>,
    normalize: Normalize,
    batch_size: usize,
) -> anyhow::Result<EvalReport> {
    let mut tally = Tally::new(dataset.class_names().to_vec());
    let loader = eval_loader(dataset, normalize, batch_size)?;
    no_grad(|| -> anyhow::Result<()> {
        for batch in loader.epoch(0) {
            let (images, labels) = batch_images(batch)?;
            let logits = model.forward(&images, Mode::Eval)?;
            let loss = logits.cross_entropy(&labels)?.item() as f64 * labels.len() as f64;
            tally.add(&logits.data(), &labels, loss);
        }
        Ok(())
    })?;
    Ok(tally.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_counts_labels_ranked_within_k() {
        let scores = [0.1, 0.9, 0.5, 0.3, /* row 2 */ 4.0, 3.0, 2.0, 1.0];
        assert_eq!(top_k_hits(&scores, &[1, 3], 1), 1);
        assert_eq!(top_k_hits(&scores, &[2, 3], 2), 1);
        assert_eq!(top_k_hits(&scores, &[0, 3], 4), 2);
        assert_eq!(top_k_hits(&[1.0, 1.0], &[1], 1), 1, "a tie counts as a hit");
    }

    #[test]
    fn confusion_matrix_counts_and_prints() {
        let mut m = ConfusionMatrix::new(vec!["cat".into(), "dog".into()]);
        for (t, p) in [(0, 0), (0, 1), (1, 1), (1, 1)] {
            m.add(t, p);
        }
        assert_eq!((m.correct(), m.total()), (3, 4));
        assert!((m.accuracy() - 0.75).abs() < 1e-12);
        let text = m.to_string();
        assert!(text.contains("cat     1    1   50.0%"), "{text}");
        assert!(text.contains("dog     0    2  100.0%"), "{text}");
    }
}
