//! The little of the protobuf wire format that event files use, by hand: varints, fixed32/fixed64
//! and length-delimited fields (<https://protobuf.dev/programming-guides/encoding/>).
//!
//! Writing follows proto3: a field with implicit presence is left out when it holds its default (zero,
//! empty), which is what protobuf's own serialisers do; fields inside a `oneof` are always written.

use super::error::{ProtoError, ProtoProblem};

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// Builds one message's bytes, fields in the order the caller writes them.
#[derive(Default)]
pub(crate) struct MessageWriter {
    bytes: Vec<u8>,
}

impl MessageWriter {
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire_type));
    }

    /// `double` with implicit presence: skipped when its bits are zero (+0.0; -0.0 is written).
    pub(crate) fn double(&mut self, field: u32, value: f64) {
        if value.to_bits() != 0 {
            self.key(field, FIXED64);
            self.bytes.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// `int64` with implicit presence; negative values take ten bytes (two's complement).
    pub(crate) fn int64(&mut self, field: u32, value: i64) {
        if value != 0 {
            self.key(field, VARINT);
            self.varint(value as u64);
        }
    }

    /// `int32` with implicit presence; negatives are sign-extended to 64 bits as protobuf does.
    pub(crate) fn int32(&mut self, field: u32, value: i32) {
        self.int64(field, i64::from(value));
    }

    /// `string`/`bytes` with implicit presence: skipped when empty.
    pub(crate) fn bytes(&mut self, field: u32, value: &[u8]) {
        if !value.is_empty() {
            self.present_bytes(field, value);
        }
    }

    /// `packed repeated double`: skipped when empty.
    pub(crate) fn packed_doubles(&mut self, field: u32, values: &[f64]) {
        if !values.is_empty() {
            self.key(field, LEN);
            self.varint(8 * values.len() as u64);
            for value in values {
                self.bytes.extend_from_slice(&value.to_le_bytes());
            }
        }
    }

    /// A `float` member of a `oneof` (or any field with explicit presence): always written.
    pub(crate) fn present_float(&mut self, field: u32, value: f32) {
        self.key(field, FIXED32);
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// A length-delimited field with explicit presence (a `oneof` member, a sub-message, a repeated
    /// element): always written, even when empty.
    pub(crate) fn present_bytes(&mut self, field: u32, value: &[u8]) {
        self.key(field, LEN);
        self.varint(value.len() as u64);
        self.bytes.extend_from_slice(value);
    }
}

/// One field's payload as it sits on the wire.
#[derive(Clone, Copy)]
enum Payload<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8], usize),
}

impl Payload<'_> {
    fn wire_name(&self) -> &'static str {
        match self {
            Payload::Varint(_) => "varint",
            Payload::Fixed64(_) => "fixed64",
            Payload::Fixed32(_) => "fixed32",
            Payload::Len(..) => "length-delimited",
        }
    }
}

/// One decoded field: its number, payload, and where its key starts (for error messages).
pub(crate) struct Field<'a> {
    pub(crate) number: u32,
    payload: Payload<'a>,
    offset: usize,
}

impl<'a> Field<'a> {
    fn wrong_type(&self, expected: &'static str) -> ProtoError {
        let problem = ProtoProblem::WrongWireType {
            field: self.number,
            expected,
            found: self.payload.wire_name(),
        };
        ProtoError {
            offset: self.offset,
            problem,
        }
    }

    pub(crate) fn double(&self) -> Result<f64, ProtoError> {
        match self.payload {
            Payload::Fixed64(bits) => Ok(f64::from_bits(bits)),
            _ => Err(self.wrong_type("fixed64")),
        }
    }

    pub(crate) fn float(&self) -> Result<f32, ProtoError> {
        match self.payload {
            Payload::Fixed32(bits) => Ok(f32::from_bits(bits)),
            _ => Err(self.wrong_type("fixed32")),
        }
    }

    pub(crate) fn int64(&self) -> Result<i64, ProtoError> {
        match self.payload {
            Payload::Varint(value) => Ok(value as i64),
            _ => Err(self.wrong_type("varint")),
        }
    }

    /// Protobuf's int32 decoding: the low 32 bits of the varint.
    pub(crate) fn int32(&self) -> Result<i32, ProtoError> {
        self.int64().map(|value| value as i32)
    }

    pub(crate) fn bytes(&self) -> Result<&'a [u8], ProtoError> {
        match self.payload {
            Payload::Len(bytes, _) => Ok(bytes),
            _ => Err(self.wrong_type("length-delimited")),
        }
    }

    pub(crate) fn string(&self) -> Result<String, ProtoError> {
        let bytes = self.bytes()?;
        let not_utf8 = || ProtoError {
            offset: self.offset,
            problem: ProtoProblem::NotUtf8 { field: self.number },
        };
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| not_utf8())
    }

    /// The fields of a sub-message, with offsets still counted from the start of the outer data.
    pub(crate) fn message(&self) -> Result<FieldReader<'a>, ProtoError> {
        match self.payload {
            Payload::Len(bytes, start) => Ok(FieldReader {
                bytes,
                pos: 0,
                base: start,
            }),
            _ => Err(self.wrong_type("length-delimited")),
        }
    }

    /// Appends a `repeated double`, accepting the packed form and, as parsers must, single elements.
    pub(crate) fn extend_doubles(&self, out: &mut Vec<f64>) -> Result<(), ProtoError> {
        match self.payload {
            Payload::Fixed64(bits) => out.push(f64::from_bits(bits)),
            Payload::Len(bytes, _) if bytes.len() % 8 != 0 => {
                let problem = ProtoProblem::PackedLength {
                    field: self.number,
                    len: bytes.len(),
                };
                return Err(ProtoError {
                    offset: self.offset,
                    problem,
                });
            }
            Payload::Len(bytes, _) => {
                out.extend(
                    bytes
                        .chunks_exact(8)
                        .map(|c| f64::from_le_bytes(c.try_into().expect("8-byte chunk"))),
                );
            }
            _ => return Err(self.wrong_type("fixed64 or packed")),
        }
        Ok(())
    }
}

