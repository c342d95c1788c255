//! Evaluation of a model over a whole dataset: loss, top-1 and top-5 accuracy, confusion matrix
//! and the first misclassified images.
mod confusion;
mod ensemble;

pub use confusion::ConfusionMatrix;
pub use ensemble::{check_compatible, evaluate_ensemble, mean_probabilities};

use crate::error::{Error, Result};
use convkit_data::transforms::{combine_views, Tta};
use convkit_data::{DataLoader, Dataset, LoaderConfig, Normalize};
use convkit_nn::fusion::FusedModel;
use convkit_nn::Module;
use convkit_tensor::{no_grad, Tensor};
use std::sync::Arc;

/// Images per evaluation batch during training.
pub const EVAL_BATCH: usize = 500;

/// How many misclassified images an evaluation remembers (for grids of mistakes).
pub const MAX_MISTAKES: usize = 64;

/// A misclassified image: its index in the dataset, true and predicted class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mistake {
    pub index: usize,
    pub truth: usize,
    pub predicted: usize,
}

/// What an evaluation pass measured.
pub struct EvalReport {
    /// Mean cross-entropy per image.
    pub loss: f64,
    pub confusion: ConfusionMatrix,
    /// Images whose true class is among the 5 highest scores.
    pub top5_correct: u64,
    /// The first [`MAX_MISTAKES`] misclassified images, in dataset order.
    pub mistakes: Vec<Mistake>,
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

/// The first highest score of `row`, NaN counting as the highest, as `Tensor::argmax` picks.
fn predicted_class(row: &[f32]) -> usize {
    let beats = |s: f32, best: f32| s > best || (s.is_nan() && !best.is_nan());
    row.iter().enumerate().fold(
        0,
        |best, (i, &s)| if beats(s, row[best]) { i } else { best },
    )
}

/// Running totals of an evaluation, batch by batch, over a dataset taken in order.
pub struct Tally {
    confusion: ConfusionMatrix,
    top5_correct: u64,
    loss_sum: f64,
    seen: usize,
    mistakes: Vec<Mistake>,
}

impl Tally {
    /// Empty totals over the classes `class_names`.
    pub fn new(class_names: Vec<String>) -> Self {
        Tally {
            confusion: ConfusionMatrix::new(class_names),
            top5_correct: 0,
            loss_sum: 0.0,
            seen: 0,
            mistakes: Vec::new(),
        }
    }

    /// Adds the next batch: `scores` (`labels.len()` rows of one score per class; logits or
    /// probabilities, only their order matters) and the batch's summed loss.
    pub fn add(&mut self, scores: &[f32], labels: &[usize], loss_sum: f64) {
        let classes = scores.len() / labels.len().max(1);
        self.top5_correct += top_k_hits(scores, labels, 5);
        for (row, &truth) in scores.chunks(classes.max(1)).zip(labels) {
            let predicted = predicted_class(row);
            self.confusion.add(truth, predicted);
            if predicted != truth && self.mistakes.len() < MAX_MISTAKES {
                self.mistakes.push(Mistake {
                    index: self.seen,
                    truth,
                    predicted,
                });
            }
            self.seen += 1;
        }
        self.loss_sum += loss_sum;
    }

    /// The report: the mean loss per image, the confusion matrix, the top-5 count, the mistakes.
    pub fn finish(self) -> EvalReport {
        let loss = self.loss_sum / self.confusion.total().max(1) as f64;
        EvalReport {
            loss,
            confusion: self.confusion,
            top5_correct: self.top5_correct,
            mistakes: self.mistakes,
        }
    }
}

/// A loader over `dataset` in order, normalised, without augmentation.
///
/// # Errors
/// An empty dataset or a zero batch size.
pub fn eval_loader(
    dataset: Arc<Dataset>,
    normalize: Normalize,
    batch_size: usize,
) -> Result<DataLoader> {
    if dataset.is_empty() {
        return Err(Error::config(
            "data",
            "the evaluation set holds no images: nothing to evaluate",
        ));
    }
    let config = LoaderConfig {
        batch_size,
        shuffle: false,
        drop_last: false,
        seed: 0,
        normalize: Some(normalize),
    };
    Ok(DataLoader::new(dataset, config)?)
}

/// Runs `model` in eval mode over every image of `dataset`, without recording a graph, through
/// its fused inference path ([`FusedModel`]: batch norms folded, activations in place; the model
/// itself is left as it is).
///
/// # Errors
/// An empty dataset, or images the model cannot take.
pub fn evaluate(
    model: &dyn Module,
    dataset: Arc<Dataset>,
    normalize: Normalize,
    batch_size: usize,
) -> Result<EvalReport> {
    evaluate_tta(model, dataset, normalize, batch_size, Tta::None)
}

/// [`evaluate`] with test-time augmentation: each batch's logits are the weighted mean of the
/// logits on the views `tta` makes of it (the loss is that of the mean logits).
///
/// # Errors
/// As [`evaluate`].
pub fn evaluate_tta(
    model: &dyn Module,
    dataset: Arc<Dataset>,
    normalize: Normalize,
    batch_size: usize,
    tta: Tta,
) -> Result<EvalReport> {
    let mut tally = Tally::new(dataset.class_names().to_vec());
    let loader = eval_loader(dataset, normalize, batch_size)?;
    let fused = FusedModel::new(model)?;
    no_grad(|| -> Result<()> {
        for batch in loader.epoch(0) {
            let logits = if tta == Tta::None {
                fused.forward(&Tensor::from_vec(batch.images, batch.dims)?)?
            } else {
                let mut outputs = Vec::new();
                for view in tta.views(&batch.images, batch.dims) {
                    let x = Tensor::from_vec(view.images, batch.dims)?;
                    outputs.push((fused.forward(&x)?.to_vec(), view.weight));
                }
                let n = batch.labels.len();
                Tensor::from_vec(combine_views(&outputs), [n, outputs[0].0.len() / n.max(1)])?
            };
            let labels = batch.labels;
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
    fn mistakes_are_remembered_with_their_dataset_index() {
        let mut tally = Tally::new(vec!["a".into(), "b".into()]);
        tally.add(&[1.0, 0.0, 0.0, 1.0], &[0, 0], 0.0);
        tally.add(&[f32::NAN, 0.0, 0.0, 1.0], &[1, 1], 0.0);
        let report = tally.finish();
        let m = |index, truth, predicted| Mistake {
            index,
            truth,
            predicted,
        };
        assert_eq!(report.mistakes, [m(1, 0, 1), m(2, 1, 0)]);
        assert_eq!(report.confusion.total(), 4);
    }
}
