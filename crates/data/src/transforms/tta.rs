//! Test-time augmentation by flip averaging: predict on each image and on its mirror image, and
//! average the two predicted distributions.

use super::flip::flip_horizontal;

/// The batch `images` (NCHW, `width` columns) followed by its horizontally flipped copy: `2N`
/// images, original `i` at position `i` and its mirror at `N + i`.
pub fn with_flipped(images: &[f32], width: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(2 * images.len());
    out.extend_from_slice(images);
    out.extend_from_slice(images);
    flip_horizontal(&mut out[images.len()..], width);
    out
}

/// Averages the predictions (e.g. probabilities, `2N × classes`) of a batch built by
/// [`with_flipped`]: row `i` of the result is the mean of rows `i` and `N + i`.
pub fn average_flip_predictions(predictions: &[f32], classes: usize) -> Vec<f32> {
    let half = predictions.len() / 2;
    debug_assert_eq!(half % classes.max(1), 0);
    predictions[..half]
        .iter()
        .zip(&predictions[half..])
        .map(|(a, b)| 0.5 * (a + b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_half_is_the_mirror_and_averaging_pairs_rows() {
        let images: Vec<f32> = (0..2 * 2 * 3).map(|i| i as f32).collect(); // 2 images, 1×2×3
        let both = with_flipped(&images, 3);
        assert_eq!(both[..12], images[..]);
        assert_eq!(both[12..15], [2.0, 1.0, 0.0]);
        let mut back = both[12..].to_vec();
        flip_horizontal(&mut back, 3);
        assert_eq!(back, images);
        let predictions = [0.2, 0.8, 1.0, 0.0, 0.4, 0.6, 0.0, 1.0];
        let averaged = average_flip_predictions(&predictions, 2);
        let expected = [0.3, 0.7, 0.5, 0.5];
        assert!(
            averaged
                .iter()
                .zip(expected)
                .all(|(a, e)| (a - e).abs() < 1e-6),
            "{averaged:?}"
        );
    }
}
