//! The Carlini–Wagner L2 attack (Carlini & Wagner 2017, "Towards evaluating the robustness of
//! neural networks"): the smallest L2 perturbation found by optimising in tanh space, with a
//! binary search per image over the weight of the misclassification term. A minimal-perturbation
//! attack: it has no ε; robustness at ε projects its result onto the ε-ball.
use crate::classifier::Classifier;
use crate::error::{check_count, check_non_negative, check_positive, Result};
use crate::pixels::{argmax_rows, PixelBatch};
use convkit_nn::optim::{Adam, AdamConfig, Optimizer};
use convkit_tensor::Tensor;

/// The attack's settings, with the paper's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CarliniWagnerConfig {
    /// Rounds of the binary search over the constant `c` (9).
    pub binary_search_steps: usize,
    /// Adam iterations per round (10 000).
    pub max_iterations: usize,
    /// Adam's learning rate (0.01).
    pub learning_rate: f32,
    /// The constant `c` of the first round (0.001).
    pub initial_const: f32,
    /// κ: how far past the boundary the true class's logit must fall (0).
    pub confidence: f32,
    /// End a round once the loss has not fallen by 0.01% over a tenth of `max_iterations` (true).
    pub abort_early: bool,
}

impl Default for CarliniWagnerConfig {
    fn default() -> Self {
        CarliniWagnerConfig {
            binary_search_steps: 9,
            max_iterations: 10_000,
            learning_rate: 1e-2,
            initial_const: 1e-3,
            confidence: 0.0,
            abort_early: true,
        }
    }
}

impl CarliniWagnerConfig {
    fn validate(&self) -> Result<()> {
        check_count("cw", "binary search steps", self.binary_search_steps)?;
        check_count("cw", "iterations", self.max_iterations)?;
        check_positive("cw", "learning rate", self.learning_rate)?;
        check_positive("cw", "initial constant", self.initial_const)?;
        check_non_negative("cw", "confidence", self.confidence)?;
        Ok(())
    }
}

/// An upper bound on `c` this large means no round has succeeded yet.
const NO_UPPER_BOUND: f32 = 1e10;

/// Carlini–Wagner L2 adversarial examples of `images` (`[N, C, H, W]` pixels in [0, 1]).
///
/// Minimises `‖x' − x‖₂² + c·max(Z_y − max_{i≠y} Z_i + κ, 0)` over `x' = (tanh(w) + 1)/2` with
/// Adam (Z the logits, y the label), then halves `c` towards the last success or multiplies it by
/// 10 after a failure. Returns, for each image, the smallest-L2 `x'` that was misclassified by a
/// margin κ, or the clean image if none was.
///
/// # Errors
/// A setting that can never work; images that are not pixels in [0, 1].
pub fn carlini_wagner_l2(
    classifier: &Classifier,
    images: &Tensor,
    labels: &[usize],
    config: &CarliniWagnerConfig,
) -> Result<Tensor> {
    config.validate()?;
    let clean = PixelBatch::new("cw", images, labels)?;
    let n = clean.samples();
    let _frozen = classifier.freeze();
    let clean_tensor = clean.to_tensor()?;
    // atanh of the image, squeezed by 1 − 10⁻⁶ so that pixels at 0 and 1 stay finite.
    let w_start: Vec<f32> = clean
        .data
        .iter()
        .map(|&x| ((2.0 * x - 1.0) * 0.999_999).atanh())
        .collect();
    let mut best = clean.clone();
    let mut best_l2 = vec![f32::INFINITY; n];
    let mut c = vec![config.initial_const; n];
    let (mut lower, mut upper) = (vec![0.0f32; n], vec![NO_UPPER_BOUND; n]);
    let check_every = (config.max_iterations / 10).max(1);
    for _ in 0..config.binary_search_steps {
        let w = Tensor::from_vec(w_start.clone(), clean.dims.clone())?.with_grad();
        let adam_config = AdamConfig {
            lr: config.learning_rate,
            ..AdamConfig::default()
        };
        let mut adam = Adam::new(vec![("w".to_string(), w.clone())], adam_config)?;
        let weights = Tensor::from_vec(c.clone(), [n])?;
        let mut succeeded = vec![false; n];
        let mut previous_loss = f32::INFINITY;
        for iteration in 0..config.max_iterations {
            let candidate = w.tanh().add_scalar(1.0).mul_scalar(0.5);
            let logits = classifier.logits(&candidate)?;
            let classes = logits.dims()[1];
            let squared_l2 = candidate
                .sub(&clean_tensor)?
                .mul(&candidate.sub(&clean_tensor)?)?
                .sum_dims(&[1, 2, 3], false)?;
            let margin = misclassification_margin(&logits, labels, config.confidence)?;
            let loss = squared_l2.add(&margin.mul(&weights)?)?.sum();
            let loss_value = loss.item();
            let (l2_values, logit_values) = (squared_l2.to_vec(), logits.to_vec());
            let candidate_values = candidate.to_vec();
            loss.backward()?;
            adam.step()?;
            adam.zero_grad();
            if config.abort_early && iteration % check_every == 0 {
                if loss_value > previous_loss * 0.9999 {
                    break;
                }
                previous_loss = loss_value;
            }
            let predicted =
                predictions_with_margin(&logit_values, labels, classes, config.confidence);
            for i in 0..n {
                if predicted[i] == labels[i] {
                    continue;
                }
                succeeded[i] = true;
                if l2_values[i] < best_l2[i] {
                    best_l2[i] = l2_values[i];
                    best.copy_image(i, &candidate_values, i);
                }
            }
        }
        for i in 0..n {
            if succeeded[i] {
                upper[i] = upper[i].min(c[i]);
            } else {
                lower[i] = lower[i].max(c[i]);
            }
            c[i] = if upper[i] < NO_UPPER_BOUND {
                (lower[i] + upper[i]) / 2.0
            } else {
                c[i] * 10.0
            };
        }
    }
    best.to_tensor()
}

/// `max(Z_y − max_{i≠y} Z_i + κ, 0)` for every image: positive while the true class still wins
/// by κ or more.
fn misclassification_margin(logits: &Tensor, labels: &[usize], confidence: f32) -> Result<Tensor> {
    let classes = logits.dims()[1];
    let mut one_hot = vec![0.0; labels.len() * classes];
    for (i, &y) in labels.iter().enumerate() {
        one_hot[i * classes + y] = 1.0;
    }
    let one_hot = Tensor::from_vec(one_hot, [labels.len(), classes])?;
    let true_logit = logits.mul(&one_hot)?.sum_dims(&[1], false)?;
    // The true class pushed far down, so the maximum is over the other classes.
    let best_other = logits.sub(&one_hot.mul_scalar(1e4))?.max_dim(1)?;
    Ok(true_logit.sub(&best_other)?.add_scalar(confidence).relu())
}

/// The predicted classes once the true class's logit is raised by κ: an image counts as
/// misclassified only past that margin.
fn predictions_with_margin(
    logits: &[f32],
    labels: &[usize],
    classes: usize,
    confidence: f32,
) -> Vec<usize> {
    let mut raised = logits.to_vec();
    for (i, &y) in labels.iter().enumerate() {
        raised[i * classes + y] += confidence;
    }
    argmax_rows(&raised, classes)
}
