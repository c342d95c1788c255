//! Image batches as plain pixel buffers, and the steps every attack shares on them: signs,
//! per-image norms, projection onto an ε-ball and clamping to [0, 1].
use crate::error::{Error, Result};
use convkit_tensor::Tensor;
use rand::Rng;

/// The norm an attack measures its perturbation in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    /// The largest change of any pixel.
    Linf,
    /// The Euclidean length of the change over all pixels of an image.
    L2,
}

impl Norm {
    pub fn as_str(self) -> &'static str {
        match self {
            Norm::Linf => "linf",
            Norm::L2 => "l2",
        }
    }
}

/// `[N, C, H, W]` pixels in [0, 1] with one label per image.
#[derive(Clone, Debug)]
pub(crate) struct PixelBatch {
    pub data: Vec<f32>,
    pub dims: Vec<usize>,
}

impl PixelBatch {
    /// The pixels of `images`, checked to be a batch of `labels.len()` images in [0, 1].
    pub fn new(attack: &'static str, images: &Tensor, labels: &[usize]) -> Result<Self> {
        let dims = images.dims().to_vec();
        if dims.len() != 4 || dims[0] != labels.len() {
            return Err(Error::Shape {
                attack,
                msg: format!(
                    "images must be [N, C, H, W] with one label each, got {} and {} labels",
                    images.shape(),
                    labels.len()
                ),
            });
        }
        let data = images.to_vec();
        let (min, max) = data
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        if data.iter().any(|v| !(0.0..=1.0).contains(v)) {
            return Err(Error::NotPixels { attack, min, max });
        }
        Ok(PixelBatch { data, dims })
    }

    pub fn samples(&self) -> usize {
        self.dims[0]
    }

    /// Values per image (C·H·W).
    pub fn sample_len(&self) -> usize {
        self.dims[1..].iter().product()
    }

    pub fn to_tensor(&self) -> Result<Tensor> {
        Ok(Tensor::from_vec(self.data.clone(), self.dims.clone())?)
    }

    /// The images at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> PixelBatch {
        let len = self.sample_len();
        let mut data = Vec::with_capacity(indices.len() * len);
        for &i in indices {
            data.extend_from_slice(&self.data[i * len..(i + 1) * len]);
        }
        let mut dims = self.dims.clone();
        dims[0] = indices.len();
        PixelBatch { data, dims }
    }

    /// Writes image `k` of `part` over image `indices[k]` of this batch.
    pub fn scatter(&mut self, indices: &[usize], part: &PixelBatch) {
        for (k, &i) in indices.iter().enumerate() {
            self.copy_image(i, &part.data, k);
        }
    }

    /// Writes image `k` of `source` (a buffer of images of this batch's size) over image `i`.
    pub fn copy_image(&mut self, i: usize, source: &[f32], k: usize) {
        let len = self.sample_len();
        self.data[i * len..(i + 1) * len].copy_from_slice(&source[k * len..(k + 1) * len]);
    }
}

/// −1, 0 or 1 (0 for 0, as `torch.sign`; NaN stays NaN so a broken gradient shows).
pub(crate) fn sign(v: f32) -> f32 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        v
    }
}

/// The Euclidean norm of every image of `values` (`sample_len` values each), summed in f64.
pub(crate) fn l2_norms(values: &[f32], sample_len: usize) -> Vec<f32> {
    values
        .chunks(sample_len.max(1))
        .map(|c| {
            c.iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>()
                .sqrt() as f32
        })
        .collect()
}

/// Moves `adv` back into the `norm` ball of radius `eps` around `clean`, then into [0, 1]
/// (clamping only shortens the perturbation, since `clean` lies in [0, 1]).
pub(crate) fn project(adv: &mut [f32], clean: &[f32], norm: Norm, eps: f32, sample_len: usize) {
    match norm {
        Norm::Linf => adv.iter_mut().zip(clean).for_each(|(a, &c)| {
            *a = c + (*a - c).clamp(-eps, eps);
        }),
        Norm::L2 => {
            let delta: Vec<f32> = adv.iter().zip(clean).map(|(a, c)| a - c).collect();
            let norms = l2_norms(&delta, sample_len);
            for ((a, c), (d, n)) in adv
                .chunks_mut(sample_len)
                .zip(clean.chunks(sample_len))
                .zip(delta.chunks(sample_len).zip(norms))
            {
                if n > eps {
                    let scale = eps / n;
                    a.iter_mut()
                        .zip(c)
                        .zip(d)
                        .for_each(|((a, &c), &d)| *a = c + d * scale);
                }
            }
        }
    }
    clamp_unit(adv);
}

