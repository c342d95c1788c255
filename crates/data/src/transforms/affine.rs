//! Rotation, translation, scaling and shear as one affine warp about the image centre, sampled
//! bilinearly (each output pixel looks up where it came from through the inverse map).

use rand::Rng;

use super::{check, is_range, uniform, Image};
use crate::error::Result;

/// A random affine transform, as torchvision's `RandomAffine`: the image is sheared along x by an
/// angle in `±shear` degrees, scaled by a factor in `scale`, rotated by an angle in `±degrees`
/// (counter-clockwise), then shifted by up to `translate` (fractions of width, height). Pixels
/// that come from outside the image take the value `fill`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomAffine {
    /// Largest rotation in degrees.
    pub degrees: f32,
    /// Largest shift as a fraction of `[width, height]`.
    pub translate: [f32; 2],
    /// Range of the scale factor.
    pub scale: [f32; 2],
    /// Largest x-shear angle in degrees (below 90).
    pub shear: f32,
    /// Value of pixels from outside the image.
    pub fill: f32,
}

/// The identity: no rotation, shift, scaling or shear.
impl Default for RandomAffine {
    fn default() -> Self {
        Self {
            degrees: 0.0,
            translate: [0.0, 0.0],
            scale: [1.0, 1.0],
            shear: 0.0,
            fill: 0.0,
        }
    }
}

impl RandomAffine {
    pub(crate) fn validate(&self) -> Result<()> {
        let what = "affine transform";
        check(
            self.degrees.is_finite() && self.degrees >= 0.0,
            what,
            || {
                format!(
                    "degrees must be a non-negative number, got {}",
                    self.degrees
                )
            },
        )?;
        check(
            self.translate.iter().all(|t| (0.0..=1.0).contains(t)),
            what,
            || {
                format!(
                    "translate fractions must be in [0, 1], got {:?}",
                    self.translate
                )
            },
        )?;
        check(is_range(self.scale) && self.scale[0] > 0.0, what, || {
            format!(
                "scale must be an ordered positive range, got {:?}",
                self.scale
            )
        })?;
        check((0.0..90.0).contains(&self.shear), what, || {
            format!("shear must be in [0, 90) degrees, got {}", self.shear)
        })?;
        check(self.fill.is_finite(), what, || {
            format!("fill {} is not finite", self.fill)
        })
    }

    pub(crate) fn apply<R: Rng>(&self, image: &mut Image, rng: &mut R) {
        let angle = uniform(rng, [-self.degrees, self.degrees]);
        let shift = [
            uniform(rng, [-self.translate[0], self.translate[0]]) * image.width as f32,
            uniform(rng, [-self.translate[1], self.translate[1]]) * image.height as f32,
        ];
        let scale = uniform(rng, self.scale);
        let shear = uniform(rng, [-self.shear, self.shear]);
        let matrix = affine_matrix(angle, scale, shear, 0.0);
        *image = warp(image, matrix, shift, self.fill);
    }
}

/// The 2×2 forward matrix `scale · R(angle) · Shear(shear_x, shear_y)` (angles in degrees), in
/// image coordinates (x right, y down, so a positive angle turns the picture counter-clockwise).
pub(crate) fn affine_matrix(angle: f32, scale: f32, shear_x: f32, shear_y: f32) -> [[f32; 2]; 2] {
    let (sin, cos) = (-angle.to_radians()).sin_cos();
    let (tx, ty) = (shear_x.to_radians().tan(), shear_y.to_radians().tan());
    // Rotation [[cos, -sin], [sin, cos]] times shear [[1, tx], [ty, 1]].
    [
        [scale * (cos - sin * ty), scale * (cos * tx - sin)],
        [scale * (sin + cos * ty), scale * (sin * tx + cos)],
    ]
}

