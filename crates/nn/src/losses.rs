//! Loss modules with PyTorch's names and arguments, over the tensor crate's loss functions
//! ([`convkit_tensor::ops::loss`]), behind one [`Loss`] trait so training code can take any of them.
//!
//! ```
//! use convkit_nn::losses::{CrossEntropyLoss, Loss, Reduction};
//! use convkit_tensor::Tensor;
//! let logits = Tensor::zeros([2, 4]);
//! let ce = CrossEntropyLoss { label_smoothing: 0.1, ..Default::default() };
//! let loss = ce.forward(&logits, (&[0usize, 3][..]).into()).unwrap();
//! assert!((loss.item() - 4f32.ln()).abs() < 1e-6);
//! let per_sample = CrossEntropyLoss { reduction: Reduction::None, ..Default::default() };
//! assert_eq!(per_sample.forward(&logits, (&[0usize, 3][..]).into()).unwrap().dims(), &[2]);
//! ```
use crate::error::{Error, Result};
use convkit_tensor::ops::loss::{
    cross_entropy, multi_margin_loss, nll_loss, pointwise_loss, ClassTarget, CrossEntropyConfig,
    MultiMarginConfig, PointwiseLoss, PointwiseLossConfig,
};
use convkit_tensor::Tensor;

pub use convkit_tensor::ops::loss::Reduction;

/// What a loss compares its input with.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// Class indices (classification losses).
    Classes(&'a [usize]),
    /// A tensor: values for regression losses, probabilities for [`CrossEntropyLoss`].
    Tensor(&'a Tensor),
}

impl<'a> From<&'a [usize]> for Target<'a> {
    fn from(classes: &'a [usize]) -> Self {
        Target::Classes(classes)
    }
}

impl<'a> From<&'a Vec<usize>> for Target<'a> {
    fn from(classes: &'a Vec<usize>) -> Self {
        Target::Classes(classes)
    }
}

impl<'a> From<&'a Tensor> for Target<'a> {
    fn from(t: &'a Tensor) -> Self {
        Target::Tensor(t)
    }
}

