//! Turning maps and images into pictures: colour maps, de-normalised images, heat-map overlays,
//! captioned grids with a colour scale, PNG files.
mod colormap;
mod grid;
mod scatter;

pub use colormap::Colormap;
pub use convkit_plot::{draw_text, text_width, GLYPH};
pub use grid::{colorbar, hstack, Grid};
pub use scatter::{class_color, scatter};

use crate::error::{Error, Result};
use convkit_data::Normalize;
use convkit_tensor::Tensor;
use image::{Rgb, RgbImage};
use std::path::Path;

/// A normalised `[C, H, W]` image (1 or 3 channels) back in 8-bit colour: `(v·std + mean)·255`.
///
/// # Errors
/// A tensor that is not `[1 or 3, H, W]`, or a normalisation with another channel count.
pub fn denormalize(image: &Tensor, normalize: &Normalize) -> Result<RgbImage> {
    let &[c, h, w] = image.dims() else {
        return Err(shape_error(image));
    };
    if !(c == 1 || c == 3) {
        return Err(shape_error(image));
    }
    if normalize.mean.len() != c || normalize.std.len() != c {
        return Err(Error::Channels {
            expected: normalize.mean.len(),
            got: c,
        });
    }
    let data = image.data();
    let plane = h * w;
    let value = |ch: usize, p: usize| {
        let v = data[ch * plane + p] * normalize.std[ch] + normalize.mean[ch];
        (v * 255.0).round().clamp(0.0, 255.0) as u8
    };
    Ok(RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let p = y as usize * w + x as usize;
        if c == 1 {
            let v = value(0, p);
            Rgb([v, v, v])
        } else {
            Rgb([value(0, p), value(1, p), value(2, p)])
        }
    }))
}

fn shape_error(image: &Tensor) -> Error {
    Error::Shape {
        what: "picture",
        expected: "a [1 or 3, H, W] image",
        dims: image.dims().to_vec(),
    }
}

/// A `[h, w]` map in colour, `range` mapped onto the colour map's ends (values outside clamp).
///
/// # Errors
/// A tensor that is not 2-D.
pub fn map_image(map: &Tensor, colormap: Colormap, (lo, hi): (f32, f32)) -> Result<RgbImage> {
    let &[h, w] = map.dims() else {
        return Err(Error::Shape {
            what: "picture",
            expected: "a [h, w] map",
            dims: map.dims().to_vec(),
        });
    };
    let data = map.data();
    let span = if hi > lo { hi - lo } else { 1.0 };
    Ok(RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let v = data[y as usize * w + x as usize];
        Rgb(colormap.color((v - lo) / span))
    }))
}

/// The smallest and largest value of a map.
pub fn value_range(values: &[f32]) -> (f32, f32) {
    values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// `base` with the heat map `heat` (same size, any scale: shown from 0 to its maximum) blended
/// over it with opacity `alpha`.
///
/// # Errors
/// A heat map that is not `[H, W]` of the base's size.
pub fn overlay(base: &RgbImage, heat: &Tensor, alpha: f32) -> Result<RgbImage> {
    let (w, h) = base.dimensions();
    if heat.dims() != [h as usize, w as usize] {
        return Err(Error::Shape {
            what: "overlay",
            expected: "a heat map of the image's size",
            dims: heat.dims().to_vec(),
        });
    }
    let (_, hi) = value_range(&heat.data());
    let colored = map_image(heat, Colormap::Heat, (0.0, hi.max(f32::MIN_POSITIVE)))?;
    Ok(RgbImage::from_fn(w, h, |x, y| {
        let (b, c) = (base.get_pixel(x, y).0, colored.get_pixel(x, y).0);
        Rgb(std::array::from_fn(|i| {
            (f32::from(b[i]) * (1.0 - alpha) + f32::from(c[i]) * alpha).round() as u8
        }))
    }))
}

/// Writes a PNG.
///
/// # Errors
/// [`Error::Write`] naming the path.
pub fn save_png(picture: &RgbImage, path: &Path) -> Result<()> {
    picture.save(path).map_err(|e| Error::Write {
        path: path.display().to_string(),
        msg: e.to_string(),
    })
}
