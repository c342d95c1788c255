//! DeepFool (Moosavi-Dezfooli, Fawzi & Frossard 2016): the smallest L2 step that crosses the
//! nearest class boundary of the model linearised at the current point, repeated until the
//! label changes. A minimal-perturbation attack: it has no ε; robustness at ε projects its
//! perturbation onto the ε-ball ([`crate::attack_batch`]).
use crate::classifier::{Classifier, Objective};
use crate::error::{check_count, check_non_negative, Result};
use crate::pixels::{argmax_rows, clamp_unit, l2_norms, PixelBatch};
use convkit_tensor::{no_grad, Tensor};

/// DeepFool's settings, with the paper's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DeepFoolConfig {
    /// Most linearise-and-step iterations per image (50).
    pub steps: usize,
    /// The final perturbation is `(1 + overshoot)·r`, so that it crosses the boundary (0.02).
    pub overshoot: f32,
    /// Classes considered, the true one included: those with the highest clean logits (10).
    pub candidates: usize,
}

impl Default for DeepFoolConfig {
    fn default() -> Self {
        DeepFoolConfig {
            steps: 50,
            overshoot: 0.02,
            candidates: 10,
        }
    }
}

/// DeepFool adversarial examples of `images` (`[N, C, H, W]` pixels in [0, 1]): for each image
/// that is classified correctly, `x + (1 + overshoot)·Σ rᵢ` clamped to [0, 1], with
/// `rᵢ = (|f_k| + 10⁻⁴)/‖w_k‖²·w_k` for the candidate class `k` of smallest `|f_k|/‖w_k‖`, where
/// `f_k` is the logit of `k` minus the true class's and `w_k` its gradient. Misclassified images
/// are returned unchanged. Costs one forward and `candidates − 1` backward passes per iteration.
///
/// # Errors
/// Zero steps or candidates, a negative overshoot; images that are not pixels in [0, 1].
pub fn deepfool(
    classifier: &Classifier,
    images: &Tensor,
    labels: &[usize],
    config: &DeepFoolConfig,
) -> Result<Tensor> {
    check_count("deepfool", "steps", config.steps)?;
    check_count("deepfool", "candidates", config.candidates)?;
    check_non_negative("deepfool", "overshoot", config.overshoot)?;
    let clean = PixelBatch::new("deepfool", images, labels)?;
    let clean_logits = no_grad(|| classifier.logits(images))?;
    let classes = clean_logits.dims()[1];
    let others = candidate_classes(&clean_logits.to_vec(), labels, classes, config.candidates);
    let (n, len) = (clean.samples(), clean.sample_len());
    let masks = others
        .iter()
        .map(|rank| difference_mask(rank, labels, classes))
        .collect::<Result<Vec<Tensor>>>()?;
    let objectives: Vec<Box<Objective>> = masks
        .into_iter()
        .map(|mask| Box::new(move |logits: &Tensor| Ok(logits.mul(&mask)?.sum())) as Box<Objective>)
        .collect();
    let objective_refs: Vec<&Objective> = objectives.iter().map(|o| o.as_ref()).collect();

    let mut current = clean.clone();
    let mut total = vec![0.0f32; clean.data.len()];
    for _ in 0..config.steps {
        let at = classifier.input_gradients(&current, &objective_refs)?;
        let predicted = argmax_rows(&at.logits, classes);
        let active: Vec<usize> = (0..n).filter(|&i| predicted[i] == labels[i]).collect();
        if active.is_empty() {
            break;
        }
        for &i in &active {
            let row = &at.logits[i * classes..(i + 1) * classes];
            let step = closest_boundary_step(&at.grads, &others, row, labels[i], i, len);
            let image = i * len..(i + 1) * len;
            total[image.clone()]
                .iter_mut()
                .zip(step)
                .for_each(|(t, s)| *t += s);
            let scale = 1.0 + config.overshoot;
            for ((x, &c), &t) in current.data[image.clone()]
                .iter_mut()
                .zip(&clean.data[image.clone()])
                .zip(&total[image])
            {
                *x = c + scale * t;
            }
        }
        clamp_unit(&mut current.data);
    }
    current.to_tensor()
}

