//! A model as attacks see it: pixels in [0, 1] in, logits out, the model's own normalisation
//! applied inside, so that ε is measured in pixel units whatever the model was trained on.
use crate::error::{Error, Result};
use crate::pixels::PixelBatch;
use convkit_nn::{Mode, Module};
use convkit_tensor::ops::loss::{cross_entropy, ClassTarget, CrossEntropyConfig, Reduction};
use convkit_tensor::{no_grad, Tensor};

/// A model with its per-channel normalisation, taking pixels in [0, 1].
///
/// `logits(x) = model((x − mean) / std)`. Gradients with respect to `x` flow through the
/// normalisation, so every attack works on pixels and clamps to [0, 1] — the input range
/// mistake torchattacks users hit most often cannot happen here.
///
/// While an attack runs, the model's parameters are frozen (`requires_grad` off, restored after),
/// so only input gradients are computed: attack one model from one thread at a time, and not
/// while another thread trains it.
pub struct Classifier<'a> {
    model: &'a dyn Module,
    /// `[1, C, 1, 1]`, broadcast over `[N, C, H, W]`.
    mean: Tensor,
    std: Tensor,
    mode: Mode,
}

/// The predicted class of every image and the softmax probability given to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    pub classes: Vec<usize>,
    pub confidences: Vec<f32>,
}

/// A scalar computed from a batch's logits, whose gradient with respect to the pixels is wanted.
pub(crate) type Objective<'a> = dyn Fn(&Tensor) -> Result<Tensor> + 'a;

/// The logits `[N, classes]` at a batch and the gradient of each objective with respect to its
/// pixels (one `Vec` per objective, in the batch's layout).
pub(crate) struct InputGradients {
    pub logits: Vec<f32>,
    pub grads: Vec<Vec<f32>>,
}

