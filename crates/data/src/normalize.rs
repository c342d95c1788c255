//! Per-channel pixel normalisation, applied through a 256-entry lookup table per channel.

use crate::error::{Error, Result};

/// Per-channel normalisation, as torchvision's `ToTensor` followed by `Normalize(mean, std)`: a
/// pixel `p` of channel `c` becomes `(p / 255 - mean[c]) / std[c]`, computed in f32 in that order.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalize {
    /// Mean of each channel, in [0, 1] scale.
    pub mean: Vec<f32>,
    /// Standard deviation of each channel, in [0, 1] scale; each must be positive.
    pub std: Vec<f32>,
}

impl Normalize {
    /// The per-channel mean and standard deviation of `dataset` (computed once, over every pixel
    /// in [0, 1] scale): what to normalise a dataset without published statistics by.
    pub fn from_dataset(dataset: &crate::Dataset) -> Self {
        let (mean, std) = dataset.mean_std();
        Self { mean, std }
    }
}

/// The f32 value of every possible pixel byte, for each channel.
pub(crate) type LookupTable = Vec<[f32; 256]>;

/// Builds the value table for `channels` channels: `p / 255` normalised by `normalize` if given.
///
/// # Errors
/// [`Error::Invalid`] if `normalize` doesn't give one mean and one std per channel, or a std is not
/// a positive finite number, or a mean is not finite.
pub(crate) fn lookup_table(normalize: Option<&Normalize>, channels: usize) -> Result<LookupTable> {
    let unit = |p: usize| p as f32 / 255.0;
    let Some(Normalize { mean, std }) = normalize else {
        return Ok(vec![std::array::from_fn(unit); channels]);
    };
    if mean.len() != channels || std.len() != channels {
        return Err(Error::Invalid(format!(
            "normalize: {} means and {} stds given but the images have {channels} channel(s)",
            mean.len(),
            std.len()
        )));
    }
    if let Some(bad) = std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(Error::Invalid(format!(
            "normalize: std {bad} is not a positive number (std {std:?})"
        )));
    }
    if let Some(bad) = mean.iter().find(|m| !m.is_finite()) {
        return Err(Error::Invalid(format!(
            "normalize: mean {bad} is not a finite number (mean {mean:?})"
        )));
    }
    Ok(mean
        .iter()
        .zip(std)
        .map(|(&m, &s)| std::array::from_fn(|p| (unit(p) - m) / s))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_normalize_pixels_are_scaled_to_unit_range() {
        let table = lookup_table(None, 2).unwrap();
        assert_eq!(table.len(), 2);
        assert_eq!((table[1][0], table[1][51], table[1][255]), (0.0, 0.2, 1.0));
    }

    #[test]
    fn normalize_applies_per_channel_mean_and_std() {
        let n = Normalize {
            mean: vec![0.5, 0.1307],
            std: vec![0.25, 0.3081],
        };
        let table = lookup_table(Some(&n), 2).unwrap();
        assert_eq!((table[0][0], table[0][255]), (-2.0, 2.0));
        assert_eq!(table[1][0], -0.1307 / 0.3081);
        assert_eq!(table[1][255], (1.0 - 0.1307) / 0.3081);
        assert_eq!(table[1][128], (128.0 / 255.0 - 0.1307) / 0.3081);
    }

    #[test]
    fn from_dataset_uses_the_dataset_statistics() {
        let ds = crate::Dataset::new(
            vec![0, 255, 51, 51],
            vec![0, 0],
            [2, 1, 1],
            vec!["x".into()],
        )
        .unwrap();
        let n = Normalize::from_dataset(&ds);
        assert_eq!((n.mean, n.std), (vec![0.1, 0.6], vec![0.1, 0.4]));
    }

    #[test]
    fn invalid_normalize_is_rejected() {
        let n = Normalize {
            mean: vec![0.5; 3],
            std: vec![0.5; 3],
        };
        let err = lookup_table(Some(&n), 1).unwrap_err().to_string();
        assert!(
            err.contains("3 means and 3 stds given but the images have 1 channel"),
            "{err}"
        );
        let n = Normalize {
            mean: vec![0.5],
            std: vec![0.0],
        };
        let err = lookup_table(Some(&n), 1).unwrap_err().to_string();
        assert!(err.contains("std 0 is not a positive number"), "{err}");
        let n = Normalize {
            mean: vec![f32::NAN],
            std: vec![1.0],
        };
        let err = lookup_table(Some(&n), 1).unwrap_err().to_string();
        assert!(err.contains("mean NaN is not a finite number"), "{err}");
    }
}
