//! Where an axis gets its tick marks, and how their values are written.

/// About `target` evenly spaced "round" values (steps of 1, 2 or 5 × 10ᵏ) inside `[lo, hi]`.
/// An empty or non-finite range gives no ticks.
pub fn ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) || target == 0 {
        return Vec::new();
    }
    let rough = span / target as f64;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= rough)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    // Rounded to the step's decimals, so that 3 × 0.2 is 0.6 and not 0.6000000000000001.
    let scale = 10f64.powi((-step.log10().floor()).max(0.0) as i32);
    (first..=last)
        .map(|i| (i as f64 * step * scale).round() / scale)
        .collect()
}

/// A tick value in at most 6 characters where possible: `0`, `0.25`, `120`, `1e-4`, `2e+05`.
pub fn format_tick(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".to_string()
    } else if !(1e-3..1e5).contains(&a) {
        let text = format!("{v:.0e}");
        text.replace("e-0", "e-").replace("e0", "e")
    } else {
        let text = format!("{v:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_steps_inside_the_range() {
        assert_eq!(ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(ticks(0.0, 100.0, 4), vec![0.0, 50.0, 100.0]);
        assert_eq!(ticks(-2.1, 1.3, 4), vec![-2.0, -1.0, 0.0, 1.0]);
        assert!(ticks(1.0, 1.0, 5).is_empty());
        assert!(ticks(0.0, f64::NAN, 5).is_empty());
    }

    #[test]
    fn compact_labels() {
        assert_eq!(format_tick(0.0), "0");
        assert_eq!(format_tick(0.25), "0.25");
        assert_eq!(format_tick(120.0), "120");
        assert_eq!(format_tick(0.0001), "1e-4");
        assert_eq!(format_tick(200000.0), "2e5");
        assert_eq!(format_tick(-1.5), "-1.5");
    }
}
