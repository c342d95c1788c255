//! Reading and writing a [`TrainConfig`] as TOML.
use super::TrainConfig;
use crate::error::{Error, Result};
use std::path::Path;

impl TrainConfig {
    /// The configuration as TOML text.
    ///
    /// # Errors
    /// [`Error::Config`] if a value has no TOML form (a non-UTF-8 path).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| Error::config("config", e.to_string()))
    }

    /// Parses TOML text; keys left out take their defaults, unknown keys are errors.
    ///
    /// # Errors
    /// [`Error::Config`] naming the key and line that cannot be read.
    pub fn from_toml(text: &str) -> Result<TrainConfig> {
        toml::from_str(text).map_err(|e| Error::config("config", e.to_string()))
    }

    /// Reads a `config.toml` (a run folder's, or one written by hand).
    ///
    /// # Errors
    /// [`Error::Io`] naming a file that cannot be read, [`Error::Format`] naming the file and key
    /// that cannot be parsed.
    pub fn load(path: &Path) -> Result<TrainConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        toml::from_str(&text).map_err(|e| Error::Format {
            path: path.to_path_buf(),
            msg: format!("not a valid training configuration: {e}"),
        })
    }

    /// Writes the configuration to `path` atomically and durably.
    ///
    /// # Errors
    /// [`Error::Nn`] wrapping the I/O error that names the path.
    pub fn save(&self, path: &Path) -> Result<()> {
        convkit_nn::io::write_atomic(path, self.to_toml()?.as_bytes())?;
        Ok(())
    }
}