impl<'a> Classifier<'a> {
    /// `model` behind the normalisation `(x − mean[c]) / std[c]` (one mean and std per input
    /// channel), run in [`Mode::Eval`] unless [`Classifier::with_mode`] says otherwise.
    ///
    /// # Errors
    /// [`Error::MissingNormalization`] if `mean` and `std` are empty;
    /// [`Error::InvalidNormalization`] if their lengths differ, a std is not a positive finite
    /// number or a mean is not finite.
    pub fn new(model: &'a dyn Module, mean: &[f32], std: &[f32]) -> Result<Self> {
        if mean.is_empty() && std.is_empty() {
            return Err(Error::MissingNormalization);
        }
        if mean.len() != std.len() {
            return Err(Error::InvalidNormalization(format!(
                "{} means but {} stds",
                mean.len(),
                std.len()
            )));
        }
        if let Some(s) = std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(Error::InvalidNormalization(format!(
                "std {s} is not a positive number (std {std:?})"
            )));
        }
        if let Some(m) = mean.iter().find(|m| !m.is_finite()) {
            return Err(Error::InvalidNormalization(format!(
                "mean {m} is not a finite number (mean {mean:?})"
            )));
        }
        let per_channel = |v: &[f32]| Tensor::from_vec(v.to_vec(), [1, v.len(), 1, 1]);
        Ok(Classifier {
            model,
            mean: per_channel(mean)?,
            std: per_channel(std)?,
            mode: Mode::Eval,
        })
    }

    /// The same classifier run in `mode`. Attacks normally use [`Mode::Eval`]; a training step
    /// that attacks the model as it trains (Wong et al.) may pass [`Mode::Train`], which also
    /// updates BatchNorm's running statistics at every attack step.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Input channels the normalisation expects.
    pub fn channels(&self) -> usize {
        self.mean.numel()
    }

    /// `(pixels − mean) / std`: what the model itself is fed.
    ///
    /// # Errors
    /// An input that is not `[N, C, H, W]` with the normalisation's C.
    pub fn normalize(&self, pixels: &Tensor) -> Result<Tensor> {
        self.check_layout("normalize", pixels)?;
        Ok(pixels.sub(&self.mean)?.div(&self.std)?)
    }

    /// Pixels in [0, 1] from an already normalised batch (`x·std + mean`, clamped to [0, 1] to
    /// undo the rounding): how a training step that gets normalised batches feeds an attack.
    ///
    /// # Errors
    /// An input that is not `[N, C, H, W]` with the normalisation's C.
    pub fn pixels_from_normalized(&self, normalized: &Tensor) -> Result<Tensor> {
        self.check_layout("pixels_from_normalized", normalized)?;
        let pixels = no_grad(|| normalized.mul(&self.std)?.add(&self.mean))?;
        let data = pixels.to_vec().into_iter().map(|v| v.clamp(0.0, 1.0));
        Ok(Tensor::from_vec(data.collect(), pixels.dims())?)
    }

    /// The model's logits for pixels in [0, 1], differentiable with respect to the pixels.
    ///
    /// # Errors
    /// An input that is not `[N, C, H, W]` with the normalisation's C, or one the model rejects.
    pub fn logits(&self, pixels: &Tensor) -> Result<Tensor> {
        let logits = self.model.forward(&self.normalize(pixels)?, self.mode)?;
        if logits.rank() != 2 {
            return Err(Error::Shape {
                attack: "classifier",
                msg: format!(
                    "the model gives logits {}, expected [N, classes]",
                    logits.shape()
                ),
            });
        }
        Ok(logits)
    }

    /// The predicted class and its softmax probability for every image (no graph recorded).
    ///
    /// # Errors
    /// As [`Classifier::logits`].
    pub fn predict(&self, pixels: &Tensor) -> Result<Predictions> {
        let probabilities = no_grad(|| self.logits(pixels)?.softmax(1).map_err(Error::from))?;
        let classes = probabilities.argmax(1)?;
        let data = probabilities.data();
        let width = probabilities.dims()[1];
        let confidences = classes
            .iter()
            .enumerate()
            .map(|(i, &c)| data[i * width + c])
            .collect();
        Ok(Predictions {
            classes,
            confidences,
        })
    }

    /// The logits at `batch` and the gradient of each scalar `objective(logits)` with respect to
    /// the pixels, from one forward pass. The model's parameters are frozen meanwhile, so no
    /// parameter gradient is computed or accumulated (a training step's gradients stay as they were).
    pub(crate) fn input_gradients(
        &self,
        batch: &PixelBatch,
        objectives: &[&Objective],
    ) -> Result<InputGradients> {
        let _frozen = FrozenParameters::new(self.model);
        let pixels = batch.to_tensor()?.with_grad();
        let logits = self.logits(&pixels)?;
        let mut grads = Vec::with_capacity(objectives.len());
        for objective in objectives {
            pixels.zero_grad();
            objective(&logits)?.backward()?;
            let grad = pixels.grad().map(|g| g.to_vec());
            // An objective that doesn't depend on the pixels has a zero gradient.
            grads.push(grad.unwrap_or_else(|| vec![0.0; batch.data.len()]));
        }
        Ok(InputGradients {
            logits: logits.to_vec(),
            grads,
        })
    }

    /// The logits at `batch` and the gradient of the cross-entropy (summed over the batch, so each
    /// image's gradient is its own loss's) with respect to its pixels: what gradient attacks climb.
    pub(crate) fn loss_gradient(
        &self,
        batch: &PixelBatch,
        labels: &[usize],
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let config = CrossEntropyConfig {
            reduction: Reduction::Sum,
            ..Default::default()
        };
        let loss = |logits: &Tensor| {
            Ok(cross_entropy(
                logits,
                ClassTarget::Indices(labels),
                &config,
            )?)
        };
        let InputGradients { logits, mut grads } = self.input_gradients(batch, &[&loss])?;
        Ok((logits, grads.remove(0)))
    }

    /// The cross-entropy of each image of `batch` (no graph recorded).
    pub(crate) fn losses(&self, batch: &PixelBatch, labels: &[usize]) -> Result<Vec<f32>> {
        let config = CrossEntropyConfig {
            reduction: Reduction::None,
            ..Default::default()
        };
        no_grad(|| {
            let logits = self.logits(&batch.to_tensor()?)?;
            Ok(cross_entropy(&logits, ClassTarget::Indices(labels), &config)?.to_vec())
        })
    }

    /// The model's parameters frozen for as long as the guard lives (Carlini–Wagner optimises its
    /// own variable through the model).
    pub(crate) fn freeze(&self) -> FrozenParameters {
        FrozenParameters::new(self.model)
    }

    fn check_layout(&self, what: &'static str, x: &Tensor) -> Result<()> {
        if x.rank() != 4 || x.dims()[1] != self.channels() {
            return Err(Error::Shape {
                attack: what,
                msg: format!(
                    "images must be [N, {}, H, W] for a normalisation of {} channel(s), got {}",
                    self.channels(),
                    self.channels(),
                    x.shape()
                ),
            });
        }
        Ok(())
    }
}

/// Parameters that required grad, switched off until the guard drops (also on an early return).
pub(crate) struct FrozenParameters {
    params: Vec<Tensor>,
}

impl FrozenParameters {
    fn new(model: &dyn Module) -> Self {
        let params: Vec<Tensor> = model
            .parameters()
            .into_iter()
            .map(|(_, t)| t)
            .filter(Tensor::requires_grad)
            .collect();
        params.iter().for_each(|p| p.set_requires_grad(false));
        FrozenParameters { params }
    }
}

impl Drop for FrozenParameters {
    fn drop(&mut self) {
        self.params.iter().for_each(|p| p.set_requires_grad(true));
    }
}
