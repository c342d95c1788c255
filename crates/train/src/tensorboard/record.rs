//! TFRecord framing: `u64 length (LE) | u32 masked crc32c(length bytes) | data | u32 masked crc32c(data)`.

use std::io::{self, Write};

use super::error::Corruption;

/// Bytes before a record's data: the length and its CRC.
pub(crate) const HEADER_LEN: usize = 12;
const FOOTER_LEN: u64 = 4;

/// CRC32C (Castagnoli) of `bytes`, masked as TFRecord stores it: rotated right by 15 bits, plus a
/// constant, so that a CRC over data that itself holds CRCs is not trivially zero.
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
        .rotate_right(15)
        .wrapping_add(0xa282_ead8)
}

/// Appends one framed record holding `data`.
pub fn write_record(out: &mut impl Write, data: &[u8]) -> io::Result<()> {
    let length = (data.len() as u64).to_le_bytes();
    out.write_all(&length)?;
    out.write_all(&masked_crc32c(&length).to_le_bytes())?;
    out.write_all(data)?;
    out.write_all(&masked_crc32c(data).to_le_bytes())
}

/// Walks the records of a whole file's bytes, checking framing and both CRCs. Yields each record's
/// start offset with its data, or with what is wrong (and then stops).
pub(crate) struct Records<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Records<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Records<'a> {
        Records { bytes, pos: 0 }
    }

    fn record(&self) -> Result<&'a [u8], Corruption> {
        let rest = &self.bytes[self.pos..];
        let truncated = |needed: u64| Corruption::Truncated {
            needed,
            available: rest.len() as u64,
        };
        if rest.len() < HEADER_LEN {
            return Err(truncated(HEADER_LEN as u64));
        }
        let (length_bytes, stored) = (&rest[..8], read_u32(&rest[8..12]));
        let computed = masked_crc32c(length_bytes);
        if stored != computed {
            return Err(Corruption::BadLengthCrc { stored, computed });
        }
        let length = u64::from_le_bytes(length_bytes.try_into().expect("8 bytes"));
        let body = &rest[HEADER_LEN..];
        let data_len = match usize::try_from(length) {
            Ok(n)
                if n.checked_add(FOOTER_LEN as usize)
                    .is_some_and(|total| total <= body.len()) =>
            {
                n
            }
            _ => {
                return Err(truncated(
                    (HEADER_LEN as u64)
                        .saturating_add(length)
                        .saturating_add(FOOTER_LEN),
                ))
            }
        };
        let data = &body[..data_len];
        let (stored, computed) = (read_u32(&body[data_len..data_len + 4]), masked_crc32c(data));
        if stored != computed {
            return Err(Corruption::BadDataCrc { stored, computed });
        }
        Ok(data)
    }
}

fn read_u32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes.try_into().expect("4 bytes"))
}

impl<'a> Iterator for Records<'a> {
    type Item = (usize, Result<&'a [u8], Corruption>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let start = self.pos;
        let record = self.record();
        self.pos = match record {
            Ok(data) => start + HEADER_LEN + data.len() + FOOTER_LEN as usize,
            Err(_) => self.bytes.len(),
        };
        Some((start, record))
    }
}
