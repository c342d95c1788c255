//! A dataset read from a folder of images with one sub-folder per class (torchvision's
//! `ImageFolder`): class names are the sub-folder names in sorted order, images are PNG or JPEG
//! files, converted to RGB (or kept grayscale) and all of one size.

use std::fs;
use std::path::{Path, PathBuf};

use convkit_tensor::limits::{CLASSES, IMAGE_PIXELS};
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits};

use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// What to do with an image that can't be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnCorrupt {
    /// Stop with [`Error::CorruptImage`] naming the file.
    #[default]
    Fail,
    /// Leave it out and list it in [`ImageFolder::skipped`].
    Skip,
}

/// How to read an image folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFolderConfig {
    /// Resize every image to `[height, width]` (bilinear); `None` requires all images to have the
    /// size of the first one.
    pub size: Option<[usize; 2]>,
    /// Load one grayscale channel instead of three RGB ones.
    pub grayscale: bool,
    /// What to do with an undecodable file.
    pub on_corrupt: OnCorrupt,
}

impl Default for ImageFolderConfig {
    fn default() -> Self {
        Self {
            size: None,
            grayscale: false,
            on_corrupt: OnCorrupt::Fail,
        }
    }
}

/// A loaded image folder: the dataset and the files skipped as corrupt, each with its error.
#[derive(Debug)]
pub struct ImageFolder {
    /// The images, labelled by sorted class sub-folder.
    pub dataset: Dataset,
    /// Files left out under [`OnCorrupt::Skip`].
    pub skipped: Vec<Error>,
}

/// File extensions read as images (case-insensitive).
const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

impl ImageFolder {
    /// Reads `root/<class>/<image>` for every class sub-folder (sorted by name) and every PNG or
    /// JPEG file in it (sorted by name); other files are ignored.
    ///
    /// # Errors
    /// [`Error::NotFound`]/[`Error::Io`] if `root` can't be listed; [`Error::Invalid`] if it holds
    /// no class folder or no image, or an image's size differs from the first one's without
    /// `size`; [`Error::CorruptImage`] for an undecodable file under [`OnCorrupt::Fail`].
    pub fn load(root: &Path, config: &ImageFolderConfig) -> Result<ImageFolder> {
        if let Some(size) = config.size.filter(|s| s.contains(&0)) {
            return Err(Error::Invalid(format!(
                "image folder: resize size {size:?} has a zero dimension"
            )));
        }
        if let Some([h, w]) = config.size {
            IMAGE_PIXELS
                .check_product("image folder: resize size", &[h as u64, w as u64])
                .map_err(|e| Error::limit(root, e))?;
        }
        let classes = sorted_entries(root, |p| p.is_dir())?;
        CLASSES
            .check("class sub-folders", classes.len() as u64)
            .map_err(|e| Error::limit(root, e))?;
        if classes.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: no class sub-folders (expected one folder of images per class)",
                root.display()
            )));
        }
        let channels = if config.grayscale { 1 } else { 3 };
        let mut first = None;
        let (mut pixels, mut labels, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
        for (label, class_dir) in classes.iter().enumerate() {
            let files = sorted_entries(class_dir, |p| p.is_file() && is_image(p))?;
            for path in files {
                match decode(&path, config.grayscale, config.size, &mut first) {
                    Ok(image) => {
                        pixels.extend_from_slice(&image);
                        labels.push(label);
                    }
                    Err(err @ Error::CorruptImage { .. })
                        if config.on_corrupt == OnCorrupt::Skip =>
                    {
                        skipped.push(err)
                    }
                    Err(err) => return Err(err),
                }
            }
        }
        let Some([height, width]) = config.size.or(first).filter(|_| !labels.is_empty()) else {
            let undecodable = match skipped.first() {
                Some(first) => format!(" ({} could not be decoded: {first}, ...)", skipped.len()),
                None => String::new(),
            };
            return Err(Error::Invalid(format!(
                "{}: no readable PNG or JPEG image in its class folders{undecodable}",
                root.display()
            )));
        };
        let names = classes
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        let dataset = Dataset::new(pixels, labels, [channels, height, width], names)?;
        Ok(ImageFolder { dataset, skipped })
    }
}

/// The entries of `dir` that pass `keep`, sorted by path.
fn sorted_entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if keep(&path) {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Decodes a PNG or JPEG file (the format is read from its first bytes), checking its width ×
/// height against [`IMAGE_PIXELS`] before the pixels are decoded: a decompression bomb (a small
/// file announcing a huge image) is refused without allocating.
///
/// # Errors
/// [`Error::NotFound`]/[`Error::Io`] if the file can't be read, [`Error::Limit`] for an image
/// above the limit, [`Error::CorruptImage`] if it can't be decoded.
pub fn open_image(path: &Path) -> Result<DynamicImage> {
    let corrupt = |e: ImageError| match e {
        ImageError::IoError(io) => Error::io(path, io),
        other => Error::CorruptImage {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    };
    let mut reader = ImageReader::open(path)
        .and_then(ImageReader::with_guessed_format)
        .map_err(|e| Error::io(path, e))?;
    // The size is checked here, against convkit's limit, so that the message says so; the
    // decoder's own allocation limit applies again to the decoding itself.
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    IMAGE_PIXELS
        .check_product(
            format_args!("a {width}×{height} image"),
            &[width.into(), height.into()],
        )
        .map_err(|e| Error::limit(path, e))?;
    decoder.set_limits(Limits::default()).map_err(corrupt)?;
    DynamicImage::from_decoder(decoder).map_err(corrupt)
}

/// Decodes `path` to CHW bytes: resized to `resize` if given, else required to match `first`
/// (the first image's size, recorded here when still unset).
fn decode(
    path: &Path,
    grayscale: bool,
    resize: Option<[usize; 2]>,
    first: &mut Option<[usize; 2]>,
) -> Result<Vec<u8>> {
    let image = open_image(path)?;
    let own = [image.height() as usize, image.width() as usize];
    let image = match resize {
        Some([h, w]) if own != [h, w] => {
            image.resize_exact(w as u32, h as u32, FilterType::Triangle)
        }
        Some(_) => image,
        None => {
            let [h, w] = *first.get_or_insert(own);
            if own != [h, w] {
                return Err(Error::Invalid(format!(
                    "{}: image is {}x{} but the first image is {h}x{w}; give a size to resize all",
                    path.display(),
                    own[0],
                    own[1]
                )));
            }
            image
        }
    };
    let (hwc, channels) = if grayscale {
        (image.to_luma8().into_raw(), 1)
    } else {
        (image.to_rgb8().into_raw(), 3)
    };
    Ok(hwc_to_chw(&hwc, channels))
}

/// Reorders interleaved pixels (`HWC`) into planes (`CHW`).
pub(crate) fn hwc_to_chw(hwc: &[u8], channels: usize) -> Vec<u8> {
    let plane = hwc.len() / channels;
    let mut chw = vec![0; hwc.len()];
    for (i, pixel) in hwc.chunks_exact(channels).enumerate() {
        for (c, &v) in pixel.iter().enumerate() {
            chw[c * plane + i] = v;
        }
    }
    chw
}
