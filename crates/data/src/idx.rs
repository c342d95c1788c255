//! Reader for IDX files, the format of MNIST and Fashion-MNIST, plain or gzip-compressed.
//!
//! All integers are big-endian u32 with no padding. An image file has the magic number `0x00000803`
//! (2051: u8 data, 3 dimensions), then the number of images, rows and columns, then `count * rows *
//! cols` pixel bytes. A label file has the magic number `0x00000801` (2049: u8 data, 1 dimension),
//! then the number of labels, then one byte per label. Gzip is recognised by its magic bytes `1f
//! 8b`, whatever the file is called.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use crate::error::{Error, Result};
use convkit_tensor::limits::{DATASET_BYTES, IMAGE_PIXELS};

/// The most a deflate stream can expand (1032:1, reached by long runs of one byte): a gzip file
/// cannot hold more than this many times its own size.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Magic number of an IDX file of u8 images (3-D).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of u8 labels (1-D).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The contents of an IDX image file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows of each image.
    pub rows: usize,
    /// Columns of each image.
    pub cols: usize,
    /// `count * rows * cols` bytes, image by image, each row-major.
    pub pixels: Vec<u8>,
}

/// Reads an IDX image file (magic 2051), plain or gzip-compressed.
///
/// # Errors
/// [`Error::NotFound`] or [`Error::Io`] if the file can't be read, [`Error::Gzip`] if it is corrupt
/// gzip, [`Error::BadMagic`] if it is not an IDX image file, [`Error::BadDimensions`] for zero rows
/// or columns, a size that overflows or that no file of its length can hold, [`Error::Limit`] for
/// an image or a file content above convkit's limits (checked before reading), and
/// [`Error::Truncated`] / [`Error::TrailingBytes`] if its length doesn't match its header.
pub fn read_images(path: &Path) -> Result<IdxImages> {
    let mut file = IdxFile::open(path, "image", 16)?;
    file.read_magic(IMAGES_MAGIC)?;
    let [count, rows, cols] = file.read_u32s::<3>()?;
    let described = format!("header says {count} images of {rows}x{cols}");
    if rows == 0 || cols == 0 {
        return Err(Error::BadDimensions {
            path: path.to_path_buf(),
            what: format!("{described}; rows and columns must be at least 1"),
        });
    }
    IMAGE_PIXELS
        .check_product("IDX header: one image", &[rows.into(), cols.into()])
        .map_err(|e| Error::limit(path, e))?;
    let payload = (u64::from(rows) * u64::from(cols))
        .checked_mul(u64::from(count))
        .ok_or_else(|| Error::BadDimensions {
            path: path.to_path_buf(),
            what: format!("{described}: more bytes than a file can hold"),
        })?;
    let pixels = file.read_payload(payload, &described)?;
    Ok(IdxImages {
        count: count as usize,
        rows: rows as usize,
        cols: cols as usize,
        pixels,
    })
}

/// Reads an IDX label file (magic 2049), plain or gzip-compressed, returning one byte per label.
///
/// # Errors
/// As [`read_images`], except that a label file has no dimensions to reject.
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    let mut file = IdxFile::open(path, "label", 8)?;
    file.read_magic(LABELS_MAGIC)?;
    let [count] = file.read_u32s::<1>()?;
    file.read_payload(u64::from(count), &format!("header says {count} labels"))
}

/// An open IDX file: a byte stream (decompressed if gzip) that counts the header bytes it has
/// handed out.
struct IdxFile<'a> {
    path: &'a Path,
    reader: Box<dyn Read + 'a>,
    gzip: bool,
    /// The file's length on disk (compressed, if gzip).
    file_len: u64,
    /// `"image"` or `"label"`, for messages.
    kind: &'static str,
    /// The length of this kind's header.
    header_len: u64,
    /// Header bytes read so far.
    consumed: u64,
}