/// A loss: `forward(input, target)` gives the loss (a scalar unless the reduction is `None`).
pub trait Loss: Send + Sync {
    /// # Errors
    /// A target of the wrong kind (class indices where values are needed, or the reverse), or
    /// shapes that don't fit; the message names the loss and the shapes.
    fn forward(&self, input: &Tensor, target: Target<'_>) -> Result<Tensor>;

    /// PyTorch's repr, e.g. `CrossEntropyLoss()`.
    fn describe(&self) -> String;
}

fn classes<'a>(loss: &'static str, target: Target<'a>) -> Result<&'a [usize]> {
    match target {
        Target::Classes(c) => Ok(c),
        Target::Tensor(t) => Err(Error::config(
            loss,
            format!(
                "needs class indices as the target, got a tensor of shape {}",
                t.shape()
            ),
        )),
    }
}

fn values<'a>(loss: &'static str, target: Target<'a>) -> Result<&'a Tensor> {
    match target {
        Target::Tensor(t) => Ok(t),
        Target::Classes(c) => Err(Error::config(
            loss,
            format!("needs a target tensor, got {} class indices", c.len()),
        )),
    }
}

/// PyTorch's `nn.CrossEntropyLoss` on logits `[N, C, *]`: class indices or probabilities as the
/// target, class `weight`s (weighted mean), label smoothing, `ignore_index`. See
/// [`convkit_tensor::ops::loss::cross_entropy`] for the formula and shapes.
#[derive(Clone, Debug, Default)]
pub struct CrossEntropyLoss {
    pub weight: Option<Tensor>,
    pub reduction: Reduction,
    pub label_smoothing: f32,
    pub ignore_index: Option<usize>,
}

impl CrossEntropyLoss {
    fn config(&self) -> CrossEntropyConfig {
        CrossEntropyConfig {
            weight: self.weight.clone(),
            reduction: self.reduction,
            label_smoothing: self.label_smoothing,
            ignore_index: self.ignore_index,
        }
    }
}

fn class_target(target: Target<'_>) -> ClassTarget<'_> {
    match target {
        Target::Classes(c) => ClassTarget::Indices(c),
        Target::Tensor(p) => ClassTarget::Probabilities(p),
    }
}

impl Loss for CrossEntropyLoss {
    fn forward(&self, input: &Tensor, target: Target<'_>) -> Result<Tensor> {
        Ok(cross_entropy(input, class_target(target), &self.config())?)
    }

    fn describe(&self) -> String {
        "CrossEntropyLoss()".into()
    }
}

/// PyTorch's `nn.NLLLoss` on log-probabilities `[N, C, *]` and class indices, with class `weight`s
/// (weighted mean). See [`convkit_tensor::ops::loss::nll_loss`].
#[derive(Clone, Debug, Default)]
pub struct NLLLoss {
    pub weight: Option<Tensor>,
    pub reduction: Reduction,
    pub ignore_index: Option<usize>,
}

impl Loss for NLLLoss {
    fn forward(&self, input: &Tensor, target: Target<'_>) -> Result<Tensor> {
        let config = CrossEntropyConfig {
            weight: self.weight.clone(),
            reduction: self.reduction,
            label_smoothing: 0.0,
            ignore_index: self.ignore_index,
        };
        let indices = classes("NLLLoss", target)?;
        Ok(nll_loss(input, ClassTarget::Indices(indices), &config)?)
    }

    fn describe(&self) -> String {
        "NLLLoss()".into()
    }
}

/// PyTorch's `nn.MultiMarginLoss` (the multiclass SVM loss divided by the class count; the course's
/// undivided form is [`convkit_tensor::ops::loss::multiclass_hinge_loss`]). See
/// [`convkit_tensor::ops::loss::multi_margin_loss`].
#[derive(Clone, Debug)]
pub struct MultiMarginLoss {
    /// 1 or 2.
    pub p: u32,
    pub margin: f32,
    pub weight: Option<Tensor>,
    pub reduction: Reduction,
}

impl Default for MultiMarginLoss {
    fn default() -> Self {
        let d = MultiMarginConfig::default();
        MultiMarginLoss {
            p: d.p,
            margin: d.margin,
            weight: d.weight,
            reduction: d.reduction,
        }
    }
}

impl Loss for MultiMarginLoss {
    fn forward(&self, input: &Tensor, target: Target<'_>) -> Result<Tensor> {
        let indices = classes("MultiMarginLoss", target)?;
        let config = MultiMarginConfig {
            p: self.p,
            margin: self.margin,
            weight: self.weight.clone(),
            reduction: self.reduction,
        };
        Ok(multi_margin_loss(input, indices, &config)?)
    }

    fn describe(&self) -> String {
        "MultiMarginLoss()".into()
    }
}

/// A point-wise loss of `input` against a target tensor of the same shape.
fn elementwise(
    name: &'static str,
    kind: PointwiseLoss,
    input: &Tensor,
    target: Target<'_>,
    reduction: Reduction,
    pos_weight: Option<&Tensor>,
) -> Result<Tensor> {
    let config = PointwiseLossConfig {
        reduction,
        pos_weight: pos_weight.cloned(),
    };
    Ok(pointwise_loss(kind, input, values(name, target)?, &config)?)
}

/// PyTorch's `nn.MSELoss`: `(x − t)²`, the mean over all elements by default. See
/// [`convkit_tensor::ops::loss::pointwise_loss`] (shapes: input and target alike).
#[derive(Clone, Copy, Debug, Default)]
pub struct MSELoss {
    pub reduction: Reduction,
}

impl Loss for MSELoss {
    fn forward(&self, input: &Tensor, target: Target<'_>) -> Result<Tensor> {
        elementwise(
            "MSELoss",
            PointwiseLoss::Mse,
            input,
            target,
            self.reduction,
            None,
        )
    }

    fn describe(&self) -> String {
        "MSELoss()".into()
    }
}

/// PyTorch's `nn.L1Loss`: `|x − t|`.
#[derive(Clone, Copy, Debug, Default)]
pub struct L1Loss {
    pub reduction: Reduction,
}

impl Loss for L1Loss {
    fn forward(&self, input: &Tensor, target: Target<'_>) -> Result<Tensor> {
        elementwise(
            "L1Loss",
            PointwiseLoss::L1,
            input,
            target,
            self.reduction,
            None,
        )
    }

    fn describe(&self) -> String {
        "L1Loss()".into()
    }
}

/// PyTorch's `nn.SmoothL1Loss`: `0.5·d²/beta` where `|d| < beta`, else `|d| − 0.5·beta`.
#[derive(Clone, Copy, Debug)]
pub struct SmoothL1Loss {
    pub reduction: Reduction,
    pub beta: f32,
}

impl Default for SmoothL1Loss {
    fn default() -> Self {
        SmoothL1Loss {
            reduction: Reduction::Mean,
            beta: 1.0,
        }
    }
}

impl Loss for SmoothL1Loss {
    fn forward(&self, input: &Tensor, target: Target<'_>) -> Result<Tensor> {
        let kind = PointwiseLoss::SmoothL1 { beta: self.beta };
        elementwise("SmoothL1Loss", kind, input, target, self.reduction, None)
    }

    fn describe(&self) -> String {
        "SmoothL1Loss()".into()
    }
}

/// PyTorch's `nn.BCEWithLogitsLoss`: binary cross-entropy on logits, with an optional weight of the
/// positive class per class `[C]` (C = the input's last dim).
#[derive(Clone, Debug, Default)]
pub struct BCEWithLogitsLoss {
    pub reduction: Reduction,
    pub pos_weight: Option<Tensor>,
}

impl Loss for BCEWithLogitsLoss {
    fn forward(&self, input: &Tensor, target: Target<'_>) -> Result<Tensor> {
        elementwise(
            "BCEWithLogitsLoss",
            PointwiseLoss::BceWithLogits,
            input,
            target,
            self.reduction,
            self.pos_weight.as_ref(),
        )
    }

    fn describe(&self) -> String {
        "BCEWithLogitsLoss()".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_tensor::seeded_rng;

    #[test]
    fn modules_match_the_functions() {
        let mut rng = seeded_rng(0);
        let x = Tensor::randn([4, 3], &mut rng);
        let labels = vec![2usize, 0, 1, 1];
        let ce = CrossEntropyLoss::default();
        assert_eq!(
            ce.forward(&x, (&labels).into()).unwrap().item(),
            x.cross_entropy(&labels).unwrap().item()
        );
        let nll = NLLLoss::default()
            .forward(&x.log_softmax(1).unwrap(), (&labels).into())
            .unwrap();
        assert!((nll.item() - x.cross_entropy(&labels).unwrap().item()).abs() < 1e-6);
        let t = Tensor::randn([4, 3], &mut rng);
        let mse = MSELoss::default().forward(&x, (&t).into()).unwrap();
        assert_eq!(mse.item(), x.mse_loss(&t).unwrap().item());
        let sum = L1Loss {
            reduction: Reduction::Sum,
        }
        .forward(&x, (&t).into())
        .unwrap();
        let by_hand: f32 = x
            .to_vec()
            .iter()
            .zip(t.to_vec())
            .map(|(a, b)| (a - b).abs())
            .sum();
        assert!((sum.item() - by_hand).abs() < 1e-5);
        assert_eq!(SmoothL1Loss::default().describe(), "SmoothL1Loss()");
        let hinge = MultiMarginLoss::default()
            .forward(&x, (&labels).into())
            .unwrap();
        assert!(hinge.item() >= 0.0);
    }

    #[test]
    fn wrong_target_kinds_are_errors() {
        let x = Tensor::zeros([2, 3]);
        let err = MSELoss::default()
            .forward(&x, (&[0usize, 1][..]).into())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("MSELoss: invalid configuration: needs a target tensor"),
            "{err}"
        );
        let err = NLLLoss::default().forward(&x, (&x).into()).unwrap_err();
        assert!(
            err.to_string().contains("NLLLoss") && err.to_string().contains("[2, 3]"),
            "{err}"
        );
        let bce = BCEWithLogitsLoss {
            pos_weight: Some(Tensor::ones([2])),
            ..Default::default()
        };
        let err = bce.forward(&x, (&x).into()).unwrap_err();
        assert!(err.to_string().contains("pos_weight"), "{err}");
    }
}
