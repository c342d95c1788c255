//! Ensembles of checkpoints: the mean of their predicted class probabilities (softmax of the
//! logits), evaluated beside each member. A snapshot ensemble is the same thing over the
//! snapshots of one run.
use super::{eval_loader, EvalReport, Tally};
use crate::checkpoint::LoadedModel;
use crate::error::{Error, Result};
use crate::tensors::batch_images;
use convkit_data::{Dataset, Normalize};
use convkit_nn::fusion::FusedModel;
use convkit_tensor::{no_grad, Tensor};
use std::path::PathBuf;
use std::sync::Arc;

/// An ensemble that cannot be formed.
fn refuse(msg: String) -> Error {
    Error::Ensemble(msg)
}

/// The mean over `logits` (each `[N, C]`, one per member) of the softmax probabilities, row-major
/// `[N, C]`.
///
/// # Errors
/// No members, or members of different shapes.
pub fn mean_probabilities(logits: &[Tensor]) -> Result<Vec<f32>> {
    let Some(first) = logits.first() else {
        return Err(refuse("an ensemble needs at least one member".into()));
    };
    let mut sum = vec![0.0f32; first.numel()];
    for member in logits {
        if member.dims() != first.dims() {
            return Err(refuse(format!(
                "ensemble members disagree on the output shape: {:?} vs {:?}",
                first.dims(),
                member.dims()
            )));
        }
        for (s, p) in sum.iter_mut().zip(member.softmax(1)?.data().iter()) {
            *s += p;
        }
    }
    let n = logits.len() as f32;
    Ok(sum.into_iter().map(|s| s / n).collect())
}

/// Summed negative log-likelihood of `labels` under `probabilities` (`labels.len()` rows).
fn nll_sum(probabilities: &[f32], labels: &[usize]) -> f64 {
    let classes = probabilities.len() / labels.len().max(1);
    labels
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            -f64::from(probabilities[i * classes + label].max(f32::MIN_POSITIVE)).ln()
        })
        .sum()
}

/// Checks that the checkpoints can be ensembled: the same dataset, classes, input and
/// normalisation.
///
/// # Errors
/// The first disagreement, naming both files and what differs.
pub fn check_compatible(members: &[(PathBuf, LoadedModel)]) -> Result<()> {
    let Some((first_path, first)) = members.first() else {
        return Err(refuse("no checkpoint given".into()));
    };
    for (path, member) in &members[1..] {
        let differs = |what: &str, a: String, b: String| -> Result<()> {
            if a != b {
                return Err(refuse(format!(
                    "cannot ensemble {} and {}: their {what} differ ({a} vs {b})",
                    first_path.display(),
                    path.display()
                )));
            }
            Ok(())
        };
        let (a, b) = (&first.record, &member.record);
        differs("datasets", a.dataset.clone(), b.dataset.clone())?;
        differs(
            "classes",
            format!("{:?}", a.class_names),
            format!("{:?}", b.class_names),
        )?;
        let input = |m: &LoadedModel| {
            let spec = &m.record.spec;
            format!(
                "{} channels, {}x{}",
                spec.in_channels, spec.input_size.0, spec.input_size.1
            )
        };
        differs("inputs", input(first), input(member))?;
        differs(
            "normalisations",
            format!("{:?}", a.normalize),
            format!("{:?}", b.normalize),
        )?;
    }
    Ok(())
}

/// Evaluates every member and their ensemble over `dataset` in one pass: the members' reports,
/// in order, and the ensemble's (its loss is the negative log of the mean probability of the
/// true class).
pub fn evaluate_ensemble(
    members: &[(PathBuf, LoadedModel)],
    dataset: Arc<Dataset>,
    normalize: Normalize,
    batch_size: usize,
) -> Result<(Vec<EvalReport>, EvalReport)> {
    let classes = dataset.class_names().to_vec();
    let mut tallies: Vec<Tally> = members
        .iter()
        .map(|_| Tally::new(classes.clone()))
        .collect();
    let mut ensemble = Tally::new(classes);
    let loader = eval_loader(dataset, normalize, batch_size)?;
    let fused = members
        .iter()
        .map(|(_, member)| FusedModel::new(member.model.as_ref()))
        .collect::<convkit_nn::Result<Vec<_>>>()?;
    no_grad(|| -> Result<()> {
        for batch in loader.epoch(0) {
            let (images, labels) = batch_images(batch)?;
            let mut logits = Vec::with_capacity(members.len());
            for (member, tally) in fused.iter().zip(&mut tallies) {
                let out = member.forward(&images)?;
                let loss = out.cross_entropy(&labels)?.item() as f64 * labels.len() as f64;
                tally.add(&out.data(), &labels, loss);
                logits.push(out);
            }
            let probabilities = mean_probabilities(&logits)?;
            ensemble.add(&probabilities, &labels, nll_sum(&probabilities, &labels));
        }
        Ok(())
    })?;
    Ok((
        tallies.into_iter().map(Tally::finish).collect(),
        ensemble.finish(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_tensor::seeded_rng;

    #[test]
    fn ensemble_probabilities_are_the_mean_of_the_members_softmax() {
        let mut rng = seeded_rng(3);
        let members: Vec<Tensor> = (0..3).map(|_| Tensor::randn([4, 5], &mut rng)).collect();
        let mean = mean_probabilities(&members).unwrap();
        for row in 0..4 {
            let mut total = 0.0;
            for class in 0..5 {
                // Softmax of each member by hand, in f64.
                let expected: f64 = members
                    .iter()
                    .map(|m| {
                        let logits: Vec<f64> = m.to_vec()[row * 5..row * 5 + 5]
                            .iter()
                            .map(|&x| f64::from(x))
                            .collect();
                        let z: f64 = logits.iter().map(|x| x.exp()).sum();
                        logits[class].exp() / z
                    })
                    .sum::<f64>()
                    / 3.0;
                let got = f64::from(mean[row * 5 + class]);
                assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
                total += got;
            }
            assert!((total - 1.0).abs() < 1e-5, "row {row} sums to {total}");
        }
        let single = mean_probabilities(&members[..1]).unwrap();
        assert_eq!(single, members[0].softmax(1).unwrap().to_vec());
        let other = Tensor::zeros([4, 6]);
        assert!(mean_probabilities(&[members[0].clone(), other]).is_err());
        assert!(mean_probabilities(&[]).is_err());
    }

    #[test]
    fn ensemble_loss_is_the_nll_of_the_mean_probability() {
        let probabilities = [0.5, 0.25, 0.25, 0.1, 0.8, 0.1];
        let expected = -(0.5f64.ln()) - (0.8f64.ln());
        assert!((nll_sum(&probabilities, &[0, 1]) - expected).abs() < 1e-6);
    }
}
