//! Finite-difference gradient checking, used by every op's tests.
//!
//! The checked scalar is `L = Σ f(inputs) ⊙ g` for a random upstream gradient `g` (not `Σ f`, which
//! hides backward passes that get the weighting wrong). Each checked element's analytic gradient
//! from `backward()` is compared with the central difference `(L(x+ε) − L(x−ε)) / 2ε`.
use crate::autograd::no_grad;
use crate::error::Result;
use crate::rng::seeded_rng;
use crate::tensor::Tensor;
use rand::seq::index::sample;
use std::fmt;

/// Step size and tolerances. Kernels are f32, so ε is large-ish and the tolerance relative.
#[derive(Clone, Debug)]
pub struct GradCheckConfig {
    pub eps: f32,
    pub atol: f32,
    pub rtol: f32,
    /// Elements checked per input at most (a random sample beyond that), to bound the cost.
    pub max_checks_per_input: usize,
    pub seed: u64,
}

impl Default for GradCheckConfig {
    fn default() -> Self {
        GradCheckConfig {
            eps: 1e-2,
            atol: 2e-3,
            rtol: 1e-2,
            max_checks_per_input: 200,
            seed: 0,
        }
    }
}

/// The first element whose analytic and numeric gradients disagree.
#[derive(Debug, Clone)]
pub struct GradCheckError {
    pub input: usize,
    pub index: usize,
    pub analytic: f32,
    pub numeric: f32,
}

impl fmt::Display for GradCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradient mismatch at input {} element {}: analytic {} vs numeric {}",
            self.input, self.index, self.analytic, self.numeric
        )
    }
}

impl std::error::Error for GradCheckError {}

/// `Σ out ⊙ g` in f64.
fn weighted_sum(out: &Tensor, g: &[f32]) -> f64 {
    out.data()
        .iter()
        .zip(g)
        .map(|(&o, &g)| o as f64 * g as f64)
        .sum()
}

/// Checks the gradients of `f` with respect to every input that requires grad. `f` must be
/// deterministic (reseed any randomness inside it). Returns the largest absolute difference seen.
///
/// # Errors
/// The outer `Result` carries an op error raised by `f`; the inner one the first mismatch.
pub fn check_gradients(
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
    config: &GradCheckConfig,
) -> Result<std::result::Result<f32, GradCheckError>> {
    let mut rng = seeded_rng(config.seed);
    let out = f(inputs)?;
    let upstream = Tensor::randn(out.shape().clone(), &mut rng);
    inputs.iter().for_each(Tensor::zero_grad);
    out.mul(&upstream)?.sum().backward()?;
    let g = upstream.to_vec();
    let mut worst = 0.0f32;
    for (input_index, input) in inputs.iter().enumerate().filter(|(_, t)| t.requires_grad()) {
        let analytic = input
            .grad()
            .map(|t| t.to_vec())
            .unwrap_or_else(|| vec![0.0; input.numel()]);
        let n = input.numel();
        let indices = if n <= config.max_checks_per_input {
            (0..n).collect::<Vec<_>>()
        } else {
            sample(&mut rng, n, config.max_checks_per_input).into_vec()
        };
        for index in indices {
            let original = input.data()[index];
            let loss_at = |value: f32| -> Result<f64> {
                input.data_mut()[index] = value;
                let out = no_grad(|| f(inputs))?;
                Ok(weighted_sum(&out, &g))
            };
            let plus = loss_at(original + config.eps)?;
            let minus = loss_at(original - config.eps)?;
            input.data_mut()[index] = original;
            let numeric = ((plus - minus) / (2.0 * config.eps as f64)) as f32;
            let diff = (analytic[index] - numeric).abs();
            worst = worst.max(diff);
            if diff > config.atol + config.rtol * numeric.abs() || !diff.is_finite() {
                return Ok(Err(GradCheckError {
                    input: input_index,
                    index,
                    analytic: analytic[index],
                    numeric,
                }));
            }
        }
    }
    Ok(Ok(worst))
}
