//! The largest sizes convkit accepts from files and flags, all in one place.
//!
//! A size that comes from outside (a file header, checkpoint metadata, a flag) is checked against
//! its limit *before* anything is allocated for it, so that a hostile or mistyped value gives an
//! error that names the value, the limit and how to raise it, instead of an aborted allocation or
//! a machine brought to a crawl. Each limit but the thread count can be raised for one run with
//! its environment variable (`CONVKIT_MAX_CLASSES=200000 convkit ...`).
//!
//! ```
//! use convkit_tensor::limits::CLASSES;
//! assert!(CLASSES.check("classes", 1000).is_ok());
//! let err = CLASSES.check("classes", 1_000_000_000_000).unwrap_err().to_string();
//! assert!(err.contains("1000000000000") && err.contains("CONVKIT_MAX_CLASSES"), "{err}");
//! ```
use std::fmt;

/// One limit: its default value and the environment variable that overrides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// What is limited, in words ("classes", "bytes in one tensor").
    pub what: &'static str,
    /// The environment variable that raises (or lowers) the limit.
    pub env: &'static str,
    pub default: u64,
}

/// Classes of a classifier: from checkpoint metadata, `--classes`, an image folder's sub-folders.
/// ImageNet-21k has 21,841.
pub const CLASSES: Limit = Limit {
    what: "classes",
    env: "CONVKIT_MAX_CLASSES",
    default: 100_000,
};

/// Channels of a model's input images.
pub const INPUT_CHANNELS: Limit = Limit {
    what: "input channels",
    env: "CONVKIT_MAX_INPUT_CHANNELS",
    default: 1024,
};

/// Height × width of a model's input (2048×2048): a forward pass of the largest zoo models at this
/// size already needs several GiB of activations.
pub const INPUT_PIXELS: Limit = Limit {
    what: "input pixels (height × width)",
    env: "CONVKIT_MAX_INPUT_PIXELS",
    default: 1 << 22,
};

/// Bytes of one tensor allocated from a size given outside the program (a layer's weight, an
/// input batch): VGG's largest weight takes 411 MB.
pub const TENSOR_BYTES: Limit = Limit {
    what: "bytes in one tensor",
    env: "CONVKIT_MAX_TENSOR_BYTES",
    default: 1 << 30,
};

/// Pixels of one decoded image file (8192×8192; PIL's decompression-bomb guard is similar), or
/// of an image convkit draws.
pub const IMAGE_PIXELS: Limit = Limit {
    what: "pixels in one image",
    env: "CONVKIT_MAX_IMAGE_PIXELS",
    default: 1 << 26,
};

/// Bytes of one dataset file's content after decompression (MNIST's training images take 47 MB,
/// CIFAR-10's training batches 154 MB).
pub const DATASET_BYTES: Limit = Limit {
    what: "bytes in one dataset file",
    env: "CONVKIT_MAX_DATASET_BYTES",
    default: 8 << 30,
};

/// A size above its limit, or a limit's environment variable that is not a number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "{context}: {value} {what} is above convkit's limit of {limit}; set {env} to raise it"
    )]
    Above {
        /// Where the value comes from ("checkpoint metadata", "--classes").
        context: String,
        value: u64,
        what: &'static str,
        limit: u64,
        env: &'static str,
    },
    #[error("{context}: {value} threads is above the limit of {limit} ({THREADS_PER_CORE} per core on {cores} cores)")]
    Threads {
        context: String,
        value: u64,
        limit: u64,
        cores: u64,
    },
    #[error("{context}: must be at least 1")]
    Zero { context: String },
    #[error("{env}={text:?} is not a whole number (it sets convkit's limit of {what})")]
    BadEnv {
        env: &'static str,
        text: String,
        what: &'static str,
    },
}

impl Limit {
    /// The limit in force: the environment variable's value if set, else the default.
    ///
    /// # Errors
    /// [`LimitError::BadEnv`] when the variable is set to something other than a whole number.
    pub fn value(&self) -> Result<u64, LimitError> {
        match std::env::var(self.env) {
            Ok(text) => text
                .trim()
                .replace('_', "")
                .parse()
                .map_err(|_| LimitError::BadEnv {
                    env: self.env,
                    text,
                    what: self.what,
                }),
            Err(_) => Ok(self.default),
        }
    }

