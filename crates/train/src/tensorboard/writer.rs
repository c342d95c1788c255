//! [`EventWriter`]: one new event file per writer, records appended through a buffer.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Cursor, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use image::codecs::png::{PngDecoder, PngEncoder};
use image::{ExtendedColorType, ImageDecoder, ImageEncoder};

use super::error::TensorBoardError;
use super::event::{Event, EventKind, Image, SummaryValue, Value, FILE_VERSION};
use super::histogram::Histogram;
use super::record::write_record;

/// Writes one TensorBoard event file. Records are buffered: they reach the file on [`flush`]
/// (which also fsyncs) and on drop, so call `flush` where TensorBoard should see progress (each epoch).
///
/// [`flush`]: EventWriter::flush
pub struct EventWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl EventWriter {
    /// Creates a new event file in `dir` (created if missing) and writes its `file_version` event.
    /// The name, `events.out.tfevents.<unix seconds>.<hostname>.<pid>.<counter>`, never repeats a file
    /// already there, so several writers (threads or processes) can share a folder.
    ///
    /// # Errors
    /// [`TensorBoardError::Io`] naming the folder or file that could not be created or written.
    pub fn create(dir: &Path) -> Result<EventWriter, TensorBoardError> {
        std::fs::create_dir_all(dir).map_err(|source| TensorBoardError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let (path, file) = create_unique_file(dir)?;
        let mut writer = EventWriter {
            path,
            out: BufWriter::new(file),
        };
        let version = Event {
            wall_time: now(),
            step: 0,
            what: EventKind::FileVersion(FILE_VERSION.to_owned()),
        };
        writer.write_event(&version)?;
        // Out at once, so the file is recognisable as an event file before the first summary.
        writer
            .out
            .flush()
            .map_err(|source| writer.io_error(source))?;
        Ok(writer)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A scalar at `step`. TensorBoard stores scalars as f32, so `value` is rounded to f32.
    pub fn add_scalar(&mut self, tag: &str, step: u64, value: f64) -> Result<(), TensorBoardError> {
        self.add_value(tag, step, Value::Scalar(value as f32))
    }

    /// An image from raw pixels, stored as PNG. `pixels` is row-major with `channels` interleaved
    /// bytes per pixel: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA.
    ///
    /// # Errors
    /// [`TensorBoardError::InvalidImage`] for another channel count, a zero or over-large side, or a
    /// `pixels` length other than `height × width × channels`.
    pub fn add_image(
        &mut self,
        tag: &str,
        step: u64,
        pixels: &[u8],
        height: u32,
        width: u32,
        channels: u8,
    ) -> Result<(), TensorBoardError> {
        let invalid = |problem: String| TensorBoardError::InvalidImage {
            tag: tag.to_owned(),
            problem,
        };
        let color = match channels {
            1 => ExtendedColorType::L8,
            2 => ExtendedColorType::La8,
            3 => ExtendedColorType::Rgb8,
            4 => ExtendedColorType::Rgba8,
            _ => {
                return Err(invalid(format!(
                    "{channels} channels; expected 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA)"
                )))
            }
        };
        let (height_i32, width_i32) = image_sides(height, width).map_err(invalid)?;
        let expected = u64::from(height) * u64::from(width) * u64::from(channels);
        if pixels.len() as u64 != expected {
            return Err(invalid(format!(
                "{} bytes of pixels, but height × width × channels = {height} × {width} × {channels} = {expected}",
                pixels.len()
            )));
        }
        let mut png = Vec::new();
        PngEncoder::new(&mut png)
            .write_image(pixels, width, height, color)
            .map_err(|source| TensorBoardError::Png {
                tag: tag.to_owned(),
                source,
            })?;
        let image = Image {
            height: height_i32,
            width: width_i32,
            colorspace: i32::from(channels),
            png,
        };
        self.add_value(tag, step, Value::Image(image))
    }

    /// An image already encoded as PNG (a curves plot read from disk, say); its size and colorspace
    /// are read from the PNG header.
    ///
    /// # Errors
    /// [`TensorBoardError::Png`] if `png` does not start with a valid PNG header.
    pub fn add_png(&mut self, tag: &str, step: u64, png: &[u8]) -> Result<(), TensorBoardError> {
        let decoder =
            PngDecoder::new(Cursor::new(png)).map_err(|source| TensorBoardError::Png {
                tag: tag.to_owned(),
                source,
            })?;
        let (width, height) = decoder.dimensions();
        let channels = decoder.color_type().channel_count();
        let (height, width) =
            image_sides(height, width).map_err(|problem| TensorBoardError::InvalidImage {
                tag: tag.to_owned(),
                problem,
            })?;
        let image = Image {
            height,
            width,
            colorspace: i32::from(channels),
            png: png.to_vec(),
        };
        self.add_value(tag, step, Value::Image(image))
    }

    /// A histogram of `values` in TensorFlow's default exponential buckets (see
    /// [`Histogram::from_values`]), which TensorBoard's histogram and distribution views expect.
    ///
    /// # Errors
    /// [`TensorBoardError::InvalidHistogram`] for no values or a non-finite one.
    pub fn add_histogram(
        &mut self,
        tag: &str,
        step: u64,
        values: &[f32],
    ) -> Result<(), TensorBoardError> {
        let histogram = Histogram::from_values(values).map_err(|source| {
            TensorBoardError::InvalidHistogram {
                tag: tag.to_owned(),
                source,
            }
        })?;
        self.add_value(tag, step, Value::Histogram(histogram))
    }

    /// Appends any event as one record, with the wall time and step it carries.
    pub fn write_event(&mut self, event: &Event) -> Result<(), TensorBoardError> {
        write_record(&mut self.out, &event.encode()).map_err(|source| self.io_error(source))
    }

    /// Hands the buffered records to the OS and fsyncs the file.
    pub fn flush(&mut self) -> Result<(), TensorBoardError> {
        self.out
            .flush()
            .and_then(|()| self.out.get_ref().sync_data())
            .map_err(|source| self.io_error(source))
    }

    fn add_value(&mut self, tag: &str, step: u64, value: Value) -> Result<(), TensorBoardError> {
        let step = i64::try_from(step).map_err(|_| TensorBoardError::StepTooLarge {
            tag: tag.to_owned(),
            step,
        })?;
        let summary = vec![SummaryValue {
            tag: tag.to_owned(),
            value,
        }];
        self.write_event(&Event {
            wall_time: now(),
            step,
            what: EventKind::Summary(summary),
        })
    }

    fn io_error(&self, source: io::Error) -> TensorBoardError {
        TensorBoardError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        // Drop cannot report a failure; callers who need to know call `flush` first.
        let _ = self.flush();
    }
}

/// `Summary.Image` holds int32 sides.
fn image_sides(height: u32, width: u32) -> Result<(i32, i32), String> {
    match (i32::try_from(height), i32::try_from(width)) {
        (Ok(h), Ok(w)) if h > 0 && w > 0 => Ok((h, w)),
        _ => Err(format!(
            "{height} × {width} pixels; each side must be in 1..={}",
            i32::MAX
        )),
    }
}

/// Seconds since the Unix epoch (0 for a clock set before it).
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

/// Opens a file name no one has used in `dir`: the pid separates processes, the counter writers
/// within one, and `create_new` skips a name left by an earlier process that had the same pid.
fn create_unique_file(dir: &Path) -> Result<(PathBuf, File), TensorBoardError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let host: String = gethostname::gethostname()
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    loop {
        let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "events.out.tfevents.{seconds}.{host}.{}.{counter}",
            std::process::id()
        );
        let path = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(TensorBoardError::Io { path, source }),
        }
    }
}
