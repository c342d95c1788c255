//! TensorBoard event files, written and read back without TensorFlow.
//!
//! An event file, named `events.out.tfevents.<unix seconds>.<hostname>.<pid>.<counter>`, is a TFRecord
//! stream: each record is `u64 length (LE) | u32 masked CRC32C of those 8 bytes | data | u32 masked CRC32C
//! of data`, and each record's data is one serialized `tensorboard.Event` protobuf (field numbers from
//! tensorboard/compat/proto/{event,summary,histogram}.proto). The first event of a file carries
//! `file_version = "brain.Event:2"`; the others carry a `Summary` with one scalar, image or histogram.
//!
//! ```no_run
//! # fn main() -> Result<(), convkit_train::tensorboard::TensorBoardError> {
//! use convkit_train::tensorboard::{read_events, EventWriter};
//! let mut writer = EventWriter::create(std::path::Path::new("runs/lenet"))?;
//! writer.add_scalar("loss/train", 1, 0.42)?;
//! writer.flush()?;
//! let events = read_events(writer.path())?;
//! assert_eq!(events.len(), 2); // the file_version event and the scalar
//! # Ok(())
//! # }
//! ```

mod error;
mod event;
mod histogram;
mod proto;
mod reader;
mod record;
mod writer;

pub use error::{Corruption, HistogramInputError, ProtoError, ProtoProblem, TensorBoardError};
pub use event::{Event, EventKind, Image, SummaryValue, Value, FILE_VERSION};
pub use histogram::{default_bucket_limits, Histogram};
pub use reader::{parse_events, read_events};
pub use record::{masked_crc32c, write_record};
pub use writer::EventWriter;
