//! Inverted dropout: zero each element with probability p, scale survivors by 1/(1−p).
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use rand::Rng;

impl Tensor {
    /// Inverted dropout. In eval (`training == false`) or with `p == 0` it returns the input unchanged,
    /// so no rescaling is needed at test time.
    ///
    /// # Errors
    /// When `p` is outside `[0, 1]`.
    pub fn dropout(&self, p: f32, training: bool, rng: &mut impl Rng) -> Result<Tensor> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::config(
                "dropout",
                format!("probability must be in [0, 1], got {p}"),
            ));
        }
        if !training || p == 0.0 {
            return Ok(self.clone());
        }
        let keep_scale = if p < 1.0 { 1.0 / (1.0 - p) } else { 0.0 };
        let mask: Vec<f32> = (0..self.numel())
            .map(|_| {
                if rng.random::<f32>() < p {
                    0.0
                } else {
                    keep_scale
                }
            })
            .collect();
        let out = self.data().iter().zip(&mask).map(|(x, m)| x * m).collect();
        Ok(Tensor::from_op(
            out,
            self.shape().clone(),
            Op::Dropout {
                input: self.clone(),
                mask,
            },
        ))
    }
}

pub(crate) fn dropout_backward(input: &Tensor, mask: &[f32], grad: &[f32]) -> Vec<InputGrad> {
    vec![(
        input.clone(),
        grad.iter().zip(mask).map(|(g, m)| g * m).collect(),
    )]
}
