//! Reading a suggested rate off the range test's smoothed loss curve.

/// The rate where the smoothed loss falls fastest against log(lr) (central differences), up to
/// the minimum of the curve.
pub fn steepest(lrs: &[f64], smoothed: &[f64]) -> f64 {
    let end = argmin(smoothed).max(2);
    let slope = |i: usize| {
        let (a, b) = (i.saturating_sub(1), (i + 1).min(smoothed.len() - 1));
        (smoothed[b] - smoothed[a]) / (lrs[b].ln() - lrs[a].ln())
    };
    let best = (1..end).min_by(|&i, &j| slope(i).total_cmp(&slope(j)));
    lrs[best.unwrap_or(0)]
}

/// The middle (in steps, so geometrically in rate) of the curve's main descent: from where it
/// has fallen a tenth of the way from its start to its minimum, to the minimum. (fastai's valley
/// takes the longest decreasing run instead, which on a slowly improving curve starts at the
/// tiny rates and lands far too low.)
pub fn valley(lrs: &[f64], smoothed: &[f64]) -> f64 {
    let end = argmin(smoothed);
    let (start_loss, low) = (smoothed[0], smoothed[end]);
    let threshold = low + 0.9 * (start_loss - low);
    let start = (0..end).find(|&i| smoothed[i] < threshold).unwrap_or(end);
    lrs[(start + end) / 2]
}

fn argmin(values: &[f64]) -> usize {
    (0..values.len())
        .min_by(|&i, &j| values[i].total_cmp(&values[j]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_on_a_hand_made_curve() {
        let lrs: Vec<f64> = (0..8).map(|i| 10f64.powi(i - 6)).collect();
        // Flat, then a descent from index 2 to 6, then divergence.
        let loss = [5.0, 5.0, 4.9, 4.0, 2.0, 1.5, 1.4, 3.0];
        assert_eq!(steepest(&lrs, &loss), lrs[3]);
        // Down from 5.0 to 1.4: a tenth of the way (below 4.64) at index 3, the minimum at 6.
        assert_eq!(valley(&lrs, &loss), lrs[4]);
        // A slow steady decline before the real descent does not drag the valley down.
        let slow = [5.0, 4.99, 4.98, 4.97, 4.96, 2.0, 1.0, 3.0];
        assert_eq!(valley(&lrs, &slow), lrs[5]);
    }
}
