//! The learning-rate range test (Smith, "Cyclical learning rates", 2015; fastai's `lr_find`):
//! train for a few hundred steps with the rate growing exponentially from tiny to huge, record
//! the loss, stop once it diverges, and suggest rates from the curve. [`range_test`] runs it over
//! any step function; [`crate::Trainer::lr_find`] runs it on a run's model and data, then puts the
//! weights back.
mod plot;
mod suggest;
mod trainer;

pub use plot::draw_lr_find;
pub use suggest::{steepest, valley};

use crate::error::{Error, Result};

/// The settings of a range test.
#[derive(Clone, Debug, PartialEq)]
pub struct LrFindConfig {
    /// The first rate.
    pub start_lr: f64,
    /// The rate the last step would take.
    pub end_lr: f64,
    /// Steps from `start_lr` to `end_lr`.
    pub iterations: usize,
    /// Stop when the smoothed loss exceeds this many times its minimum.
    pub divergence: f64,
    /// Weight of the past in the loss's exponential moving average.
    pub smoothing: f64,
}

impl Default for LrFindConfig {
    /// fastai's range: 1e-7 to 10 over 100 steps, stopping at 4× the best loss.
    fn default() -> Self {
        LrFindConfig {
            start_lr: 1e-7,
            end_lr: 10.0,
            iterations: 100,
            divergence: 4.0,
            smoothing: 0.98,
        }
    }
}

/// What a range test measured and suggests.
#[derive(Clone, Debug)]
pub struct LrFindResult {
    /// The rate of each step taken.
    pub lrs: Vec<f64>,
    /// The loss of each step.
    pub losses: Vec<f64>,
    /// The bias-corrected exponential moving average of the losses (what divergence is judged on).
    pub smoothed: Vec<f64>,
    /// The losses averaged over a window centred on each step: smooth like `smoothed` but without
    /// its lag (an average of the past trails the curve by about 1/(1 − smoothing) steps), so
    /// the suggestions are read off this curve.
    pub centred: Vec<f64>,
    /// The step at which the loss diverged, if it did.
    pub diverged_at: Option<usize>,
    /// Where the smoothed loss falls fastest against log(lr).
    pub steepest: f64,
    /// The middle of the longest descent of the smoothed loss (fastai's default suggestion).
    pub valley: f64,
}

impl LrFindConfig {
    fn validate(&self) -> Result<()> {
        if !(self.start_lr > 0.0 && self.start_lr < self.end_lr && self.end_lr.is_finite()) {
            return Err(Error::config(
                "lr_find",
                format!(
                    "the rates must satisfy 0 < start < end, got {} and {}",
                    self.start_lr, self.end_lr
                ),
            ));
        }
        if self.iterations < 10 {
            return Err(Error::config(
                "lr_find",
                format!("needs at least 10 iterations, got {}", self.iterations),
            ));
        }
        if !(self.divergence > 1.0 && (0.0..1.0).contains(&self.smoothing)) {
            return Err(Error::config(
                "lr_find",
                "divergence must exceed 1 and smoothing lie in [0, 1)",
            ));
        }
        Ok(())
    }

    /// The rate of step `i`: exponential from `start_lr` towards `end_lr`.
    pub fn lr_at(&self, i: usize) -> f64 {
        let t = i as f64 / (self.iterations - 1) as f64;
        self.start_lr * (self.end_lr / self.start_lr).powf(t)
    }
}

/// Steps on each side of a point in the centred average.
const CENTRED_HALF_WINDOW: usize = 5;

/// The mean of `values` over `i ± half` (cut at the ends) for each `i`.
fn centred_average(values: &[f64], half: usize) -> Vec<f64> {
    (0..values.len())
        .map(|i| {
            let window = &values[i.saturating_sub(half)..(i + half + 1).min(values.len())];
            window.iter().sum::<f64>() / window.len() as f64
        })
        .collect()
}

