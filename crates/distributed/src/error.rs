//! Errors of setting up data-parallel training.
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// MPI could not be started.
    #[error("MPI: {0}")]
    Init(String),
    /// The run cannot train data-parallel as configured (the loop's own error).
    #[error(transparent)]
    Train(#[from] convkit_train::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
