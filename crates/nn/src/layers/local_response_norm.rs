//! `LocalResponseNorm`: AlexNet's normalisation across neighbouring channels.
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::module::{py_float, Module};
use convkit_tensor::{local_response_norm, LrnParams, Tensor};

/// Local response normalisation, PyTorch's `nn.LocalResponseNorm(size, alpha, beta, k)`:
/// `y_c = x_c / (k + α/size · Σ x_j²)^β`, the sum over the `size` channels around `c`
/// (`c − ⌊size/2⌋ ..= c + ⌊(size−1)/2⌋`, zero-padded at the ends). AlexNet used size 5, α 1e-4,
/// β 0.75, k 2 (note PyTorch divides α by `size`). No parameters.
///
/// # Shapes
/// `[N, C, *]` (at least 3-D) → the same shape.
///
/// # Errors
/// `new`: a zero size. `forward`: an input of rank < 3.
pub struct LocalResponseNorm {
    params: LrnParams,
}

impl LocalResponseNorm {
    /// PyTorch's argument order; use [`LrnParams::default`] for `alpha 1e-4, beta 0.75, k 1`.
    pub fn new(params: LrnParams) -> Result<LocalResponseNorm> {
        if params.size == 0 {
            return Err(Error::config(
                "LocalResponseNorm",
                "size must be at least 1",
            ));
        }
        Ok(LocalResponseNorm { params })
    }
}

impl Module for LocalResponseNorm {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(local_response_norm(x, &self.params)?)
    }

    fn describe(&self) -> String {
        let p = &self.params;
        format!(
            "LocalResponseNorm({}, alpha={}, beta={}, k={})",
            p.size,
            py_float(p.alpha),
            py_float(p.beta),
            py_float(p.k)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::assert_close;
    use crate::Mode;

    #[test]
    fn hand_computed_window() {
        let lrn = LocalResponseNorm::new(LrnParams {
            size: 3,
            alpha: 3.0,
            beta: 1.0,
            k: 1.0,
        })
        .unwrap();
        // Channels 1, 2, 3 at one pixel: sums of squares over {0,1}, {0,1,2}, {1,2} = 5, 14, 13.
        let x = Tensor::from_vec(vec![1., 2., 3.], [1, 3, 1]).unwrap();
        let y = lrn.forward(&x, Mode::Eval).unwrap();
        assert_close(&y.to_vec(), &[1.0 / 6.0, 2.0 / 15.0, 3.0 / 14.0]);
        assert_eq!(
            lrn.describe(),
            "LocalResponseNorm(3, alpha=3.0, beta=1.0, k=1.0)"
        );
        assert!(lrn.forward(&Tensor::zeros([1, 3]), Mode::Eval).is_err());
    }
}
