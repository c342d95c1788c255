//! fastai's interpretation view: the images with the largest losses, and the most confused pairs
//! of classes.
use convkit_tensor::Tensor;

/// One image's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Position of the image in the evaluated set.
    pub index: usize,
    pub label: usize,
    pub predicted: usize,
    /// The probability given to the predicted class.
    pub probability: f32,
    /// Cross-entropy of the true class.
    pub loss: f32,
}

/// Every image's outcome from its logits `[N, K]` and labels, the largest loss first.
///
/// # Panics
/// When `labels` has another length than the logits have rows or a label is not below K (the
/// caller's bug: labels come from the dataset the logits were computed on).
pub fn outcomes_by_loss(logits: &Tensor, labels: &[usize]) -> Vec<Outcome> {
    let k = logits.dims()[1];
    assert_eq!(
        labels.len(),
        logits.dims()[0],
        "one label per row of logits"
    );
    let data = logits.data();
    let mut outcomes: Vec<Outcome> = labels
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            let row = &data[i * k..(i + 1) * k];
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let log_sum = row.iter().map(|v| (v - max).exp()).sum::<f32>().ln() + max;
            let predicted = (0..k)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0);
            Outcome {
                index: i,
                label,
                predicted,
                probability: (row[predicted] - log_sum).exp(),
                loss: log_sum - row[label],
            }
        })
        .collect();
    outcomes.sort_by(|a, b| b.loss.total_cmp(&a.loss).then(a.index.cmp(&b.index)));
    outcomes
}

/// `(true, predicted, count)` for every pair of different classes that occurred, the most
/// frequent first (ties by class indices).
pub fn most_confused(outcomes: &[Outcome]) -> Vec<(usize, usize, usize)> {
    let mut counts = std::collections::BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.label != o.predicted) {
        *counts.entry((o.label, o.predicted)).or_insert(0) += 1;
    }
    let mut pairs: Vec<(usize, usize, usize)> =
        counts.into_iter().map(|((t, p), n)| (t, p, n)).collect();
    pairs.sort_by(|a, b| b.2.cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_losses_and_counts_confusions() {
        let logits = Tensor::from_vec(
            vec![
                2.0, 0.0, 0.0, // label 0, right
                0.0, 3.0, 0.0, // label 0, wrong (predicted 1)
                0.0, 0.0, 1.0, // label 2, right
                0.0, 1.0, 0.0, // label 0, wrong (predicted 1)
            ],
            [4, 3],
        )
        .unwrap();
        let outcomes = outcomes_by_loss(&logits, &[0, 0, 2, 0]);
        let order: Vec<usize> = outcomes.iter().map(|o| o.index).collect();
        assert_eq!(order, [1, 3, 2, 0]);
        // log(e^0 + e^3 + e^0) − 0
        assert!((outcomes[0].loss - (2.0 + 3f32.exp()).ln()).abs() < 1e-5);
        assert_eq!(outcomes[0].predicted, 1);
        assert!((outcomes[0].probability - 3f32.exp() / (2.0 + 3f32.exp())).abs() < 1e-6);
        assert_eq!(most_confused(&outcomes), [(0, 1, 2)]);
    }
}
