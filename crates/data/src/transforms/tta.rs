//! Test-time augmentation: a batch seen several ways (mirrored, shifted by a pixel), the model's
//! outputs averaged with weights. airbench's levels: mirror, and mirror with 1-pixel translations.

use super::flip::flip_horizontal;

/// Which views of a test batch a prediction averages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tta {
    /// The images as they are.
    None,
    /// The images and their mirror images, half and half.
    Mirror,
    /// Half the mirror average of the images, and half the mirror averages of the images moved
    /// one pixel down-right and one pixel up-left (reflect-padded), as airbench's level 2.
    MirrorTranslate,
}

/// A view of a batch and the weight of the model's outputs on it.
pub struct View {
    pub images: Vec<f32>,
    pub weight: f32,
}

impl Tta {
    /// The views of `images` (`[n, c, h, w]`, NCHW); their weights sum to 1.
    pub fn views(self, images: &[f32], [_, _, h, w]: [usize; 4]) -> Vec<View> {
        let mirrored = |images: Vec<f32>, weight: f32| {
            let mut flipped = images.clone();
            flip_horizontal(&mut flipped, w);
            [
                View { images, weight },
                View {
                    images: flipped,
                    weight,
                },
            ]
        };
        match self {
            Tta::None => vec![View {
                images: images.to_vec(),
                weight: 1.0,
            }],
            Tta::Mirror => mirrored(images.to_vec(), 0.5).into(),
            Tta::MirrorTranslate => {
                let mut views: Vec<View> = mirrored(images.to_vec(), 0.25).into();
                for shift in [1, -1] {
                    views.extend(mirrored(translate(images, h, w, shift), 0.125));
                }
                views
            }
        }
    }
}

/// The images moved `shift` pixels down and right (up and left when negative), the uncovered
/// edge filled by reflection about the edge pixels (PyTorch's 'reflect' padding).
fn translate(images: &[f32], h: usize, w: usize, shift: isize) -> Vec<f32> {
    let reflect = |i: isize, len: usize| -> usize {
        let last = len as isize - 1;
        (if i < 0 {
            -i
        } else if i > last {
            2 * last - i
        } else {
            i
        })
        .clamp(0, last) as usize
    };
    let mut out = vec![0.0; images.len()];
    for (src, dst) in images.chunks_exact(h * w).zip(out.chunks_exact_mut(h * w)) {
        for y in 0..h {
            let sy = reflect(y as isize - shift, h);
            for x in 0..w {
                dst[y * w + x] = src[sy * w + reflect(x as isize - shift, w)];
            }
        }
    }
    out
}

/// The weighted sum of the outputs (each `[n, classes]`, in the order of the views) the model
/// gave on the views.
pub fn combine_views(outputs: &[(Vec<f32>, f32)]) -> Vec<f32> {
    let mut sum = vec![0.0; outputs.first().map_or(0, |(o, _)| o.len())];
    for (output, weight) in outputs {
        for (s, o) in sum.iter_mut().zip(output) {
            *s += weight * o;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_the_mirror_and_reflect_shifted_images() {
        // One 1×3×3 image 0..9.
        let image: Vec<f32> = (0..9).map(|i| i as f32).collect();
        let dims = [1, 1, 3, 3];
        let views = Tta::MirrorTranslate.views(&image, dims);
        let weights: Vec<f32> = views.iter().map(|v| v.weight).collect();
        assert_eq!(weights, [0.25, 0.25, 0.125, 0.125, 0.125, 0.125]);
        assert_eq!(views[0].images, image);
        assert_eq!(views[1].images, [2., 1., 0., 5., 4., 3., 8., 7., 6.]);
        // Down-right by one: row −1 reflects to row 1, column −1 to column 1.
        assert_eq!(views[2].images, [4., 3., 4., 1., 0., 1., 4., 3., 4.]);
        // Up-left by one: row 3 reflects to row 1, column 3 to column 1.
        assert_eq!(views[4].images, [4., 5., 4., 7., 8., 7., 4., 5., 4.]);
        for (shifted, mirrored) in [(&views[2], &views[3]), (&views[4], &views[5])] {
            let mut flipped = shifted.images.clone();
            flip_horizontal(&mut flipped, 3);
            assert_eq!(mirrored.images, flipped);
        }
        assert_eq!(Tta::Mirror.views(&image, dims).len(), 2);
        assert_eq!(Tta::None.views(&image, dims)[0].weight, 1.0);
        let combined = combine_views(&[(vec![1.0, 2.0], 0.25), (vec![3.0, 6.0], 0.75)]);
        assert_eq!(combined, [2.5, 5.0]);
    }
}
