//! Reading user images for `predict`: decode, convert to the model's channels, resize, normalise.
use convkit_data::{open_image, Normalize};
use image::imageops::FilterType;
use std::path::Path;

/// How a model expects its input images.
pub struct InputFormat {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub normalize: Normalize,
    /// Swap dark and light (MNIST digits are light on dark; photos of ink on paper are the reverse).
    pub invert: bool,
}

/// Decodes a PNG/JPEG and returns its `[C, H, W]` pixels, normalised as the model was trained.
///
/// # Errors
/// When the file cannot be read or decoded, or announces more pixels than convkit's limit (the
/// message names the path), or the model wants a channel count other than 1 or 3.
pub fn load_image(path: &Path, format: &InputFormat) -> anyhow::Result<Vec<f32>> {
    let img = open_image(path)?;
    let (w, h) = (format.width as u32, format.height as u32);
    let img = if img.width() != w || img.height() != h {
        img.resize_exact(w, h, FilterType::Triangle)
    } else {
        img
    };
    let planes: Vec<Vec<u8>> = match format.channels {
        1 => vec![img.to_luma8().into_raw()],
        3 => {
            let rgb = img.to_rgb8().into_raw();
            (0..3)
                .map(|c| rgb.iter().skip(c).step_by(3).copied().collect())
                .collect()
        }
        c => anyhow::bail!("models with {c} input channels cannot take images"),
    };
    let mut out = Vec::with_capacity(format.channels * format.height * format.width);
    for (c, plane) in planes.iter().enumerate() {
        let (mean, std) = (format.normalize.mean[c], format.normalize.std[c]);
        out.extend(plane.iter().map(|&p| {
            let v = p as f32 / 255.0;
            let v = if format.invert { 1.0 - v } else { v };
            (v - mean) / std
        }));
    }
    Ok(out)
}
