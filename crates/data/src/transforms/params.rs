//! Parameters given with a transform's short name, `name:key=value:key=value`
//! (`crop:padding=2:size=24`, `flip:p=0.3`), and the checks of a pipeline against the images it
//! will see, so that a bad setting is rejected before training starts.

use super::{check, Transform};
use crate::error::{Error, Result};

/// The parameter names each transform takes, for error messages.
fn known(t: &Transform) -> &'static str {
    match t {
        Transform::RandomCrop(_) => "padding, size, fill, mode (constant or reflect)",
        Transform::RandomResizedCrop(_) => "size, scale (LOW-HIGH)",
        Transform::HorizontalFlip(_) => "p",
        Transform::AlternatingFlip(_) => "none",
        Transform::Affine(_) => "degrees, translate, scale (LOW-HIGH), shear, fill",
        Transform::ColorJitter(_) => "brightness, contrast, saturation",
        Transform::Cutout(_) => "size, fill",
        Transform::RandAugment(_) => "n, m",
        Transform::PcaLighting(_) => "std",
    }
}

fn number<T: std::str::FromStr>(name: &str, key: &str, value: &str) -> Result<T> {
    value.parse().map_err(|_| {
        Error::Invalid(format!(
            "transform '{name}': {key}={value} is not a valid {}",
            if std::any::type_name::<T>() == "usize" {
                "whole number"
            } else {
                "number"
            }
        ))
    })
}

/// `N` (square) or `HxW`.
fn size(name: &str, value: &str) -> Result<[usize; 2]> {
    match value.split_once('x') {
        Some((h, w)) => Ok([number(name, "size", h)?, number(name, "size", w)?]),
        None => {
            let n = number(name, "size", value)?;
            Ok([n, n])
        }
    }
}

/// `LOW-HIGH`.
fn range(name: &str, key: &str, value: &str) -> Result<[f32; 2]> {
    let (lo, hi) = value.split_once('-').ok_or_else(|| {
        Error::Invalid(format!(
            "transform '{name}': {key} takes LOW-HIGH, got '{value}'"
        ))
    })?;
    Ok([number(name, key, lo)?, number(name, key, hi)?])
}

