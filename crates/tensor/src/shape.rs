//! Shape: the dims of a contiguous row-major tensor.
use std::fmt;

/// Dimensions of a contiguous, row-major tensor. A scalar has no dims and one element.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(Vec<usize>);

impl Shape {
    pub fn new(dims: &[usize]) -> Self {
        Shape(dims.to_vec())
    }
    pub fn dims(&self) -> &[usize] {
        &self.0
    }
    pub fn rank(&self) -> usize {
        self.0.len()
    }
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }
    /// Row-major strides in elements.
    pub fn strides(&self) -> Vec<usize> {
        let mut strides = vec![1; self.0.len()];
        for i in (0..self.0.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * self.0[i + 1];
        }
        strides
    }
    /// The dims as (outer, size of `dim`, inner): the usual way to walk one axis of a row-major buffer.
    pub fn split_at_dim(&self, dim: usize) -> (usize, usize, usize) {
        let outer = self.0[..dim].iter().product();
        let inner = self.0[dim + 1..].iter().product();
        (outer, self.0[dim], inner)
    }
}

/// Output length of a sliding window (convolution or pooling) along one axis, PyTorch's
/// `floor((len + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1`; with `ceil_mode` rounded up
/// instead, as long as the last window still starts inside the input or the left padding.
/// `None` when no window fits (the dilated kernel is larger than the padded input, or `kernel` or
/// `stride` is 0).
pub fn window_out_len(
    len: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    ceil_mode: bool,
) -> Option<usize> {
    if kernel == 0 || stride == 0 {
        return None;
    }
    let span = dilation * (kernel - 1) + 1;
    let round_up = if ceil_mode { stride - 1 } else { 0 };
    let room = (len + 2 * padding + round_up).checked_sub(span)?;
    let mut out = room / stride + 1;
    if ceil_mode && (out - 1) * stride >= len + padding {
        out -= 1;
    }
    (out > 0).then_some(out)
}

/// Output length of a convolution along one axis ([`window_out_len`] without ceil mode).
pub fn conv_out_len(
    len: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
) -> Option<usize> {
    window_out_len(len, kernel, stride, padding, dilation, false)
}

/// Output length of a transposed convolution along one axis, PyTorch's
/// `(len − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1`; `None` when the
/// input or the kernel is empty or the padding removes the whole output.
pub fn conv_transpose_out_len(
    len: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    output_padding: usize,
) -> Option<usize> {
    if len == 0 || kernel == 0 {
        return None;
    }
    let full = (len - 1) * stride + dilation * (kernel - 1) + output_padding + 1;
    full.checked_sub(2 * padding).filter(|&out| out > 0)
}

impl From<&[usize]> for Shape {
    fn from(dims: &[usize]) -> Self {
        Shape::new(dims)
    }
}

impl From<Vec<usize>> for Shape {
    fn from(dims: Vec<usize>) -> Self {
        Shape(dims)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(dims: [usize; N]) -> Self {
        Shape(dims.to_vec())
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_and_split() {
        let s = Shape::from([2, 3, 4]);
        assert_eq!(s.strides(), vec![12, 4, 1]);
        assert_eq!(s.numel(), 24);
        assert_eq!(s.split_at_dim(1), (2, 3, 4));
        assert_eq!(Shape::from([]).numel(), 1);
    }

    #[test]
    fn window_lengths_follow_pytorch() {
        // AlexNet: 227 → conv 11/4 → 55; (7 + 2 − 4 − 1)/2 + 1 = 3 with dilation 2.
        assert_eq!(conv_out_len(227, 11, 4, 0, 1), Some(55));
        assert_eq!(conv_out_len(7, 3, 2, 1, 2), Some(3));
        assert_eq!(conv_out_len(28, 5, 1, 2, 1), Some(28));
        // The dilated kernel exactly fits, then does not.
        assert_eq!(conv_out_len(3, 3, 2, 1, 2), Some(1));
        assert_eq!(conv_out_len(2, 5, 1, 1, 1), None);
        assert_eq!(conv_out_len(4, 0, 1, 0, 1), None);
        assert_eq!(conv_out_len(4, 1, 0, 0, 1), None);
        // Ceil mode: 112 → 56 (k3 s2); the last window may not start in the right padding.
        assert_eq!(window_out_len(112, 3, 2, 0, 1, true), Some(56));
        assert_eq!(window_out_len(5, 2, 2, 1, 1, true), Some(3));
        assert_eq!(window_out_len(5, 2, 2, 1, 1, false), Some(3));
        assert_eq!(window_out_len(6, 3, 2, 0, 1, true), Some(3));
        assert_eq!(window_out_len(6, 3, 2, 0, 1, false), Some(2));
    }

    #[test]
    fn transposed_lengths_follow_pytorch() {
        // 5 → (5 − 1)·2 − 2 + 2 + 1 + 1 = 10, the inverse of a stride-2 3×3 pad-1 convolution.
        assert_eq!(conv_transpose_out_len(5, 3, 2, 1, 1, 1), Some(10));
        assert_eq!(conv_out_len(10, 3, 2, 1, 1), Some(5));
        assert_eq!(conv_transpose_out_len(1, 2, 2, 0, 1, 0), Some(2));
        assert_eq!(conv_transpose_out_len(1, 1, 1, 1, 1, 0), None);
        assert_eq!(conv_transpose_out_len(0, 3, 1, 0, 1, 0), None);
    }
}