    /// Checks `value` (from `context`, named in the error) against the limit.
    ///
    /// # Errors
    /// [`LimitError::Above`] with the value, the limit and its variable.
    pub fn check(&self, context: impl fmt::Display, value: u64) -> Result<(), LimitError> {
        let limit = self.value()?;
        if value > limit {
            return Err(LimitError::Above {
                context: context.to_string(),
                value,
                what: self.what,
                limit,
                env: self.env,
            });
        }
        Ok(())
    }

    /// Checks a product of sizes (`numel × 4` for an f32 tensor, `h × w` for an image); a product
    /// that overflows u64 is above every limit.
    ///
    /// # Errors
    /// As [`Limit::check`], with the product (saturated at `u64::MAX`).
    pub fn check_product(
        &self,
        context: impl fmt::Display,
        factors: &[u64],
    ) -> Result<(), LimitError> {
        let product = factors
            .iter()
            .try_fold(1u64, |p, &f| p.checked_mul(f))
            .unwrap_or(u64::MAX);
        self.check(context, product)
    }
}

/// Checks that an f32 tensor of `dims` fits [`TENSOR_BYTES`].
///
/// # Errors
/// As [`Limit::check`], the context naming the shape.
pub fn check_tensor(context: impl fmt::Display, dims: &[usize]) -> Result<(), LimitError> {
    let mut factors: Vec<u64> = dims.iter().map(|&d| d as u64).collect();
    factors.push(4);
    TENSOR_BYTES.check_product(format_args!("{context} (shape {dims:?}, f32)"), &factors)
}

/// Threads allowed per core: more only adds switching and memory.
pub const THREADS_PER_CORE: u64 = 8;

/// The cores this process may run on (1 when unknown).
pub fn cores() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// Checks a thread count given by a flag or a setting: at least 1 and at most
/// [`THREADS_PER_CORE`] per core.
///
/// # Errors
/// [`LimitError::Zero`] or [`LimitError::Threads`] naming `context`.
pub fn check_threads(context: impl fmt::Display, threads: usize) -> Result<(), LimitError> {
    let (cores, value) = (cores(), threads as u64);
    if threads == 0 {
        return Err(LimitError::Zero {
            context: context.to_string(),
        });
    }
    let limit = THREADS_PER_CORE * cores;
    if value > limit {
        return Err(LimitError::Threads {
            context: context.to_string(),
            value,
            limit,
            cores,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_value_the_limit_and_the_variable() {
        let err = CLASSES
            .check("checkpoint metadata", 10u64.pow(12))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "checkpoint metadata: 1000000000000 classes is above convkit's limit of 100000; \
             set CONVKIT_MAX_CLASSES to raise it"
        );
        assert!(CLASSES.check("x", 100_000).is_ok());
    }

    #[test]
    fn products_that_overflow_are_above_every_limit() {
        let err = IMAGE_PIXELS
            .check_product("image", &[u64::MAX, 3])
            .unwrap_err();
        assert!(err.to_string().contains(&u64::MAX.to_string()), "{err}");
        assert!(IMAGE_PIXELS.check_product("image", &[8192, 8192]).is_ok());
    }

    #[test]
    fn tensors_are_measured_in_f32_bytes() {
        assert!(check_tensor("w", &[1 << 28]).is_ok());
        let err = check_tensor("fc1 weight", &[120, 1 << 28]).unwrap_err();
        assert!(
            err.to_string()
                .contains("fc1 weight (shape [120, 268435456], f32)"),
            "{err}"
        );
    }

    #[test]
    fn thread_counts_are_positive_and_bounded_by_the_cores() {
        assert!(matches!(
            check_threads("--threads", 0),
            Err(LimitError::Zero { .. })
        ));
        assert!(check_threads("--threads", 1).is_ok());
        let too_many = (THREADS_PER_CORE * cores() + 1) as usize;
        let err = check_threads("--threads", too_many)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("{too_many} threads")), "{err}");
    }
}
