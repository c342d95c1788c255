//! `Dropout`: inverted dropout with its own seeded RNG, and the state every dropout-like layer shares.
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::module::Module;
use crate::rng_scope;
use convkit_tensor::{seeded_rng, ConvRng, Tensor};
use rand::Rng;
use std::sync::Mutex;

/// Settings of [`Dropout`] (PyTorch's keyword arguments and defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropoutConfig {
    /// Probability of zeroing an element.
    pub p: f32,
}

impl Default for DropoutConfig {
    fn default() -> Self {
        DropoutConfig { p: 0.5 }
    }
}

/// Inverted dropout, PyTorch's `nn.Dropout`: in [`Mode::Train`] each element is zeroed with
/// probability `p` and the survivors scaled by `1/(1−p)`; in [`Mode::Eval`] the input passes unchanged.
///
/// The layer owns an RNG seeded from the one given at construction, so a run seeded the same way
/// drops the same elements.
///
/// # Shapes
/// any shape → the same shape.
///
/// # Errors
/// [`Dropout::new`]: `p` outside `[0, 1]`.
pub struct Dropout {
    state: DropState,
}

impl Dropout {
    pub fn new(config: DropoutConfig, rng: &mut impl Rng) -> Result<Dropout> {
        Ok(Dropout {
            state: DropState::new("Dropout", config.p, rng)?,
        })
    }
}

impl Module for Dropout {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        let mode = pass.mode();
        self.state.run(|p, rng| x.dropout(p, mode.is_train(), rng))
    }

    fn describe(&self) -> String {
        format!("Dropout(p={}, inplace=False)", self.state.p)
    }
}

/// What every dropout-like layer holds: its probability (validated) and its own RNG, seeded from the
/// one given at construction so a run seeded the same way drops the same things.
///
/// Inside [`crate::rng_scope::with_rng_seed`] the generator restarts from the scope's seed mixed
/// with the layer's own seed the first time the layer runs in that scope.
pub(crate) struct DropState {
    pub(crate) p: f32,
    /// Drawn from the construction RNG: tells this layer's stream apart from its siblings'.
    seed: u64,
    /// The generator, and the scope it was last restarted for.
    rng: Mutex<(Option<u64>, ConvRng)>,
}

impl DropState {
    pub(crate) fn new(layer: &'static str, p: f32, rng: &mut impl Rng) -> Result<DropState> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::config(
                layer,
                format!("p must be in [0, 1], got {p}"),
            ));
        }
        let seed = rng.random();
        Ok(DropState {
            p,
            seed,
            rng: Mutex::new((None, seeded_rng(seed))),
        })
    }

    /// Runs a tensor-level dropout op with the probability and the layer's RNG.
    pub(crate) fn run(
        &self,
        op: impl FnOnce(f32, &mut ConvRng) -> convkit_tensor::Result<Tensor>,
    ) -> Result<Tensor> {
        let mut guard = self.rng.lock().expect("dropout rng lock poisoned");
        let (scope, rng) = &mut *guard;
        if let Some((id, seed)) = rng_scope::current() {
            if *scope != Some(id) {
                // SplitMix64's odd constant keeps (scope seed, layer seed) pairs apart.
                *rng = seeded_rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.seed);
                *scope = Some(id);
            }
        }
        Ok(op(self.p, rng)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mode;

    #[test]
    fn train_drops_and_rescales_eval_passes_through() {
        let x = Tensor::ones([10_000]);
        let drop = Dropout::new(DropoutConfig { p: 0.25 }, &mut seeded_rng(1)).unwrap();
        let y = drop.forward(&x, Mode::Train).unwrap().to_vec();
        assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
        let zeroed = y.iter().filter(|&&v| v == 0.0).count() as f32 / y.len() as f32;
        assert!((zeroed - 0.25).abs() < 0.02, "dropped fraction {zeroed}");
        assert_eq!(drop.forward(&x, Mode::Eval).unwrap().to_vec(), x.to_vec());
        assert_eq!(drop.describe(), "Dropout(p=0.25, inplace=False)");
    }

    #[test]
    fn reproducible_from_the_construction_seed() {
        let x = Tensor::ones([64]);
        let run = |seed| {
            let drop = Dropout::new(DropoutConfig::default(), &mut seeded_rng(seed)).unwrap();
            (
                drop.forward(&x, Mode::Train).unwrap().to_vec(),
                drop.forward(&x, Mode::Train).unwrap().to_vec(),
            )
        };
        let (first, second) = run(5);
        assert_eq!((first.clone(), second.clone()), run(5));
        assert_ne!(first, second, "successive calls draw fresh masks");
        assert!(Dropout::new(DropoutConfig { p: 1.5 }, &mut seeded_rng(0)).is_err());
    }

    #[test]
    fn a_seed_scope_restarts_the_masks_whatever_came_before() {
        let x = Tensor::ones([64]);
        let mask = |drop: &Dropout| drop.forward(&x, Mode::Train).unwrap().to_vec();
        let fresh = || Dropout::new(DropoutConfig::default(), &mut seeded_rng(3)).unwrap();
        let (used, unused) = (fresh(), fresh());
        mask(&used); // advance one layer's own generator
        let in_scope =
            |drop: &Dropout, seed| rng_scope::with_rng_seed(seed, || (mask(drop), mask(drop)));
        let (a, b) = (in_scope(&used, 7), in_scope(&unused, 7));
        assert_eq!(a, b, "the scope, not the history, decides the masks");
        assert_ne!(a.0, a.1, "successive calls in a scope draw fresh masks");
        assert_ne!(in_scope(&unused, 8).0, a.0, "another seed, other masks");
        assert_eq!(
            in_scope(&used, 7),
            a,
            "a new scope with the same seed restarts"
        );
    }
}
