//! Per-image transforms and augmentations, applied to f32 pixels in [0, 1] scale before
//! normalisation, plus batch-level mixup, whitening and test-time flip averaging.
//!
//! A [`Transform`] is plain data (its parameters), checked once by [`Transform::validate`] when a
//! pipeline is built, so invalid settings are rejected at start-up; applying it takes the sample's
//! [`Draw`] (`seed, epoch, index`), from which its random generator is derived.

mod affine;
mod color;
mod crop;
mod cutout;
mod draw;
mod eigen;
mod flip;
mod mixup;
mod params;
mod patch_whitening;
mod pca_color;
mod randaugment;
mod tta;
mod whitening;

pub use affine::RandomAffine;
pub use color::ColorJitter;
pub use crop::{RandomCrop, RandomResizedCrop};
pub use cutout::Cutout;
pub use draw::Draw;
pub(crate) use draw::{rng_for, Stream};
pub use flip::{flip_horizontal, AlternatingFlip, HorizontalFlip};
pub use mixup::{mixup, one_hot, smooth_targets};
pub use patch_whitening::patch_whitening_filters;
pub use pca_color::PcaLighting;
pub use randaugment::RandAugment;
pub use tta::{combine_views, Tta, View};
pub use whitening::{Whitening, WhiteningKind};

use rand::Rng;

use crate::error::{Error, Result};
use convkit_tensor::limits::IMAGE_PIXELS;

/// One image: f32 pixels in CHW order, nominally in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// `channels × height × width` values.
    pub data: Vec<f32>,
    /// Channels.
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

impl Image {
    /// An image from u8 pixels (CHW), scaled to [0, 1].
    pub fn from_u8(pixels: &[u8], [channels, height, width]: [usize; 3]) -> Self {
        debug_assert_eq!(pixels.len(), channels * height * width);
        Self {
            data: pixels.iter().map(|&p| f32::from(p) / 255.0).collect(),
            channels,
            height,
            width,
        }
    }

    /// The pixels back as bytes (clamped to [0, 1], rounded).
    pub fn to_u8(&self) -> Vec<u8> {
        self.data
            .iter()
            .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect()
    }

    /// Pixels per channel.
    pub fn plane(&self) -> usize {
        self.height * self.width
    }
}

/// An image transform and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    /// Random crop after zero padding.
    RandomCrop(RandomCrop),
    /// Random scale/aspect crop resized to a fixed size.
    RandomResizedCrop(RandomResizedCrop),
    /// Horizontal flip with a probability.
    HorizontalFlip(HorizontalFlip),
    /// Each image mirrored in every other epoch (airbench's alternating flip).
    AlternatingFlip(AlternatingFlip),
    /// Rotation, translation, scaling and shear as one bilinear warp.
    Affine(RandomAffine),
    /// Brightness, contrast and saturation jitter.
    ColorJitter(ColorJitter),
    /// A square of constant fill at a random place.
    Cutout(Cutout),
    /// `n` random operations at magnitude `m`.
    RandAugment(RandAugment),
    /// AlexNet's PCA colour noise.
    PcaLighting(PcaLighting),
}

impl Transform {
    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the transform and the bad parameter.
    pub fn validate(&self) -> Result<()> {
        match self {
            Transform::RandomCrop(t) => t.validate(),
            Transform::RandomResizedCrop(t) => t.validate(),
            Transform::HorizontalFlip(t) => t.validate(),
            Transform::AlternatingFlip(_) => Ok(()),
            Transform::Affine(t) => t.validate(),
            Transform::ColorJitter(t) => t.validate(),
            Transform::Cutout(t) => t.validate(),
            Transform::RandAugment(t) => t.validate(),
            Transform::PcaLighting(t) => t.validate(),
        }
    }

    /// Applies the transform to `image` of `draw`, drawing its random choices from `rng`.
    pub fn apply<R: Rng>(&self, image: &mut Image, draw: Draw, rng: &mut R) {
        match self {
            Transform::RandomCrop(t) => t.apply(image, rng),
            Transform::RandomResizedCrop(t) => t.apply(image, rng),
            Transform::HorizontalFlip(t) => t.apply(image, rng),
            Transform::AlternatingFlip(t) => t.apply(image, draw),
            Transform::Affine(t) => t.apply(image, rng),
            Transform::ColorJitter(t) => t.apply(image, rng),
            Transform::Cutout(t) => t.apply(image, rng),
            Transform::RandAugment(t) => t.apply(image, rng),
            Transform::PcaLighting(t) => t.apply(image, rng),
        }
    }

    /// The `[height, width]` of the output for an input of `[height, width]`.
    pub fn output_size(&self, size: [usize; 2]) -> [usize; 2] {
        match self {
            Transform::RandomCrop(t) => t.size.unwrap_or(size),
            Transform::RandomResizedCrop(t) => t.size,
            _ => size,
        }
    }

