//! Just enough of the zip format to read `torch.save` archives: the central directory (zip64
//! included) and stored (uncompressed) entries, which is all PyTorch writes.

/// The stored entries of a zip archive held in memory.
pub(crate) struct ZipArchive<'a> {
    bytes: &'a [u8],
    /// Name, offset of the data, length of the data.
    entries: Vec<(String, usize, usize)>,
}

const EOCD: u32 = 0x0605_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_EOCD: u32 = 0x0606_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;
/// A 32-bit field set to this means "see the zip64 record".
const MAX32: u64 = 0xFFFF_FFFF;

fn u16_at(b: &[u8], at: usize) -> Result<u64, String> {
    b.get(at..at + 2)
        .map(|s| u64::from(u16::from_le_bytes([s[0], s[1]])))
        .ok_or_else(|| "truncated zip archive".into())
}

fn u32_at(b: &[u8], at: usize) -> Result<u64, String> {
    b.get(at..at + 4)
        .map(|s| u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
        .ok_or_else(|| "truncated zip archive".into())
}

fn u64_at(b: &[u8], at: usize) -> Result<u64, String> {
    b.get(at..at + 8)
        .map(|s| u64::from_le_bytes(s.try_into().expect("8 bytes")))
        .ok_or_else(|| "truncated zip archive".into())
}

fn usize_of(v: u64) -> Result<usize, String> {
    usize::try_from(v).map_err(|_| "zip offset out of range".to_string())
}

impl<'a> ZipArchive<'a> {
    /// Reads the central directory.
    ///
    /// # Errors
    /// Not a zip archive, truncated, or an entry that is compressed.
    pub fn new(bytes: &'a [u8]) -> Result<ZipArchive<'a>, String> {
        let eocd = (0..bytes.len().saturating_sub(21))
            .rev()
            .take(65_536 + 22)
            .find(|&i| u32_at(bytes, i) == Ok(u64::from(EOCD)))
            .ok_or("no zip end-of-central-directory record")?;
        let (mut count, mut offset) = (u16_at(bytes, eocd + 10)?, u32_at(bytes, eocd + 16)?);
        if count == 0xFFFF || offset == MAX32 {
            let locator = eocd.checked_sub(20).ok_or("truncated zip64 locator")?;
            if u32_at(bytes, locator)? != u64::from(ZIP64_LOCATOR) {
                return Err("missing zip64 end-of-central-directory locator".into());
            }
            let record = usize_of(u64_at(bytes, locator + 8)?)?;
            if u32_at(bytes, record)? != u64::from(ZIP64_EOCD) {
                return Err("bad zip64 end-of-central-directory record".into());
            }
            count = u64_at(bytes, record + 32)?;
            offset = u64_at(bytes, record + 48)?;
        }
        let mut at = usize_of(offset)?;
        let mut entries = Vec::new();
        for _ in 0..count {
            if u32_at(bytes, at)? != u64::from(CENTRAL) {
                return Err(format!("bad central directory entry at byte {at}"));
            }
            let method = u16_at(bytes, at + 10)?;
            let mut size = u32_at(bytes, at + 24)?;
            let (name_len, extra_len) = (
                usize_of(u16_at(bytes, at + 28)?)?,
                usize_of(u16_at(bytes, at + 30)?)?,
            );
            let comment_len = usize_of(u16_at(bytes, at + 32)?)?;
            let mut local = u32_at(bytes, at + 42)?;
            let name_bytes = bytes
                .get(at + 46..at + 46 + name_len)
                .ok_or("truncated zip entry name")?;
            let name = String::from_utf8_lossy(name_bytes).into_owned();
            let extra = bytes
                .get(at + 46 + name_len..at + 46 + name_len + extra_len)
                .ok_or("truncated zip extra field")?;
            (size, local) = zip64_sizes(extra, size, u32_at(bytes, at + 20)?, local)?;
            if method != 0 {
                return Err(format!(
                    "entry {name} is compressed (method {method}); torch.save stores entries uncompressed"
                ));
            }
            let local = usize_of(local)?;
            if u32_at(bytes, local)? != u64::from(LOCAL) {
                return Err(format!("bad local header for entry {name}"));
            }
            let data = local
                + 30
                + usize_of(u16_at(bytes, local + 26)?)?
                + usize_of(u16_at(bytes, local + 28)?)?;
            let size = usize_of(size)?;
            if data.checked_add(size).is_none_or(|end| end > bytes.len()) {
                return Err(format!("entry {name} runs past the end of the file"));
            }
            entries.push((name, data, size));
            at += 46 + name_len + extra_len + comment_len;
        }
        Ok(ZipArchive { bytes, entries })
    }

    /// Entry names, in directory order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _, _)| n.as_str())
    }

    /// The bytes of entry `name`.
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.entries
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|&(_, at, len)| &self.bytes[at..at + len])
    }
}

/// The uncompressed size and local header offset, from the zip64 extra field (id 1) where the
/// 32-bit fields say so; the field lists only the values that overflowed, in this order:
/// uncompressed size, compressed size, local header offset.
fn zip64_sizes(extra: &[u8], size: u64, compressed: u64, local: u64) -> Result<(u64, u64), String> {
    if size != MAX32 && compressed != MAX32 && local != MAX32 {
        return Ok((size, local));
    }
    let mut at = 0;
    while at + 4 <= extra.len() {
        let (id, len) = (u16_at(extra, at)?, usize_of(u16_at(extra, at + 2)?)?);
        if id == 1 {
            let mut field = at + 4;
            let mut next = |v: u64| -> Result<u64, String> {
                if v != MAX32 {
                    return Ok(v);
                }
                let value = u64_at(extra, field)?;
                field += 8;
                Ok(value)
            };
            let size = next(size)?;
            next(compressed)?;
            return Ok((size, next(local)?));
        }
        at += 4 + len;
    }
    Err("zip64 sizes without a zip64 extra field".into())
}