/// For each rank `j`, the class of rank `j + 1` among each image's clean logits once its true
/// class is left out: `candidates − 1` ranks (fewer if there are fewer classes).
fn candidate_classes(
    logits: &[f32],
    labels: &[usize],
    classes: usize,
    candidates: usize,
) -> Vec<Vec<usize>> {
    let per_image: Vec<Vec<usize>> = logits
        .chunks(classes)
        .zip(labels)
        .map(|(row, &label)| {
            let mut order: Vec<usize> = (0..classes).filter(|&c| c != label).collect();
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
            order.truncate(candidates.saturating_sub(1));
            order
        })
        .collect();
    let ranks = per_image.first().map_or(0, Vec::len);
    (0..ranks)
        .map(|j| per_image.iter().map(|o| o[j]).collect())
        .collect()
}

/// `[N, classes]` with +1 at each image's candidate class and −1 at its true class: summed
/// against the logits it gives `Σᵢ f_k(xᵢ) − f_y(xᵢ)`, whose gradient holds every image's `w_k`.
fn difference_mask(candidate: &[usize], labels: &[usize], classes: usize) -> Result<Tensor> {
    let mut mask = vec![0.0; labels.len() * classes];
    for (i, (&k, &y)) in candidate.iter().zip(labels).enumerate() {
        mask[i * classes + k] = 1.0;
        mask[i * classes + y] = -1.0;
    }
    Ok(Tensor::from_vec(mask, [labels.len(), classes])?)
}

/// Image `i`'s DeepFool step: towards the candidate boundary nearest in the linearisation.
fn closest_boundary_step(
    grads: &[Vec<f32>],
    others: &[Vec<usize>],
    logits: &[f32],
    label: usize,
    i: usize,
    len: usize,
) -> Vec<f32> {
    let mut best: Option<(f32, f32, &[f32])> = None; // (distance, |f|, w)
    for (grad, rank) in grads.iter().zip(others) {
        let w = &grad[i * len..(i + 1) * len];
        let f = (logits[rank[i]] - logits[label]).abs();
        let norm = l2_norms(w, len)[0];
        if norm > 0.0 && best.is_none_or(|(d, _, _)| f / norm < d) {
            best = Some((f / norm, f, w));
        }
    }
    match best {
        Some((_, f, w)) => {
            let norm_sq: f32 = w.iter().map(|v| v * v).sum();
            let scale = (f + 1e-4) / norm_sq;
            w.iter().map(|v| v * scale).collect()
        }
        // Every boundary direction has a zero gradient: nothing to follow.
        None => vec![0.0; len],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_the_highest_other_logits_by_rank() {
        let logits = [0.1, 3.0, 2.0, 0.5, /* image 2 */ 5.0, 1.0, 4.0, 3.0];
        let ranks = candidate_classes(&logits, &[2, 0], 4, 3);
        assert_eq!(ranks, vec![vec![1, 2], vec![3, 3]]);
    }

    #[test]
    fn the_step_reaches_the_nearest_linear_boundary() {
        // Logits 2 (true), 1 and 0.5: f = −1 and −1.5, w = (1, 0) and (0, 3).
        // Distances 1/1 and 1.5/3: class 2's boundary is nearer; the step is (0, 0.5) (+ 10⁻⁴).
        let grads = vec![vec![1.0, 0.0], vec![0.0, 3.0]];
        let step = closest_boundary_step(&grads, &[vec![1], vec![2]], &[2.0, 1.0, 0.5], 0, 0, 2);
        assert_eq!(step[0], 0.0);
        assert!((step[1] - (1.5 + 1e-4) / 3.0).abs() < 1e-6, "{step:?}");
    }
}