/// Runs the range test: `step(lr)` trains one step at `lr` and returns its loss.
///
/// # Errors
/// Invalid settings, a failing step, or a loss that diverged before enough steps to suggest
/// anything (fewer than 5).
pub fn range_test(
    config: &LrFindConfig,
    mut step: impl FnMut(f64) -> Result<f64>,
) -> Result<LrFindResult> {
    config.validate()?;
    let (mut lrs, mut losses, mut smoothed) = (Vec::new(), Vec::new(), Vec::new());
    let (mut average, mut best) = (0.0, f64::INFINITY);
    let mut diverged_at = None;
    for i in 0..config.iterations {
        let lr = config.lr_at(i);
        let loss = step(lr)?;
        if !loss.is_finite() {
            diverged_at = Some(i);
            break;
        }
        average = config.smoothing * average + (1.0 - config.smoothing) * loss;
        let corrected = average / (1.0 - config.smoothing.powi(i as i32 + 1));
        lrs.push(lr);
        losses.push(loss);
        smoothed.push(corrected);
        best = best.min(corrected);
        if corrected > config.divergence * best {
            diverged_at = Some(i);
            break;
        }
    }
    if lrs.len() < 5 {
        return Err(Error::Diverged(format!(
            "the loss diverged after {} steps of the range test, at lr {:.3e}; start lower",
            lrs.len(),
            lrs.last().copied().unwrap_or(config.start_lr)
        )));
    }
    let centred = centred_average(&losses, CENTRED_HALF_WINDOW);
    Ok(LrFindResult {
        steepest: steepest(&lrs, &centred),
        valley: valley(&lrs, &centred),
        centred,
        lrs,
        losses,
        smoothed,
        diverged_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Linear regression with minibatch noise: ½·mean((w·x − y)²) over batches of 16 from 1600
    /// points in 10 dimensions, y = w*·x + noise; SGD from w = 0.
    struct Regression {
        xs: Vec<[f64; 10]>,
        ys: Vec<f64>,
    }

    impl Regression {
        fn new(seed: u64) -> Regression {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut normal = move || {
                let (u, v): (f64, f64) = (rng.random(), rng.random());
                (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
            };
            let truth: Vec<f64> = (0..10).map(|_| 3.0 * normal()).collect();
            let xs: Vec<[f64; 10]> = (0..1600)
                .map(|_| std::array::from_fn(|_| normal()))
                .collect();
            let ys = xs
                .iter()
                .map(|x| x.iter().zip(&truth).map(|(a, b)| a * b).sum::<f64>() + 0.5 * normal())
                .collect();
            Regression { xs, ys }
        }

        /// The loss on batch `b` (of 100) at `w`, and its gradient.
        fn batch(&self, w: &[f64; 10], b: usize) -> (f64, [f64; 10]) {
            let (mut loss, mut grad) = (0.0, [0.0; 10]);
            for k in (b % 100) * 16..(b % 100 + 1) * 16 {
                let r = self.xs[k].iter().zip(w).map(|(a, b)| a * b).sum::<f64>() - self.ys[k];
                loss += 0.5 * r * r / 16.0;
                for (g, x) in grad.iter_mut().zip(&self.xs[k]) {
                    *g += r * x / 16.0;
                }
            }
            (loss, grad)
        }

        /// The mean loss over all points after `steps` SGD steps at the constant rate `lr`.
        fn train(&self, lr: f64, steps: usize) -> f64 {
            let mut w = [0.0; 10];
            for b in 0..steps {
                let (_, g) = self.batch(&w, b);
                w.iter_mut().zip(g).for_each(|(w, g)| *w -= lr * g);
            }
            (0..100).map(|b| self.batch(&w, b).0).sum::<f64>() / 100.0
        }
    }

    #[test]
    fn on_a_noisy_quadratic_the_suggestions_are_near_the_best_constant_rate() {
        let problem = Regression::new(7);
        let mut w = [0.0; 10];
        let mut b = 0;
        let config = LrFindConfig {
            start_lr: 1e-5,
            end_lr: 10.0,
            iterations: 100,
            ..LrFindConfig::default()
        };
        let result = range_test(&config, |lr| {
            let (loss, g) = problem.batch(&w, b);
            w.iter_mut().zip(g).for_each(|(w, g)| *w -= lr * g);
            b += 1;
            Ok(loss)
        })
        .unwrap();
        assert!(result.diverged_at.is_some(), "rates up to 10 diverge here");
        // The best constant rate for a 10-epoch run (1000 steps), on a fine grid: what the
        // suggestion is for. (For a run as short as the test itself, 100 steps, the best rate is
        // 5.6e-2: the suggestions are conservative for very short runs.)
        let best = (0..=60)
            .map(|i| 10f64.powf(-3.0 + i as f64 / 20.0))
            .map(|lr| (lr, problem.train(lr, 1000)))
            .filter(|(_, loss)| loss.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap()
            .0;
        for (name, suggested) in [("valley", result.valley), ("steepest", result.steepest)] {
            let ratio = (suggested / best).max(best / suggested);
            assert!(ratio <= 3.0, "{name} {suggested:.3e} vs best {best:.3e}");
        }
    }
    #[test]
    fn bad_settings_and_instant_divergence_are_errors() {
        let flat = |_: f64| Ok(1.0);
        for config in [
            LrFindConfig {
                start_lr: 0.0,
                ..LrFindConfig::default()
            },
            LrFindConfig {
                start_lr: 1.0,
                end_lr: 0.1,
                ..LrFindConfig::default()
            },
            LrFindConfig {
                iterations: 3,
                ..LrFindConfig::default()
            },
        ] {
            assert!(range_test(&config, flat).is_err(), "{config:?}");
        }
        let err = range_test(&LrFindConfig::default(), |_| Ok(f64::NAN)).unwrap_err();
        assert!(err.to_string().contains("start lower"), "{err}");
    }
}