/// Warps `image` by `out = centre + shift + matrix · (in − centre)`, sampling bilinearly and using
/// `fill` outside the image. A singular matrix gives an image of `fill`.
pub(crate) fn warp(image: &Image, matrix: [[f32; 2]; 2], shift: [f32; 2], fill: f32) -> Image {
    let [[a, b], [c, d]] = matrix;
    let det = a * d - b * c;
    let (h, w) = (image.height, image.width);
    let mut out = vec![fill; image.data.len()];
    if det.abs() < 1e-12 {
        return Image {
            data: out,
            ..*image
        };
    }
    let inv = [[d / det, -b / det], [-c / det, a / det]];
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    for (src, dst) in image
        .data
        .chunks_exact(image.plane())
        .zip(out.chunks_exact_mut(h * w))
    {
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f32 - cx - shift[0], y as f32 - cy - shift[1]);
                let sx = cx + inv[0][0] * dx + inv[0][1] * dy;
                let sy = cy + inv[1][0] * dx + inv[1][1] * dy;
                dst[y * w + x] = bilinear(src, h, w, sx, sy, fill);
            }
        }
    }
    Image {
        data: out,
        ..*image
    }
}

/// The value of the `h × w` plane at the real position `(x, y)`, bilinearly interpolated; the
/// neighbours outside the plane count as `fill`. Exact at integer positions.
pub(crate) fn bilinear(plane: &[f32], h: usize, w: usize, x: f32, y: f32, fill: f32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |yy: f32, xx: f32| {
        if yy >= 0.0 && xx >= 0.0 && (yy as usize) < h && (xx as usize) < w {
            plane[yy as usize * w + xx as usize]
        } else {
            fill
        }
    };
    let top = at(y0, x0) * (1.0 - fx) + if fx > 0.0 { at(y0, x0 + 1.0) * fx } else { 0.0 };
    if fy == 0.0 {
        return top;
    }
    let bottom = at(y0 + 1.0, x0) * (1.0 - fx)
        + if fx > 0.0 {
            at(y0 + 1.0, x0 + 1.0) * fx
        } else {
            0.0
        };
    top * (1.0 - fy) + bottom * fy
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn ramp(c: usize, h: usize, w: usize) -> Image {
        Image {
            data: (0..c * h * w)
                .map(|i| i as f32 / (c * h * w) as f32)
                .collect(),
            channels: c,
            height: h,
            width: w,
        }
    }

    #[test]
    fn zero_rotation_and_identity_warp_leave_the_image_unchanged() {
        let image = ramp(3, 5, 7);
        let mut rotated = image.clone();
        RandomAffine::default().apply(&mut rotated, &mut ChaCha8Rng::seed_from_u64(0));
        assert_eq!(rotated, image);
        assert_eq!(
            warp(&image, affine_matrix(0.0, 1.0, 0.0, 0.0), [0.0, 0.0], 9.0),
            image
        );
    }

    #[test]
    fn a_quarter_turn_moves_corners_as_expected() {
        // 3×3 with a single bright top-left pixel: rotating 90° counter-clockwise puts it at
        // bottom-left.
        let mut image = Image {
            data: vec![0.0; 9],
            channels: 1,
            height: 3,
            width: 3,
        };
        image.data[0] = 1.0;
        let out = warp(&image, affine_matrix(90.0, 1.0, 0.0, 0.0), [0.0, 0.0], 0.0);
        let bright: Vec<usize> = (0..9).filter(|&i| out.data[i] > 0.99).collect();
        assert_eq!(bright, [6]);
        assert!(out.data.iter().sum::<f32>() < 1.0 + 1e-5);
    }

    #[test]
    fn an_integer_shift_moves_pixels_and_fills_the_gap() {
        let image = ramp(1, 3, 4);
        let out = warp(&image, affine_matrix(0.0, 1.0, 0.0, 0.0), [1.0, 0.0], -1.0);
        for y in 0..3 {
            assert_eq!(out.data[y * 4], -1.0);
            for x in 1..4 {
                assert_eq!(out.data[y * 4 + x], image.data[y * 4 + x - 1]);
            }
        }
    }

    #[test]
    fn bad_parameters_are_rejected() {
        let bad = [
            RandomAffine {
                degrees: -1.0,
                ..Default::default()
            },
            RandomAffine {
                translate: [1.5, 0.0],
                ..Default::default()
            },
            RandomAffine {
                scale: [1.2, 0.8],
                ..Default::default()
            },
            RandomAffine {
                shear: 90.0,
                ..Default::default()
            },
        ];
        for t in bad {
            let err = t.validate().unwrap_err().to_string();
            assert!(err.starts_with("affine transform:"), "{err}");
        }
    }
}
