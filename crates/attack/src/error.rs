//! Every user-reachable failure of the attack crate.
use thiserror::Error;

/// Errors returned by attacks, the classifier wrapper and the robustness evaluation.
#[derive(Debug, Error)]
pub enum Error {
    /// A tensor op failed (shapes that don't fit, ...): the message names the op and shapes.
    #[error(transparent)]
    Tensor(#[from] convkit_tensor::Error),
    /// The model's forward pass failed.
    #[error(transparent)]
    Nn(#[from] convkit_nn::Error),
    /// No per-channel mean and std: the attack could not put the model's normalisation inside it.
    #[error(
        "the model has no normalisation metadata (mean and std per channel): attacks work on \
         pixels in [0, 1] and need it to normalise inside the model"
    )]
    MissingNormalization,
    /// A mean/std that can't be used (lengths differ, a std that is not positive, ...).
    #[error("invalid normalisation: {0}")]
    InvalidNormalization(String),
    /// Images given to an attack that are not pixels in [0, 1] (typically already normalised).
    #[error(
        "{attack}: images must be pixels in [0, 1] (the model's normalisation is applied inside), \
         got values in [{min}, {max}]; undo the normalisation first (Classifier::pixels_from_normalized)"
    )]
    NotPixels {
        attack: &'static str,
        min: f32,
        max: f32,
    },
    /// Images whose layout doesn't fit the classifier or the labels.
    #[error("{attack}: {msg}")]
    Shape { attack: &'static str, msg: String },
    /// A negative or non-finite ε.
    #[error("{attack}: ε must be a finite number ≥ 0, got {eps}")]
    InvalidEpsilon { attack: &'static str, eps: f32 },
    /// Another attack setting that can never work.
    #[error("{attack}: invalid {setting}: {msg}")]
    InvalidSetting {
        attack: &'static str,
        setting: &'static str,
        msg: String,
    },
    /// An attack name that no attack has.
    #[error("unknown attack '{name}' (available: {available})")]
    UnknownAttack { name: String, available: String },
    /// An attack produced an image outside [0, 1] or outside its ε-ball: a bug, never a result.
    #[error("{attack} at ε = {eps}: {msg}")]
    BrokenInvariant {
        attack: String,
        eps: f32,
        msg: String,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

/// `eps` itself when it is a finite number ≥ 0, else [`Error::InvalidEpsilon`].
pub(crate) fn check_eps(attack: &'static str, eps: f32) -> Result<f32> {
    if eps.is_finite() && eps >= 0.0 {
        Ok(eps)
    } else {
        Err(Error::InvalidEpsilon { attack, eps })
    }
}

/// `value` when it is a finite number > 0, else [`Error::InvalidSetting`] naming `setting`.
pub(crate) fn check_positive(
    attack: &'static str,
    setting: &'static str,
    value: f32,
) -> Result<f32> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::InvalidSetting {
            attack,
            setting,
            msg: format!("must be a finite number > 0, got {value}"),
        })
    }
}

/// `value` when it is a finite number ≥ 0, else [`Error::InvalidSetting`] naming `setting`.
pub(crate) fn check_non_negative(
    attack: &'static str,
    setting: &'static str,
    value: f32,
) -> Result<f32> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Error::InvalidSetting {
            attack,
            setting,
            msg: format!("must be a finite number ≥ 0, got {value}"),
        })
    }
}

/// `value` when it is at least 1, else [`Error::InvalidSetting`] naming `setting`.
pub(crate) fn check_count(
    attack: &'static str,
    setting: &'static str,
    value: usize,
) -> Result<usize> {
    if value >= 1 {
        Ok(value)
    } else {
        Err(Error::InvalidSetting {
            attack,
            setting,
            msg: "must be at least 1".to_string(),
        })
    }
}
