//! Errors of chart drawing.

/// Why a chart could not be drawn or encoded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// plotters refused to draw (e.g. an empty drawing area).
    #[error("drawing the chart: {0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("encoding the chart as PNG: {0}")]
    Encode(String),
}

/// Result of this crate's functions.
pub type Result<T> = std::result::Result<T, Error>;
