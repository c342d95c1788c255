//! What can go wrong writing or reading an event file.

use std::io;
use std::path::PathBuf;

/// Every failure of [`EventWriter`](super::EventWriter) and [`read_events`](super::read_events).
#[derive(Debug, thiserror::Error)]
pub enum TensorBoardError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// `offset` is the byte of the file where the broken record starts.
    #[error("{}: corrupt record at byte {offset}: {problem}", path.display())]
    Corrupt {
        path: PathBuf,
        offset: u64,
        problem: Corruption,
    },
    #[error("image '{tag}': {problem}")]
    InvalidImage { tag: String, problem: String },
    #[error("image '{tag}': cannot encode or read the PNG: {source}")]
    Png {
        tag: String,
        source: image::ImageError,
    },
    #[error("histogram '{tag}': {source}")]
    InvalidHistogram {
        tag: String,
        source: HistogramInputError,
    },
    #[error(
        "'{tag}': step {step} is larger than {}, the largest step an event file holds (int64)",
        i64::MAX
    )]
    StepTooLarge { tag: String, step: u64 },
}

/// What is wrong with one record of an event file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Corruption {
    #[error(
        "truncated: the record needs {needed} bytes from its start but only {available} remain"
    )]
    Truncated { needed: u64, available: u64 },
    #[error("bad length CRC: stored {stored:#010x}, computed {computed:#010x}")]
    BadLengthCrc { stored: u32, computed: u32 },
    #[error("bad data CRC: stored {stored:#010x}, computed {computed:#010x}")]
    BadDataCrc { stored: u32, computed: u32 },
    #[error("bad protobuf: {0}")]
    BadProtobuf(ProtoError),
}

/// A malformed protobuf message; `offset` counts from the start of the record's data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at data byte {offset}: {problem}")]
pub struct ProtoError {
    pub offset: usize,
    pub problem: ProtoProblem,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtoProblem {
    #[error("varint runs past the end of the message")]
    TruncatedVarint,
    #[error("varint longer than 64 bits")]
    VarintOverflow,
    #[error("field number {0} is outside 1..=536870911")]
    BadFieldNumber(u64),
    #[error("wire type {0} is not supported (only 0, 1, 2 and 5)")]
    UnsupportedWireType(u8),
    #[error("field needs {needed} bytes but only {available} remain")]
    Truncated { needed: u64, available: usize },
    #[error("field {field} has wire type {found}, expected {expected}")]
    WrongWireType {
        field: u32,
        expected: &'static str,
        found: &'static str,
    },
    #[error("field {field} is not valid UTF-8")]
    NotUtf8 { field: u32 },
    #[error("packed doubles of field {field}: {len} bytes is not a multiple of 8")]
    PackedLength { field: u32, len: usize },
}

/// Values [`Histogram::from_values`](super::Histogram::from_values) refuses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistogramInputError {
    #[error("no values")]
    Empty,
    #[error("value {index} is {value}; a histogram needs finite values")]
    NonFinite { index: usize, value: f32 },
}
