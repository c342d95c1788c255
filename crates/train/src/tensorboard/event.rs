//! `tensorboard.Event` and the parts of `Summary` convkit writes: the types, their encoding and
//! their decoding. Field numbers are those of tensorboard/compat/proto/{event,summary,histogram}.proto.

use super::error::ProtoError;
use super::histogram::Histogram;
use super::proto::{FieldReader, MessageWriter};

/// The `file_version` of the first event of every file TensorBoard reads today.
pub const FILE_VERSION: &str = "brain.Event:2";

/// One event: when, at which step, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Seconds since the Unix epoch.
    pub wall_time: f64,
    pub step: i64,
    pub what: EventKind,
}

/// The `what` oneof of `tensorboard.Event`.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// The file's first event ([`FILE_VERSION`]).
    FileVersion(String),
    Summary(Vec<SummaryValue>),
    /// A kind convkit does not decode (graph, session log, run metadata), or none. Encodes as nothing.
    Other,
}

/// A `Summary.Value`: a tag and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryValue {
    pub tag: String,
    pub value: Value,
}

/// The `value` oneof of `Summary.Value`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `simple_value`: TensorBoard's scalars are f32.
    Scalar(f32),
    Image(Image),
    Histogram(Histogram),
    /// A kind convkit does not decode (audio, tensor, old-style histogram), or none. Encodes as nothing.
    Other,
}

/// `Summary.Image`: an encoded (PNG) image and its size.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub height: i32,
    pub width: i32,
    /// 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA.
    pub colorspace: i32,
    pub png: Vec<u8>,
}

impl Event {
    /// The serialized `tensorboard.Event`, byte for byte what protobuf's own serialiser writes.
    pub fn encode(&self) -> Vec<u8> {
        let mut event = MessageWriter::default();
        event.double(1, self.wall_time);
        event.int64(2, self.step);
        match &self.what {
            EventKind::FileVersion(version) => event.present_bytes(3, version.as_bytes()),
            EventKind::Summary(values) => {
                let mut summary = MessageWriter::default();
                for value in values {
                    summary.present_bytes(1, &value.encode());
                }
                event.present_bytes(5, &summary.into_bytes());
            }
            EventKind::Other => {}
        }
        event.into_bytes()
    }

    /// Decodes a serialized `tensorboard.Event`; fields convkit does not know are skipped.
    pub fn decode(data: &[u8]) -> Result<Event, ProtoError> {
        let mut event = Event {
            wall_time: 0.0,
            step: 0,
            what: EventKind::Other,
        };
        for field in FieldReader::new(data) {
            let field = field?;
            match field.number {
                1 => event.wall_time = field.double()?,
                2 => event.step = field.int64()?,
                3 => event.what = EventKind::FileVersion(field.string()?),
                5 => {
                    let mut values = Vec::new();
                    for value in field.message()? {
                        let value = value?;
                        if value.number == 1 {
                            values.push(SummaryValue::decode(value.message()?)?);
                        }
                    }
                    event.what = EventKind::Summary(values);
                }
                // The other members of the `what` oneof.
                4 | 6..=9 => event.what = EventKind::Other,
                _ => {}
            }
        }
        Ok(event)
    }
}

impl SummaryValue {
    fn encode(&self) -> Vec<u8> {
        let mut value = MessageWriter::default();
        value.bytes(1, self.tag.as_bytes());
        match &self.value {
            Value::Scalar(scalar) => value.present_float(2, *scalar),
            Value::Image(image) => value.present_bytes(4, &image.encode()),
            Value::Histogram(histogram) => value.present_bytes(5, &encode_histogram(histogram)),
            Value::Other => {}
        }
        value.into_bytes()
    }

    fn decode(fields: FieldReader) -> Result<SummaryValue, ProtoError> {
        let mut decoded = SummaryValue {
            tag: String::new(),
            value: Value::Other,
        };
        for field in fields {
            let field = field?;
            match field.number {
                1 => decoded.tag = field.string()?,
                2 => decoded.value = Value::Scalar(field.float()?),
                4 => decoded.value = Value::Image(Image::decode(field.message()?)?),
                5 => decoded.value = Value::Histogram(decode_histogram(field.message()?)?),
                // The other members of the `value` oneof.
                3 | 6 | 8 => decoded.value = Value::Other,
                _ => {}
            }
        }
        Ok(decoded)
    }
}

impl Image {
    fn encode(&self) -> Vec<u8> {
        let mut image = MessageWriter::default();
        image.int32(1, self.height);
        image.int32(2, self.width);
        image.int32(3, self.colorspace);
        image.bytes(4, &self.png);
        image.into_bytes()
    }

    fn decode(fields: FieldReader) -> Result<Image, ProtoError> {
        let mut image = Image {
            height: 0,
            width: 0,
            colorspace: 0,
            png: Vec::new(),
        };
        for field in fields {
            let field = field?;
            match field.number {
                1 => image.height = field.int32()?,
                2 => image.width = field.int32()?,
                3 => image.colorspace = field.int32()?,
                4 => image.png = field.bytes()?.to_vec(),
                _ => {}
            }
        }
        Ok(image)
    }
}

/// `HistogramProto`.
fn encode_histogram(histogram: &Histogram) -> Vec<u8> {
    let mut proto = MessageWriter::default();
    proto.double(1, histogram.min);
    proto.double(2, histogram.max);
    proto.double(3, histogram.num);
    proto.double(4, histogram.sum);
    proto.double(5, histogram.sum_squares);
    proto.packed_doubles(6, &histogram.bucket_limit);
    proto.packed_doubles(7, &histogram.bucket);
    proto.into_bytes()
}

fn decode_histogram(fields: FieldReader) -> Result<Histogram, ProtoError> {
    let mut histogram = Histogram::default();
    for field in fields {
        let field = field?;
        match field.number {
            1 => histogram.min = field.double()?,
            2 => histogram.max = field.double()?,
            3 => histogram.num = field.double()?,
            4 => histogram.sum = field.double()?,
            5 => histogram.sum_squares = field.double()?,
            6 => field.extend_doubles(&mut histogram.bucket_limit)?,
            7 => field.extend_doubles(&mut histogram.bucket)?,
            _ => {}
        }
    }
    Ok(histogram)
}
