//! `Flatten`: merges trailing dims into one.
use crate::error::Result;
use crate::forward_pass::ForwardPass;
use crate::module::Module;
use convkit_tensor::Tensor;

/// Settings of [`Flatten`] (PyTorch's keyword arguments and defaults; `end_dim` is always the last).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlattenConfig {
    /// First dim to merge.
    pub start_dim: usize,
}

impl Default for FlattenConfig {
    fn default() -> Self {
        FlattenConfig { start_dim: 1 }
    }
}

/// Merges dims `start_dim..` into one, PyTorch's `nn.Flatten` (with `end_dim = -1`). Shares storage.
///
/// # Shapes
/// `[d0, ..., d(s-1), ds, ..., dn]` → `[d0, ..., d(s-1), ds·...·dn]`; with the default `start_dim = 1`,
/// `[N, C, H, W]` → `[N, C·H·W]`.
///
/// # Errors
/// `forward`: an input with no more than `start_dim` dims.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten {
    config: FlattenConfig,
}

impl Flatten {
    pub fn new(config: FlattenConfig) -> Flatten {
        Flatten { config }
    }
}

impl Module for Flatten {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(x.flatten(self.config.start_dim)?)
    }

    fn describe(&self) -> String {
        format!("Flatten(start_dim={}, end_dim=-1)", self.config.start_dim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::ramp;
    use crate::Mode;

    #[test]
    fn merges_trailing_dims() {
        let x = ramp(&[2, 3, 4, 5], 1.0);
        let y = Flatten::default().forward(&x, Mode::Eval).unwrap();
        assert_eq!(y.dims(), &[2, 60]);
        assert_eq!(y.to_vec(), x.to_vec());
        let y = Flatten::new(FlattenConfig { start_dim: 2 })
            .forward(&x, Mode::Eval)
            .unwrap();
        assert_eq!(y.dims(), &[2, 3, 20]);
        assert_eq!(
            Flatten::default().describe(),
            "Flatten(start_dim=1, end_dim=-1)"
        );
        let err = Flatten::new(FlattenConfig { start_dim: 4 })
            .forward(&x, Mode::Eval)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("start dim 4 is out of range for shape [2, 3, 4, 5]"),
            "{err}"
        );
    }
}
