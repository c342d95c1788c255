//! `Dropout2d`: drops whole channels.
use super::dropout::{DropState, DropoutConfig};
use crate::error::Result;
use crate::forward_pass::ForwardPass;
use crate::module::Module;
use convkit_tensor::Tensor;
use rand::Rng;

/// Channel dropout, PyTorch's `nn.Dropout2d`: in [`Mode::Train`] every channel of every sample is
/// zeroed as a whole with probability `p` and the survivors scaled by `1/(1−p)` (neighbouring pixels
/// are correlated, so dropping single pixels regularises little); in [`Mode::Eval`] the identity.
///
/// # Shapes
/// `[N, C, *]` → the same shape.
///
/// # Errors
/// [`Dropout2d::new`]: `p` outside `[0, 1]`. `forward`: an input with fewer than 2 dims.
pub struct Dropout2d {
    state: DropState,
}

impl Dropout2d {
    pub fn new(config: DropoutConfig, rng: &mut impl Rng) -> Result<Dropout2d> {
        Ok(Dropout2d {
            state: DropState::new("Dropout2d", config.p, rng)?,
        })
    }
}

impl Module for Dropout2d {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        let mode = pass.mode();
        self.state
            .run(|p, rng| x.dropout2d(p, mode.is_train(), rng))
    }

    fn describe(&self) -> String {
        format!("Dropout2d(p={}, inplace=False)", self.state.p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mode;
    use convkit_tensor::seeded_rng;

    #[test]
    fn drops_whole_channels_in_train_only() {
        let x = Tensor::ones([8, 16, 3, 3]);
        let layer = Dropout2d::new(DropoutConfig { p: 0.5 }, &mut seeded_rng(2)).unwrap();
        let y = layer.forward(&x, Mode::Train).unwrap().to_vec();
        assert!(y.chunks(9).all(|c| c.iter().all(|&v| v == c[0])));
        let dropped = y.chunks(9).filter(|c| c[0] == 0.0).count();
        assert!(
            (32..=96).contains(&dropped),
            "{dropped} of 128 channels dropped"
        );
        assert_eq!(layer.forward(&x, Mode::Eval).unwrap().to_vec(), x.to_vec());
        assert_eq!(layer.describe(), "Dropout2d(p=0.5, inplace=False)");
        assert!(Dropout2d::new(DropoutConfig { p: -0.1 }, &mut seeded_rng(0)).is_err());
    }
}
