//! Losses: cross-entropy from logits and mean squared error.
use super::activation::softmax_along;
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::sync::Arc;

impl Tensor {
    /// Mean cross-entropy between logits `[N, C]` and class indices (length N), computed through a
    /// numerically stable log-softmax. Returns a scalar.
    ///
    /// # Errors
    /// When the logits are not 2-D, the target count differs from N, or a target is not below C.
    pub fn cross_entropy(&self, targets: &[usize]) -> Result<Tensor> {
        let &[n, classes] = self.dims() else {
            return Err(Error::shape(
                "cross_entropy",
                format!("logits must be [N, C], got {}", self.shape()),
            ));
        };
        if targets.len() != n {
            return Err(Error::shape(
                "cross_entropy",
                format!(
                    "{} targets for logits of shape {} (expected {n})",
                    targets.len(),
                    self.shape()
                ),
            ));
        }
        if let Some(&bad) = targets.iter().find(|&&t| t >= classes) {
            return Err(Error::shape(
                "cross_entropy",
                format!("target class {bad} is out of range for {classes} classes"),
            ));
        }
        let log_probs = softmax_along(&self.data(), (n, classes, 1), true);
        let total: f64 = targets
            .iter()
            .enumerate()
            .map(|(i, &t)| -(log_probs[i * classes + t] as f64))
            .sum();
        let probs = log_probs.iter().map(|lp| lp.exp()).collect();
        let op = Op::CrossEntropy {
            logits: self.clone(),
            targets: Arc::new(targets.to_vec()),
            probs,
        };
        Ok(Tensor::from_op(
            vec![(total / n.max(1) as f64) as f32],
            Shape::new(&[]),
            op,
        ))
    }

    /// Mean squared error `mean((self − target)²)`; both must have the same shape. Returns a scalar.
    ///
    /// # Errors
    /// When the shapes differ.
    pub fn mse_loss(&self, target: &Tensor) -> Result<Tensor> {
        if self.shape() != target.shape() {
            return Err(Error::shape(
                "mse_loss",
                format!(
                    "prediction shape {} differs from target shape {}",
                    self.shape(),
                    target.shape()
                ),
            ));
        }
        let total: f64 = self
            .data()
            .iter()
            .zip(target.data().iter())
            .map(|(p, t)| ((p - t) as f64).powi(2))
            .sum();
        let value = (total / self.numel().max(1) as f64) as f32;
        Ok(Tensor::from_op(
            vec![value],
            Shape::new(&[]),
            Op::Mse {
                pred: self.clone(),
                target: target.clone(),
            },
        ))
    }
}

/// d loss / d logits = (softmax − one_hot(target)) / N.
pub(crate) fn cross_entropy_backward(
    logits: &Tensor,
    targets: &[usize],
    probs: &[f32],
    grad: &[f32],
) -> Vec<InputGrad> {
    let classes = logits.dims()[1];
    let scale = grad[0] / targets.len().max(1) as f32;
    let mut g: Vec<f32> = probs.iter().map(|p| p * scale).collect();
    for (i, &t) in targets.iter().enumerate() {
        g[i * classes + t] -= scale;
    }
    vec![(logits.clone(), g)]
}

pub(crate) fn mse_backward(pred: &Tensor, target: &Tensor, grad: &[f32]) -> Vec<InputGrad> {
    let scale = 2.0 * grad[0] / pred.numel().max(1) as f32;
    let diff: Vec<f32> = pred
        .data()
        .iter()
        .zip(target.data().iter())
        .map(|(p, t)| (p - t) * scale)
        .collect();
    let mut grads = Vec::new();
    if target.requires_grad() {
        grads.push((target.clone(), diff.iter().map(|d| -d).collect()));
    }
    if pred.requires_grad() {
        grads.push((pred.clone(), diff));
    }
    grads
}
