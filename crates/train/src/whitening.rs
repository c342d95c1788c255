//! Patch-whitening initialisation of a run's first convolution ([`WhiteningConfig`]).
use crate::config::WhiteningConfig;
use crate::error::{Error, Result};
use crate::eval::eval_loader;
use convkit_data::transforms::patch_whitening_filters;
use convkit_data::{Dataset, Normalize};
use convkit_nn::Module;
use std::sync::Arc;

/// Sets the weight of `model`'s convolution `config.layer` to the filters that whiten the patches
/// of the first `config.images` images of `train` (normalised by `normalize`, not augmented).
///
/// # Errors
/// No such layer, or one whose weight is not `[2·c·k², c, k, k]` for the images' `c` channels.
pub fn whiten_layer(
    model: &dyn Module,
    train: Arc<Dataset>,
    normalize: Normalize,
    config: &WhiteningConfig,
) -> Result<()> {
    let field = "whitening.layer";
    let layer = model
        .module(&config.layer)
        .map_err(|e| Error::config(field, e.to_string()))?;
    let weight = layer
        .parameters()
        .into_iter()
        .find(|(name, _)| name == "weight")
        .map(|(_, t)| t)
        .ok_or_else(|| Error::config(field, format!("'{}' has no weight", config.layer)))?;
    let batch = eval_loader(train, normalize, config.images)?
        .epoch(0)
        .next()
        .expect("an evaluation loader over a non-empty set has a batch");
    let dims = batch.dims;
    let channels = dims[1];
    let w = weight.dims();
    let fits =
        w.len() == 4 && w[1] == channels && w[2] == w[3] && w[0] == 2 * channels * w[2] * w[3];
    if !fits {
        return Err(Error::config(
            field,
            format!(
                "'{}' has weight {w:?}; patch whitening of {channels}-channel images needs [2·c·k², c, k, k]",
                config.layer
            ),
        ));
    }
    let filters = patch_whitening_filters(&batch.images, dims, w[2], config.eps)?;
    weight.data_mut().copy_from_slice(&filters);
    Ok(())
}