    /// The transform a short name stands for, with the usual CIFAR-sized defaults: `crop`
    /// (32×32 after 4-pixel padding), `resized-crop` (32×32), `flip`, `rotate` (±15°), `translate`
    /// (±10 %), `scale` (0.9–1.1), `shear` (±10°), `affine` (all four), `jitter` (0.4 each),
    /// `cutout` (16 px), `randaugment` (N=2, M=9), `pca` (AlexNet's ImageNet eigenvectors,
    /// std 0.1).
    ///
    /// # Errors
    /// [`Error::Invalid`] listing the known names.
    pub fn from_name(name: &str) -> Result<Transform> {
        let affine = RandomAffine::default();
        Ok(match name {
            "crop" => Transform::RandomCrop(RandomCrop::default()),
            "resized-crop" => Transform::RandomResizedCrop(RandomResizedCrop::default()),
            "flip" => Transform::HorizontalFlip(HorizontalFlip::default()),
            "alt-flip" => Transform::AlternatingFlip(AlternatingFlip),
            "rotate" => Transform::Affine(RandomAffine {
                degrees: 15.0,
                ..affine
            }),
            "translate" => Transform::Affine(RandomAffine {
                translate: [0.1, 0.1],
                ..affine
            }),
            "scale" => Transform::Affine(RandomAffine {
                scale: [0.9, 1.1],
                ..affine
            }),
            "shear" => Transform::Affine(RandomAffine {
                shear: 10.0,
                ..affine
            }),
            "affine" => Transform::Affine(RandomAffine {
                degrees: 15.0,
                translate: [0.1, 0.1],
                scale: [0.9, 1.1],
                shear: 10.0,
                ..affine
            }),
            "jitter" => Transform::ColorJitter(ColorJitter::default()),
            "cutout" => Transform::Cutout(Cutout::default()),
            "randaugment" => Transform::RandAugment(RandAugment::default()),
            "pca" => Transform::PcaLighting(PcaLighting::default()),
            other => {
                return Err(Error::Invalid(format!(
                    "unknown transform '{other}' (known: {})",
                    TRANSFORM_NAMES.join(", ")
                )))
            }
        })
    }
}

/// The names [`Transform::from_name`] knows.
pub const TRANSFORM_NAMES: [&str; 13] = [
    "crop",
    "resized-crop",
    "flip",
    "alt-flip",
    "rotate",
    "translate",
    "scale",
    "shear",
    "affine",
    "jitter",
    "cutout",
    "randaugment",
    "pca",
];

/// Transforms applied one after the other.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pipeline {
    transforms: Vec<Transform>,
}

impl Pipeline {
    /// A pipeline of `transforms`, each validated.
    ///
    /// # Errors
    /// The first [`Transform::validate`] error.
    pub fn new(transforms: Vec<Transform>) -> Result<Self> {
        transforms.iter().try_for_each(Transform::validate)?;
        Ok(Self { transforms })
    }

    /// The pipeline named by a comma-separated list such as `"crop,flip,jitter"`, each name
    /// optionally followed by parameters (`"crop:padding=2,flip:p=0.3"`; see [`Transform::parse`]).
    /// `"none"` (or an empty spec) is the empty pipeline.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown name or parameter, or an invalid value.
    pub fn parse(spec: &str) -> Result<Self> {
        let transforms = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "none")
            .map(Transform::parse)
            .collect::<Result<Vec<_>>>()?;
        Self::new(transforms)
    }

    /// Whether the pipeline does nothing.
    pub fn is_empty(&self) -> bool {
        self.transforms.is_empty()
    }

    /// The transforms, in order.
    pub fn transforms(&self) -> &[Transform] {
        &self.transforms
    }

    /// Applies every transform in order to the image of `draw`.
    pub fn apply(&self, image: &mut Image, draw: Draw) {
        let mut rng = draw.rng();
        for t in &self.transforms {
            t.apply(image, draw, &mut rng);
        }
    }

    /// Checks every transform against the images it will get, starting from `[channels, height,
    /// width]` (see [`Transform::check_input`]).
    ///
    /// # Errors
    /// The first transform that cannot work on its input, or whose output is above
    /// [`IMAGE_PIXELS`].
    pub fn check_input(&self, [channels, height, width]: [usize; 3]) -> Result<()> {
        let mut size = [height, width];
        for t in &self.transforms {
            t.check_input([channels, size[0], size[1]])?;
            size = t.output_size(size);
            IMAGE_PIXELS
                .check_product(
                    format_args!("a transform with a {}x{} output", size[0], size[1]),
                    &[size[0] as u64, size[1] as u64],
                )
                .map_err(|e| Error::Invalid(e.to_string()))?;
        }
        Ok(())
    }

    /// The output `[height, width]` for an input of `size`.
    pub fn output_size(&self, size: [usize; 2]) -> [usize; 2] {
        self.transforms.iter().fold(size, |s, t| t.output_size(s))
    }
}

/// `Err(Invalid)` with `"<what>: <message>"` unless `ok`.
pub(crate) fn check(ok: bool, what: &str, message: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!("{what}: {}", message())))
    }
}

/// Whether `[lo, hi]` is an ordered range of finite numbers.
pub(crate) fn is_range([lo, hi]: [f32; 2]) -> bool {
    lo.is_finite() && hi.is_finite() && lo <= hi
}

/// A uniform draw from `[lo, hi]` (exactly `lo` when the range is empty).
pub(crate) fn uniform<R: Rng>(rng: &mut R, [lo, hi]: [f32; 2]) -> f32 {
    if hi > lo {
        rng.random_range(lo..=hi)
    } else {
        lo
    }
}
