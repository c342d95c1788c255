//! Anti-aliased downsampling (BlurPool, Zhang 2019): a fixed binomial low-pass filter applied to
//! every channel, then subsampling by the stride; run as a depthwise [`conv2d`].
use crate::error::{Error, Result};
use crate::ops::conv::{conv2d, Conv2dConfig};
use crate::tensor::Tensor;

/// The normalised 2-D binomial filter of `size` taps per axis: row `size − 1` of Pascal's triangle,
/// outer product with itself, divided by its sum (size 3: `[1, 2, 1] ⊗ [1, 2, 1] / 16`).
///
/// # Errors
/// A zero size.
pub fn binomial_filter(size: usize) -> Result<Vec<f32>> {
    if size == 0 {
        return Err(Error::config(
            "blur_pool2d",
            "filter size must be at least 1",
        ));
    }
    let mut row = vec![1.0f64];
    for _ in 1..size {
        row = std::iter::once(1.0)
            .chain(row.windows(2).map(|p| p[0] + p[1]))
            .chain(std::iter::once(1.0))
            .collect();
    }
    let total: f64 = row.iter().sum::<f64>().powi(2);
    Ok(row
        .iter()
        .flat_map(|a| row.iter().map(move |b| (a * b / total) as f32))
        .collect())
}

/// BlurPool: blurs every channel with the `filter_size` binomial filter (zero padding
/// `padding` on each side), then keeps every `stride`-th value. With `padding = (filter_size − 1)/2`
/// and odd sizes, the output is `⌈H / stride⌉`; use it after a stride-1 max pooling, or in place of
/// a strided conv's stride. (The reference implementation pads by reflection; convkit pads with
/// zeros, which only changes the border.)
///
/// # Shapes
/// input `[N, C, H, W]` → `[N, C, H_out, W_out]`,
/// `H_out = ⌊(H + 2·padding − filter_size) / stride⌋ + 1`, likewise W.
///
/// # Errors
/// A zero filter size or stride, a non-4-D input, a filter larger than the padded input.
pub fn blur_pool2d(
    input: &Tensor,
    filter_size: usize,
    stride: usize,
    padding: usize,
) -> Result<Tensor> {
    let &[_, c, _, _] = input.dims() else {
        return Err(Error::shape(
            "blur_pool2d",
            format!("input must be [N, C, H, W], got {}", input.shape()),
        ));
    };
    if stride == 0 {
        return Err(Error::config("blur_pool2d", "stride must be at least 1"));
    }
    let taps = binomial_filter(filter_size)?;
    let weight = Tensor::from_vec(taps.repeat(c), [c, 1, filter_size, filter_size])?;
    let config = Conv2dConfig {
        stride: (stride, stride),
        padding: (padding, padding),
        groups: c,
        ..Default::default()
    };
    conv2d(input, &weight, None, &config)
}
