//! `Maxout`: the maximum over groups of channels (Goodfellow et al. 2013).
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::module::Module;
use convkit_tensor::Tensor;

/// Maxout over `pieces` linear pieces: put it after a `Linear` or `Conv2d` with `pieces·C` outputs;
/// each of the C output channels is the maximum of `pieces` consecutive input channels
/// (`y[:, c] = max_j x[:, c·pieces + j]`). No parameters (PyTorch has no maxout layer).
///
/// # Shapes
/// `[N, pieces·C, *]` → `[N, C, *]`.
///
/// # Errors
/// [`Maxout::new`]: zero `pieces`. `forward`: an input whose dim 1 is not a multiple of `pieces`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Maxout {
    pieces: usize,
}

impl Maxout {
    pub fn new(pieces: usize) -> Result<Maxout> {
        if pieces == 0 {
            return Err(Error::config("Maxout", "pieces must be positive"));
        }
        Ok(Maxout { pieces })
    }
}

impl Module for Maxout {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(x.maxout(self.pieces)?)
    }

    fn describe(&self) -> String {
        format!("Maxout(pieces={})", self.pieces)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Linear, LinearConfig, Sequential};
    use crate::Mode;
    use convkit_tensor::seeded_rng;

    #[test]
    fn maxout_unit_after_a_linear_layer() {
        let linear = Linear::new(3, 8, LinearConfig::default(), &mut seeded_rng(0)).unwrap();
        let unit = Sequential::new(vec![Box::new(linear), Box::new(Maxout::new(4).unwrap())]);
        let x = Tensor::randn([5, 3], &mut seeded_rng(1));
        let y = unit.forward(&x, Mode::Train).unwrap();
        assert_eq!(y.dims(), &[5, 2]);
        assert_eq!(Maxout::new(4).unwrap().describe(), "Maxout(pieces=4)");
        assert!(Maxout::new(0).is_err());
        let err = Maxout::new(3)
            .unwrap()
            .forward(&Tensor::zeros([2, 8]), Mode::Eval)
            .unwrap_err();
        assert!(err.to_string().contains("maxout"), "{err}");
    }
}