impl Transform {
    /// Parses `name[:key=value]...` into the named transform with those parameters set.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown name or parameter, a value that doesn't parse, or
    /// parameters [`Transform::validate`] rejects.
    pub fn parse(item: &str) -> Result<Transform> {
        let mut parts = item.split(':');
        let name = parts.next().unwrap_or_default().trim();
        let mut t = Transform::from_name(name)?;
        for part in parts {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                Error::Invalid(format!(
                    "transform '{name}': expected key=value after ':', got '{part}'"
                ))
            })?;
            t.set(name, key.trim(), value.trim())?;
        }
        t.validate()?;
        Ok(t)
    }

    fn set(&mut self, name: &str, key: &str, value: &str) -> Result<()> {
        match (&mut *self, key) {
            (Transform::RandomCrop(t), "padding") => t.padding = number(name, key, value)?,
            (Transform::RandomCrop(t), "size") => t.size = Some(size(name, value)?),
            (Transform::RandomCrop(t), "fill") => t.fill = number(name, key, value)?,
            (Transform::RandomCrop(t), "mode") => {
                t.reflect = match value {
                    "reflect" => true,
                    "constant" => false,
                    other => {
                        return Err(Error::Invalid(format!(
                            "transform '{name}': mode is constant or reflect, got '{other}'"
                        )))
                    }
                }
            }
            (Transform::RandomResizedCrop(t), "size") => t.size = size(name, value)?,
            (Transform::RandomResizedCrop(t), "scale") => t.scale = range(name, key, value)?,
            (Transform::HorizontalFlip(t), "p") => t.p = number(name, key, value)?,
            (Transform::Affine(t), "degrees") => t.degrees = number(name, key, value)?,
            (Transform::Affine(t), "translate") => t.translate = [number(name, key, value)?; 2],
            (Transform::Affine(t), "scale") => t.scale = range(name, key, value)?,
            (Transform::Affine(t), "shear") => t.shear = number(name, key, value)?,
            (Transform::Affine(t), "fill") => t.fill = number(name, key, value)?,
            (Transform::ColorJitter(t), "brightness") => t.brightness = number(name, key, value)?,
            (Transform::ColorJitter(t), "contrast") => t.contrast = number(name, key, value)?,
            (Transform::ColorJitter(t), "saturation") => t.saturation = number(name, key, value)?,
            (Transform::Cutout(t), "size") => t.size = number(name, key, value)?,
            (Transform::Cutout(t), "fill") => t.fill = number(name, key, value)?,
            (Transform::RandAugment(t), "n") => t.n = number(name, key, value)?,
            (Transform::RandAugment(t), "m") => t.m = number(name, key, value)?,
            (Transform::PcaLighting(t), "std") => t.alpha_std = number(name, key, value)?,
            (t, _) => {
                return Err(Error::Invalid(format!(
                    "transform '{name}': unknown parameter '{key}' (known: {})",
                    known(t)
                )))
            }
        }
        Ok(())
    }

    /// Checks the transform against images of `[channels, height, width]` (what it gets after
    /// the transforms before it).
    ///
    /// # Errors
    /// [`Error::Invalid`]: a crop whose padding could leave it without a single image pixel, or
    /// larger than the padded image; a cutout that always erases the whole image; PCA colour noise on images
    /// without 3 channels (it would silently do nothing).
    pub fn check_input(&self, [channels, height, width]: [usize; 3]) -> Result<()> {
        let image = format!("{height}x{width} images");
        match self {
            Transform::RandomCrop(t) => {
                let [h, w] = t.size.unwrap_or([height, width]);
                check(t.padding < h.min(w), "random crop", || {
                    format!("padding {} is too large for a {h}x{w} crop (it must be smaller than the crop, or a crop could hold nothing but padding)", t.padding)
                })?;
                check(
                    !t.reflect || t.padding < height.min(width),
                    "random crop",
                    || format!("reflect padding {} needs {image} larger than it", t.padding),
                )?;
                check(
                    h <= height + 2 * t.padding && w <= width + 2 * t.padding,
                    "random crop",
                    || format!("a {h}x{w} crop does not fit in the padded {image}"),
                )
            }
            Transform::Cutout(t) => {
                // The square is centred on a random pixel: rows c − s/2 .. c − s/2 + s.
                let covers_all = |len: usize| t.size / 2 + 1 >= len && t.size - t.size / 2 >= len;
                check(!(covers_all(height) && covers_all(width)), "cutout", || {
                    format!(
                        "size {} erases the whole of {image} wherever it lands",
                        t.size
                    )
                })
            }
            Transform::PcaLighting(_) => check(channels == 3, "PCA colour", || {
                format!("needs RGB images, these have {channels} channel(s)")
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::{Pipeline, RandomCrop};

    fn error(spec: &str) -> String {
        Pipeline::parse(spec).unwrap_err().to_string()
    }

    #[test]
    fn parameters_after_the_name_are_set() {
        let pipeline =
            Pipeline::parse("crop:padding=2:size=24x20, flip:p=0.25,randaugment:n=3").unwrap();
        assert_eq!(
            pipeline.transforms()[0],
            Transform::RandomCrop(RandomCrop {
                size: Some([24, 20]),
                padding: 2,
                fill: 0.0,
                reflect: false,
            })
        );
        let reflect = Pipeline::parse("crop:padding=2:mode=reflect").unwrap();
        assert!(matches!(reflect.transforms()[0], Transform::RandomCrop(c) if c.reflect));
        assert!(error("crop:mode=wrap").contains("mode is constant or reflect, got 'wrap'"));
        assert!(matches!(pipeline.transforms()[1], Transform::HorizontalFlip(f) if f.p == 0.25));
        assert!(matches!(pipeline.transforms()[2], Transform::RandAugment(r) if r.n == 3));
        assert_eq!(pipeline.output_size([28, 28]), [24, 20]);
    }

    #[test]
    fn bad_names_parameters_and_values_are_rejected_with_what_is_wrong() {
        assert!(error("crop,sparkle").contains("unknown transform 'sparkle'"));
        let e = error("flip:q=1");
        assert!(
            e.contains("unknown parameter 'q'") && e.contains("known: p"),
            "{e}"
        );
        assert!(error("flip:p=1.5").contains("probability must be in [0, 1], got 1.5"));
        assert!(error("crop:padding=-1").contains("padding=-1 is not a valid whole number"));
        assert!(error("crop:padding").contains("expected key=value"));
        assert!(error("scale:scale=0.9").contains("LOW-HIGH"));
        assert!(error("rotate:degrees=-5").contains("degrees"));
    }

    #[test]
    fn a_pipeline_is_checked_against_the_images_it_gets() {
        let check = |spec: &str, dims| Pipeline::parse(spec).unwrap().check_input(dims);
        assert!(check("crop,flip,cutout,pca", [3, 32, 32]).is_ok());
        let e = check("crop:padding=40", [1, 28, 28])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("padding 40 is too large for a 28x28 crop"),
            "{e}"
        );
        let e = check("crop:size=40", [1, 28, 28]).unwrap_err().to_string();
        assert!(e.contains("does not fit"), "{e}");
        // The cutout sees the crop's output.
        assert!(check("crop:size=8:padding=2,cutout:size=14", [3, 32, 32]).is_ok());
        let e = check("crop:size=8:padding=2,cutout:size=16", [3, 32, 32])
            .unwrap_err()
            .to_string();
        assert!(e.contains("erases the whole of 8x8 images"), "{e}");
        let e = check("pca", [1, 28, 28]).unwrap_err().to_string();
        assert!(e.contains("needs RGB images"), "{e}");
    }
}