pub(crate) fn clamp_unit(values: &mut [f32]) {
    values.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
}

/// `clean` plus a random point of the `norm` ball of radius `eps` (uniform over the cube for L∞;
/// uniform over the ball's volume for L2), clamped to [0, 1].
pub(crate) fn random_start(
    clean: &[f32],
    norm: Norm,
    eps: f32,
    sample_len: usize,
    rng: &mut impl Rng,
) -> Vec<f32> {
    let mut start: Vec<f32> = match norm {
        Norm::Linf => clean
            .iter()
            .map(|&c| c + eps * (2.0 * rng.random::<f32>() - 1.0))
            .collect(),
        Norm::L2 => {
            let direction: Vec<f32> = (0..clean.len()).map(|_| standard_normal(rng)).collect();
            let norms = l2_norms(&direction, sample_len);
            let mut start = clean.to_vec();
            for ((s, d), n) in start
                .chunks_mut(sample_len)
                .zip(direction.chunks(sample_len))
                .zip(norms)
            {
                // A radius distributed as u^(1/d) makes the point uniform over the ball's volume.
                let radius = eps * rng.random::<f32>().powf(1.0 / sample_len as f32);
                let scale = if n > 0.0 { radius / n } else { 0.0 };
                s.iter_mut().zip(d).for_each(|(s, &d)| *s += d * scale);
            }
            start
        }
    };
    clamp_unit(&mut start);
    start
}

/// One standard normal sample (Box–Muller).
pub(crate) fn standard_normal(rng: &mut impl Rng) -> f32 {
    let u1 = 1.0 - rng.random::<f64>(); // in (0, 1], so ln is finite
    let u2 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// The index of the largest of each row of `scores` (`[N, classes]`, row-major).
pub(crate) fn argmax_rows(scores: &[f32], classes: usize) -> Vec<usize> {
    scores
        .chunks(classes.max(1))
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 {
                        (i, v)
                    } else {
                        best
                    }
                })
                .0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_tensor::seeded_rng;

    #[test]
    fn linf_projection_clips_the_change_and_the_range() {
        let clean = [0.1, 0.5, 0.95];
        let mut adv = [0.5, 0.45, 1.3];
        project(&mut adv, &clean, Norm::Linf, 0.1, 3);
        let expected = [0.1 + 0.1, 0.45, 1.0];
        for (a, e) in adv.iter().zip(expected) {
            assert!((a - e).abs() < 1e-7, "{adv:?}");
        }
    }

    #[test]
    fn l2_projection_scales_each_image_onto_the_ball() {
        let clean = [0.5; 4];
        // Image 0 moves by (0.3, 0.4) (length 0.5), image 1 by 0.1 (inside the ball).
        let mut adv = [0.8, 0.9, 0.6, 0.5];
        project(&mut adv, &clean, Norm::L2, 0.25, 2);
        assert!(
            (adv[0] - 0.65).abs() < 1e-6 && (adv[1] - 0.7).abs() < 1e-6,
            "{adv:?}"
        );
        assert_eq!(&adv[2..], &[0.6, 0.5]);
    }

    #[test]
    fn random_starts_stay_in_the_ball_and_the_range() {
        let clean: Vec<f32> = (0..200).map(|i| (i % 11) as f32 / 10.0).collect();
        let mut rng = seeded_rng(3);
        for norm in [Norm::Linf, Norm::L2] {
            let start = random_start(&clean, norm, 0.3, 50, &mut rng);
            assert!(start.iter().all(|v| (0.0..=1.0).contains(v)));
            let delta: Vec<f32> = start.iter().zip(&clean).map(|(s, c)| s - c).collect();
            match norm {
                Norm::Linf => assert!(delta.iter().all(|d| d.abs() <= 0.3 + 1e-6)),
                Norm::L2 => assert!(l2_norms(&delta, 50).iter().all(|&n| n <= 0.3 + 1e-6)),
            }
            assert!(
                delta.iter().any(|d| d.abs() > 1e-3),
                "{norm:?}: no movement"
            );
        }
    }

    #[test]
    fn sign_keeps_zero_and_nan() {
        assert_eq!([sign(2.0), sign(-0.5), sign(0.0)], [1.0, -1.0, 0.0]);
        assert!(sign(f32::NAN).is_nan());
    }
}
