//! The step FGSM, FGSM-RS, BIM and PGD are made of: climb the loss from the current point along
//! the steepest direction of the norm, then project back into the ε-ball and [0, 1].
use crate::classifier::Classifier;
use crate::error::Result;
use crate::pixels::{argmax_rows, l2_norms, project, sign, Norm, PixelBatch};

/// The point after one step and, for free from the forward pass the gradient needed, whether
/// each image was already misclassified at the point the step started from.
pub(crate) struct Step {
    pub next: PixelBatch,
    pub fooled_before: Vec<bool>,
}

/// One ascent step of the cross-entropy from `current`: `x + α·sign(∇)` (L∞) or
/// `x + α·∇/‖∇‖₂` (L2; an image with a zero gradient stays), projected onto the `norm` ball of
/// radius `eps` around `clean` and into [0, 1].
pub(crate) fn ascent_step(
    classifier: &Classifier,
    current: &PixelBatch,
    clean: &[f32],
    labels: &[usize],
    norm: Norm,
    alpha: f32,
    eps: f32,
) -> Result<Step> {
    let (logits, grad) = classifier.loss_gradient(current, labels)?;
    let len = current.sample_len();
    let mut next = current.clone();
    match norm {
        Norm::Linf => next
            .data
            .iter_mut()
            .zip(&grad)
            .for_each(|(x, &g)| *x += alpha * sign(g)),
        Norm::L2 => {
            let norms = l2_norms(&grad, len);
            for ((x, g), n) in next.data.chunks_mut(len).zip(grad.chunks(len)).zip(norms) {
                if n > 0.0 {
                    let scale = alpha / n;
                    x.iter_mut().zip(g).for_each(|(x, &g)| *x += scale * g);
                }
            }
        }
    }
    project(&mut next.data, clean, norm, eps, len);
    let classes = logits.len() / labels.len().max(1);
    let fooled_before = argmax_rows(&logits, classes)
        .iter()
        .zip(labels)
        .map(|(p, y)| p != y)
        .collect();
    Ok(Step {
        next,
        fooled_before,
    })
}
