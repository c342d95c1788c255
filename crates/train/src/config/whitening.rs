//! The patch-whitening initialisation part of a [`super::TrainConfig`] (airbench's first layer).
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Sets a convolution's weights, before training, to filters that whiten the training images'
/// patches (see `convkit_data::transforms::patch_whitening_filters`): the layer must have
/// `2·c·k²` filters of `c × k × k` for `c`-channel images.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WhiteningConfig {
    /// The convolution's name in the state_dict (airbench94: `0`).
    pub layer: String,
    /// How many training images (the first ones, normalised, not augmented) give the patches.
    pub images: usize,
    /// Added to each eigenvalue before the square root.
    pub eps: f32,
}

/// airbench94's: layer `0`, 5,000 images, eps 5e-4.
impl Default for WhiteningConfig {
    fn default() -> Self {
        WhiteningConfig {
            layer: "0".into(),
            images: 5000,
            eps: 5e-4,
        }
    }
}

impl WhiteningConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.images == 0 {
            return Err(Error::config(
                "whitening.images",
                "needs at least one image",
            ));
        }
        if !(self.eps >= 0.0 && self.eps.is_finite()) {
            return Err(Error::config(
                "whitening.eps",
                format!("must be a non-negative number, got {}", self.eps),
            ));
        }
        Ok(())
    }
}
