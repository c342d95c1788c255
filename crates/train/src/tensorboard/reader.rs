//! Reading an event file back, every record checked.

use std::path::Path;

use super::error::{Corruption, TensorBoardError};
use super::event::Event;
use super::record::Records;

/// Every event of the file at `path`, in order. The whole file is read into memory.
///
/// # Errors
/// [`TensorBoardError::Io`] if the file cannot be read; [`TensorBoardError::Corrupt`], naming the byte
/// where the first bad record starts, for a truncated record, a bad length or data CRC, or data that
/// is not a valid `Event` protobuf. A file cut exactly between two records reads as the shorter file.
pub fn read_events(path: &Path) -> Result<Vec<Event>, TensorBoardError> {
    let io_error = |source| TensorBoardError::Io {
        path: path.to_owned(),
        source,
    };
    let bytes = std::fs::read(path).map_err(io_error)?;
    parse_events(&bytes).map_err(|(offset, problem)| TensorBoardError::Corrupt {
        path: path.to_owned(),
        offset,
        problem,
    })
}

/// [`read_events`] on bytes already in memory; an error comes with the offset of the bad record.
pub fn parse_events(bytes: &[u8]) -> Result<Vec<Event>, (u64, Corruption)> {
    Records::new(bytes)
        .map(|(offset, record)| {
            let data = record.map_err(|problem| (offset as u64, problem))?;
            Event::decode(data).map_err(|error| (offset as u64, Corruption::BadProtobuf(error)))
        })
        .collect()
}