impl<'a> IdxFile<'a> {
    fn open(path: &'a Path, kind: &'static str, header_len: u64) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut buffered = BufReader::new(file);
        let gzip = buffered
            .fill_buf()
            .map_err(|e| Error::io(path, e))?
            .starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn Read> = if gzip {
            Box::new(MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        Ok(Self {
            path,
            reader,
            gzip,
            file_len,
            kind,
            header_len,
            consumed: 0,
        })
    }

    fn read_error(&self, error: io::Error) -> Error {
        if self.gzip {
            Error::Gzip {
                path: self.path.to_path_buf(),
                error,
            }
        } else {
            Error::io(self.path, error)
        }
    }

    /// Checks, before reading, that the file can hold `len` payload bytes at all and that they
    /// are within [`DATASET_BYTES`], so that a lying header reserves nothing.
    fn check_payload(&self, len: u64, expected: &str) -> Result<()> {
        DATASET_BYTES
            .check(format_args!("IDX header: {expected}"), len)
            .map_err(|e| Error::limit(self.path, e))?;
        if self.gzip {
            let most = self.file_len.saturating_mul(MAX_DEFLATE_RATIO);
            if len > most {
                return Err(Error::BadDimensions {
                    path: self.path.to_path_buf(),
                    what: format!(
                        "{expected}, more than a gzip file of {} bytes can decompress to",
                        self.file_len
                    ),
                });
            }
        } else if self.consumed + len > self.file_len {
            return Err(Error::Truncated {
                path: self.path.to_path_buf(),
                expected: expected.to_string(),
                held: self.file_len,
                gzip: false,
            });
        }
        Ok(())
    }

    /// Reads up to `len` bytes, fewer only if the stream ends first.
    fn read_up_to(&mut self, len: u64, buf: &mut Vec<u8>) -> Result<u64> {
        let got = (&mut self.reader)
            .take(len)
            .read_to_end(buf)
            .map_err(|e| self.read_error(e))?;
        Ok(got as u64)
    }

    /// Reads `N` big-endian u32 header fields.
    fn read_u32s<const N: usize>(&mut self) -> Result<[u32; N]> {
        let mut bytes = Vec::with_capacity(4 * N);
        let got = self.read_up_to(4 * N as u64, &mut bytes)?;
        self.consumed += got;
        if got < 4 * N as u64 {
            return Err(Error::Truncated {
                path: self.path.to_path_buf(),
                expected: format!(
                    "an IDX {} file needs {} header bytes",
                    self.kind, self.header_len
                ),
                held: self.consumed,
                gzip: self.gzip,
            });
        }
        Ok(std::array::from_fn(|i| {
            u32::from_be_bytes([0, 1, 2, 3].map(|j| bytes[4 * i + j]))
        }))
    }

    fn read_magic(&mut self, expected: u32) -> Result<()> {
        let [found] = self.read_u32s::<1>()?;
        if found != expected {
            return Err(Error::BadMagic {
                path: self.path.to_path_buf(),
                expected,
                found,
            });
        }
        Ok(())
    }

    /// Reads exactly `len` payload bytes and checks that nothing follows them.
    fn read_payload(&mut self, len: u64, described: &str) -> Result<Vec<u8>> {
        let expected = format!("{described} ({} bytes)", self.consumed + len);
        self.check_payload(len, &expected)?;
        // Allocate in one go for the usual sizes, but don't let a corrupt header reserve an absurd
        // buffer up front: past this limit the vector grows only as real bytes arrive.
        const EAGER_LIMIT: u64 = 1 << 28;
        let mut payload = Vec::with_capacity(len.min(EAGER_LIMIT) as usize);
        let got = self.read_up_to(len, &mut payload)?;
        if got < len {
            return Err(Error::Truncated {
                path: self.path.to_path_buf(),
                expected,
                held: self.consumed + got,
                gzip: self.gzip,
            });
        }
        let trailing =
            io::copy(&mut self.reader, &mut io::sink()).map_err(|e| self.read_error(e))?;
        if trailing > 0 {
            return Err(Error::TrailingBytes {
                path: self.path.to_path_buf(),
                expected,
                held: self.consumed + len + trailing,
                gzip: self.gzip,
            });
        }
        Ok(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{gzip, images_file, labels_file, write};

    /// `read(path)`'s error message, checked to start with the path.
    fn error<T: std::fmt::Debug>(path: &Path, read: fn(&Path) -> Result<T>) -> String {
        let message = read(path).unwrap_err().to_string();
        assert!(
            message.starts_with(&path.display().to_string()),
            "message doesn't name the path: {message}"
        );
        message
    }

    #[test]
    fn reads_plain_and_gzip_files_alike() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..12).collect();
        let raw = images_file(2, 2, 3, &pixels);
        // Detection is by content: a gzip file without the suffix and a plain one with it both
        // read.
        for path in [
            write(dir.path(), "plain.gz", &raw),
            write(dir.path(), "compressed", &gzip(&raw)),
        ] {
            assert_eq!(
                read_images(&path).unwrap(),
                IdxImages {
                    count: 2,
                    rows: 2,
                    cols: 3,
                    pixels: pixels.clone()
                }
            );
        }
        let path = write(dir.path(), "labels.gz", &gzip(&labels_file(&[3, 1, 4])));
        assert_eq!(read_labels(&path).unwrap(), vec![3, 1, 4]);
    }

    #[test]
    fn truncated_payload_is_reported_with_expected_and_actual_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let raw = images_file(60000, 28, 28, &[0; 1184]);
        let path = write(dir.path(), "train-images-idx3-ubyte", &raw);
        let message = error(&path, read_images);
        assert!(
            message.ends_with(
                "truncated: header says 60000 images of 28x28 (47040016 bytes) but file holds 1200 bytes"
            ),
            "{message}"
        );
        // Compressed, the same header is refused by the file's size before any decompression.
        let path = write(dir.path(), "images.gz", &gzip(&raw));
        let message = error(&path, read_images);
        assert!(message.contains("can decompress to"), "{message}");
        let raw = images_file(2, 28, 28, &[0; 784]);
        let path = write(dir.path(), "short.gz", &gzip(&raw));
        let message = error(&path, read_images);
        assert!(
            message.ends_with("but file holds 800 bytes after decompression"),
            "{message}"
        );
    }

