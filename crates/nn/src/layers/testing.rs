//! Helpers shared by the layers' unit tests.
use convkit_tensor::Tensor;

/// `|a − b| ≤ 1e-5 + 1e-4·|b|` elementwise, with equal lengths.
pub(crate) fn assert_close(actual: &[f32], expected: &[f32]) {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    for (i, (a, b)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 + 1e-4 * b.abs(),
            "element {i}: {a} vs {b}\n{actual:?}\n{expected:?}"
        );
    }
}

/// A tensor holding `0, 1, 2, ...` scaled by `step`, for hand-checkable layer tests.
pub(crate) fn ramp(dims: &[usize], step: f32) -> Tensor {
    let n: usize = dims.iter().product();
    Tensor::from_vec((0..n).map(|i| i as f32 * step).collect(), dims).expect("sizes agree")
}
