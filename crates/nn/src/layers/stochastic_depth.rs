//! `StochasticDepth`: drops a residual branch per sample.
use super::dropout::DropState;
use crate::error::Result;
use crate::forward_pass::ForwardPass;
use crate::module::Module;
use convkit_tensor::ops::dropout::StochasticDepthMode;
use convkit_tensor::Tensor;
use rand::Rng;

/// Stochastic depth (Huang et al. 2016), torchvision's `ops.StochasticDepth(p, mode)`: apply it to
/// the output of a residual branch before the addition `x + branch(x)`. In [`Mode::Train`] each
/// sample's branch (`Row`) or the whole batch's (`Batch`) is zeroed with probability `p` and kept
/// ones are scaled by `1/(1−p)`, so the block is an identity for dropped samples and the expectation
/// is unchanged; in [`Mode::Eval`] the identity.
///
/// # Shapes
/// `[N, *]` → the same shape.
///
/// # Errors
/// [`StochasticDepth::new`]: `p` outside `[0, 1]`. `forward`: a scalar input.
pub struct StochasticDepth {
    state: DropState,
    mode: StochasticDepthMode,
}

impl StochasticDepth {
    pub fn new(p: f32, mode: StochasticDepthMode, rng: &mut impl Rng) -> Result<StochasticDepth> {
        Ok(StochasticDepth {
            state: DropState::new("StochasticDepth", p, rng)?,
            mode,
        })
    }
}

impl Module for StochasticDepth {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        let mode = pass.mode();
        self.state
            .run(|p, rng| x.stochastic_depth(p, self.mode, mode.is_train(), rng))
    }

    fn describe(&self) -> String {
        let mode = match self.mode {
            StochasticDepthMode::Row => "row",
            StochasticDepthMode::Batch => "batch",
        };
        format!("StochasticDepth(p={}, mode={mode})", self.state.p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mode;
    use convkit_tensor::seeded_rng;

    #[test]
    fn residual_block_is_identity_for_dropped_samples() {
        let n = 400;
        let x = Tensor::randn([n, 3, 2], &mut seeded_rng(1));
        let branch = Tensor::ones([n, 3, 2]);
        let layer =
            StochasticDepth::new(0.2, StochasticDepthMode::Row, &mut seeded_rng(3)).unwrap();
        let out = x
            .add(&layer.forward(&branch, Mode::Train).unwrap())
            .unwrap()
            .to_vec();
        let (xs, mut kept) = (x.to_vec(), 0);
        for (o, xi) in out.chunks(6).zip(xs.chunks(6)) {
            let diffs: Vec<f32> = o.iter().zip(xi).map(|(a, b)| a - b).collect();
            if diffs.iter().all(|d| (d - 1.25).abs() < 1e-5) {
                kept += 1;
            } else {
                assert!(diffs.iter().all(|d| d.abs() < 1e-6), "{diffs:?}");
            }
        }
        // Binomial(400, 0.8): mean 320, sd 8.
        assert!((288..=352).contains(&kept), "{kept} of {n} branches kept");
        let eval = layer.forward(&branch, Mode::Eval).unwrap();
        assert_eq!(eval.to_vec(), branch.to_vec());
        assert_eq!(layer.describe(), "StochasticDepth(p=0.2, mode=row)");
    }
}