/// Walks the fields of one message; yields an error (and then stops) on malformed input.
pub(crate) struct FieldReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Offset of `bytes[0]` within the top-level data, so errors point into the record.
    base: usize,
}

impl<'a> FieldReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> FieldReader<'a> {
        FieldReader {
            bytes,
            pos: 0,
            base: 0,
        }
    }

    fn error(&self, problem: ProtoProblem) -> ProtoError {
        ProtoError {
            offset: self.base + self.pos,
            problem,
        }
    }

    fn varint(&mut self) -> Result<u64, ProtoError> {
        let mut value = 0u64;
        for (i, &byte) in self.bytes[self.pos..].iter().enumerate() {
            // The tenth byte may only carry the 64th bit.
            if i == 9 && byte > 1 {
                return Err(self.error(ProtoProblem::VarintOverflow));
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.pos += i + 1;
                return Ok(value);
            }
        }
        Err(self.error(ProtoProblem::TruncatedVarint))
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], ProtoError> {
        let available = self.bytes.len() - self.pos;
        match usize::try_from(len) {
            Ok(n) if n <= available => {
                let taken = &self.bytes[self.pos..self.pos + n];
                self.pos += n;
                Ok(taken)
            }
            _ => Err(self.error(ProtoProblem::Truncated {
                needed: len,
                available,
            })),
        }
    }

    fn field(&mut self) -> Result<Field<'a>, ProtoError> {
        let offset = self.base + self.pos;
        let key = self.varint()?;
        let number = match u32::try_from(key >> 3) {
            Ok(n) if (1..1 << 29).contains(&n) => n,
            _ => {
                return Err(ProtoError {
                    offset,
                    problem: ProtoProblem::BadFieldNumber(key >> 3),
                })
            }
        };
        let payload = match (key & 7) as u8 {
            VARINT => Payload::Varint(self.varint()?),
            FIXED64 => Payload::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().expect("8 bytes"),
            )),
            FIXED32 => Payload::Fixed32(u32::from_le_bytes(
                self.take(4)?.try_into().expect("4 bytes"),
            )),
            LEN => {
                let len = self.varint()?;
                let start = self.base + self.pos;
                Payload::Len(self.take(len)?, start)
            }
            other => {
                return Err(ProtoError {
                    offset,
                    problem: ProtoProblem::UnsupportedWireType(other),
                })
            }
        };
        Ok(Field {
            number,
            payload,
            offset,
        })
    }
}

impl<'a> Iterator for FieldReader<'a> {
    type Item = Result<Field<'a>, ProtoError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let field = self.field();
        if field.is_err() {
            self.pos = self.bytes.len();
        }
        Some(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded_varint(value: u64) -> Vec<u8> {
        let mut writer = MessageWriter::default();
        writer.varint(value);
        writer.into_bytes()
    }

    #[test]
    fn varints_round_trip_at_every_length_boundary() {
        for shift in 0..64 {
            for value in [1u64 << shift, (1u64 << shift) - 1, u64::MAX >> shift] {
                let bytes = encoded_varint(value);
                assert_eq!(
                    bytes.len(),
                    (64 - value.leading_zeros() as usize).div_ceil(7).max(1)
                );
                let mut reader = FieldReader::new(&bytes);
                assert_eq!(reader.varint().unwrap(), value);
                assert_eq!(reader.pos, bytes.len());
            }
        }
        // The protobuf encoding guide's example: 150 = 0x96 0x01.
        assert_eq!(encoded_varint(150), [0x96, 0x01]);
    }

    #[test]
    fn overlong_and_unterminated_varints_are_errors() {
        let mut overflow = vec![0xff; 9];
        overflow.push(0x02);
        assert_eq!(
            FieldReader::new(&overflow).varint().unwrap_err().problem,
            ProtoProblem::VarintOverflow
        );
        let unterminated = [0x80, 0x80];
        assert_eq!(
            FieldReader::new(&unterminated)
                .varint()
                .unwrap_err()
                .problem,
            ProtoProblem::TruncatedVarint
        );
    }

    #[test]
    fn implicit_presence_skips_defaults_and_oneof_members_are_always_written() {
        let mut writer = MessageWriter::default();
        writer.double(1, 0.0);
        writer.int64(2, 0);
        writer.bytes(3, b"");
        writer.packed_doubles(6, &[]);
        assert!(writer.into_bytes().is_empty());
        let mut writer = MessageWriter::default();
        writer.present_float(2, 0.0);
        writer.present_bytes(5, b"");
        assert_eq!(writer.into_bytes(), [0x15, 0, 0, 0, 0, 0x2a, 0]);
    }

    #[test]
    fn nested_errors_point_into_the_outer_data() {
        // Field 5 (length-delimited, 3 bytes) holding field 1 as a varint cut short.
        let data = [0x2a, 0x03, 0x08, 0x80, 0x80];
        let outer = FieldReader::new(&data).next().unwrap().unwrap();
        let inner_error = outer.message().unwrap().next().unwrap().err().unwrap();
        assert_eq!(
            inner_error,
            ProtoError {
                offset: 3,
                problem: ProtoProblem::TruncatedVarint
            }
        );
    }
}
