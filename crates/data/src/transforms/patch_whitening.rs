//! The patch-whitening first layer of airbench (Jordan 2024): convolution filters, computed from
//! the training images, whose outputs are the images' `k × k` patches projected on the
//! eigenvectors of the patches' second-moment matrix and scaled to unit variance, each filter
//! followed by its negative (so a ReLU or GELU after it keeps both signs).

use super::eigen::symmetric_eigen;
use crate::error::{Error, Result};

/// Filters `[2·d, channels, kernel, kernel]` (`d = channels · kernel²`, as a conv weight) that
/// whiten the `kernel × kernel` patches of `images` (`[n, channels, height, width]`, every
/// position, no padding): filter `i < d` is the `i`-th eigenvector of the patches' uncentred
/// second-moment matrix (largest eigenvalue first) divided by `√(λᵢ + epsilon)`, and filter
/// `d + i` is its negative.
///
/// # Errors
/// [`Error::Invalid`] for no images, a kernel of 0 or larger than the images, or an `epsilon` that
/// is negative or not finite.
pub fn patch_whitening_filters(
    images: &[f32],
    [n, channels, height, width]: [usize; 4],
    kernel: usize,
    epsilon: f32,
) -> Result<Vec<f32>> {
    if n == 0 || channels == 0 || images.len() != n * channels * height * width {
        return Err(Error::Invalid(format!(
            "patch whitening: {} values are not {n} images of {channels}x{height}x{width} (at least one)",
            images.len()
        )));
    }
    if kernel == 0 || kernel > height || kernel > width {
        return Err(Error::Invalid(format!(
            "patch whitening: a {kernel}x{kernel} patch does not fit {height}x{width} images"
        )));
    }
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(Error::Invalid(format!(
            "patch whitening: epsilon must be a non-negative number, got {epsilon}"
        )));
    }
    let dim = channels * kernel * kernel;
    let (rows, cols) = (height - kernel + 1, width - kernel + 1);
    let mut moment = vec![0f64; dim * dim];
    let mut patch = vec![0f64; dim];
    for image in images.chunks_exact(channels * height * width) {
        for (y, x) in (0..rows).flat_map(|y| (0..cols).map(move |x| (y, x))) {
            // The patch in the weight's [channel][row][column] order.
            for (i, p) in patch.iter_mut().enumerate() {
                let (c, dy, dx) = (i / (kernel * kernel), i / kernel % kernel, i % kernel);
                *p = f64::from(image[(c * height + y + dy) * width + x + dx]);
            }
            for (i, &pi) in patch.iter().enumerate() {
                moment[i * dim..(i + 1) * dim]
                    .iter_mut()
                    .zip(&patch)
                    .for_each(|(m, &pj)| *m += pi * pj);
            }
        }
    }
    let count = (n * rows * cols) as f64;
    moment.iter_mut().for_each(|m| *m /= count);
    let (values, vectors) = symmetric_eigen(&moment, dim);
    let mut filters = vec![0f32; 2 * dim * dim];
    for (k, &value) in values.iter().enumerate() {
        let scale = 1.0 / (value.max(0.0) + f64::from(epsilon)).sqrt();
        let scale = if scale.is_finite() { scale } else { 0.0 };
        for j in 0..dim {
            let w = (vectors[j * dim + k] * scale) as f32;
            filters[k * dim + j] = w;
            filters[(dim + k) * dim + j] = -w;
        }
    }
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Images whose neighbouring pixels and channels are correlated: a random field smoothed
    /// along rows, the second channel half the first plus noise.
    fn correlated_images(n: usize, size: usize) -> Vec<f32> {
        let mut state = 12345u64;
        let mut noise = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let mut out = Vec::with_capacity(n * 2 * size * size);
        for _ in 0..n {
            let mut first = vec![0.0; size * size];
            for y in 0..size {
                let mut smooth = noise();
                for x in 0..size {
                    smooth = 0.7 * smooth + noise();
                    first[y * size + x] = smooth;
                }
            }
            let second: Vec<f32> = first.iter().map(|v| 0.5 * v + 0.3 * noise()).collect();
            out.extend(first);
            out.extend(second);
        }
        out
    }

    #[test]
    fn the_filters_whiten_the_patches_and_come_in_opposite_pairs() {
        let (n, size, kernel) = (20, 12, 2);
        let images = correlated_images(n, size);
        let filters = patch_whitening_filters(&images, [n, 2, size, size], kernel, 0.0).unwrap();
        let dim = 2 * kernel * kernel;
        assert_eq!(filters.len(), 2 * dim * dim);
        let (first, second) = filters.split_at(dim * dim);
        assert!(first.iter().zip(second).all(|(a, b)| *a == -b));
        // The first d filters' outputs over every patch: their second moments are the identity.
        let mut moment = vec![0f64; dim * dim];
        let mut count = 0.0;
        for image in images.chunks_exact(2 * size * size) {
            for (y, x) in (0..size - 1).flat_map(|y| (0..size - 1).map(move |x| (y, x))) {
                let out: Vec<f64> = first
                    .chunks_exact(dim)
                    .map(|f| {
                        (0..dim)
                            .map(|i| {
                                let (c, dy, dx) = (i / 4, i / 2 % 2, i % 2);
                                let pixel = image[(c * size + y + dy) * size + x + dx];
                                f64::from(f[i]) * f64::from(pixel)
                            })
                            .sum()
                    })
                    .collect();
                for i in 0..dim {
                    for j in 0..dim {
                        moment[i * dim + j] += out[i] * out[j];
                    }
                }
                count += 1.0;
            }
        }
        for i in 0..dim {
            for j in 0..dim {
                let want = if i == j { 1.0 } else { 0.0 };
                let got = moment[i * dim + j] / count;
                assert!((got - want).abs() < 1e-3, "moment[{i}][{j}] = {got}");
            }
        }
    }

    #[test]
    fn bad_sizes_and_epsilon_are_refused() {
        let images = vec![0.5; 2 * 3 * 4 * 4];
        for (dims, kernel, epsilon) in [
            ([0, 3, 4, 4], 2, 0.0),
            ([2, 3, 4, 4], 5, 0.0),
            ([2, 3, 4, 4], 0, 0.0),
            ([2, 3, 4, 4], 2, -1.0),
            ([3, 3, 4, 4], 2, 0.0),
        ] {
            let err = patch_whitening_filters(&images, dims, kernel, epsilon);
            assert!(err.is_err(), "{dims:?} k{kernel} eps {epsilon}");
        }
    }
}