    #[test]
    fn truncated_header_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "labels", &labels_file(&[])[..6]);
        let message = error(&path, read_labels);
        assert!(
            message.contains(
                "truncated: an IDX label file needs 8 header bytes but file holds 6 bytes"
            ),
            "{message}"
        );
        let path = write(dir.path(), "empty", &[]);
        let message = error(&path, read_images);
        assert!(
            message.contains(
                "truncated: an IDX image file needs 16 header bytes but file holds 0 bytes"
            ),
            "{message}"
        );
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut raw = labels_file(&[1, 2, 3]);
        raw.extend_from_slice(&[0; 5]);
        let path = write(dir.path(), "labels", &raw);
        let message = error(&path, read_labels);
        assert!(
            message.contains(
                "trailing bytes: header says 3 labels (11 bytes) but file holds 16 bytes"
            ),
            "{message}"
        );
    }

    #[test]
    fn wrong_magic_is_reported_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "labels", &labels_file(&[1]));
        let message = error(&path, read_images);
        assert!(
            message.contains(
                "wrong magic number 0x00000801 (IDX labels: u8, 1-D); expected 0x00000803 (IDX images: u8, 3-D)"
            ),
            "{message}"
        );
        let path = write(dir.path(), "text", b"hello, world\n");
        let message = error(&path, read_labels);
        assert!(
            message.contains("wrong magic number 0x68656c6c (not an IDX file)"),
            "{message}"
        );
    }

    #[test]
    fn zero_dimensions_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "images", &images_file(1, 0, 28, &[]));
        let message = error(&path, read_images);
        assert!(
            message.contains("bad dimensions: header says 1 images of 0x28"),
            "{message}"
        );
    }

    #[test]
    fn headers_beyond_the_limits_or_the_file_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        // 100000×100000 images: above the pixel limit of one image.
        let path = write(
            dir.path(),
            "huge",
            &images_file(1, 100_000, 100_000, &[0; 16]),
        );
        let message = error(&path, read_images);
        assert!(
            message.contains("10000000000 pixels in one image is above convkit's limit")
                && message.contains("CONVKIT_MAX_IMAGE_PIXELS"),
            "{message}"
        );
        // 4 billion images of 28×28: above the dataset limit.
        let path = write(dir.path(), "many", &images_file(u32::MAX, 28, 28, &[]));
        let message = error(&path, read_images);
        assert!(message.contains("bytes in one dataset file"), "{message}");
        // 4 billion labels in an 8-byte file: truncated, found without reading.
        let mut raw = labels_file(&[]);
        raw[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        let message = error(&write(dir.path(), "labels", &raw), read_labels);
        assert!(
            message.ends_with("(4294967303 bytes) but file holds 8 bytes"),
            "{message}"
        );
        // A gzip file of a few bytes cannot hold 10 million labels.
        let mut raw = labels_file(&[1, 2]);
        raw[4..8].copy_from_slice(&10_000_000u32.to_be_bytes());
        let message = error(&write(dir.path(), "small.gz", &gzip(&raw)), read_labels);
        assert!(
            message.contains("more than a gzip file of") && message.contains("can decompress to"),
            "{message}"
        );
    }

    #[test]
    fn missing_file_suggests_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nothing-here.gz");
        let message = error(&path, read_labels);
        assert!(
            message.contains("file not found") && message.contains("--data-dir"),
            "{message}"
        );
    }

    #[test]
    fn corrupt_gzip_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut compressed = gzip(&labels_file(&[7; 1000]));
        let middle = compressed.len() / 2;
        compressed[middle..].iter_mut().for_each(|b| *b ^= 0x5a);
        let path = write(dir.path(), "labels.gz", &compressed);
        let message = error(&path, read_labels);
        assert!(message.contains("corrupt gzip data"), "{message}");
        // A gzip stream cut short is corrupt too, whatever the IDX header inside it says.
        let compressed = gzip(&labels_file(&[7; 1000]));
        let path = write(dir.path(), "cut.gz", &compressed[..compressed.len() - 10]);
        let message = error(&path, read_labels);
        assert!(message.contains("corrupt gzip data"), "{message}");
    }
}
