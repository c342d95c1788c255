//! He et al.'s option-A shortcut of the CIFAR ResNets as one op: the input subsampled with the
//! block's stride and zero channels appended. One pass each way, where a 1×1 max-pooling, a zero
//! tensor and a concatenation (and their backwards) took five.
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use rayon::prelude::*;

/// `[N, C, H, W]` → `[N, channels, ⌈H/stride⌉, ⌈W/stride⌉]`: every `stride`-th row and column of
/// each input channel (from the first), then `channels − C` channels of zeros.
///
/// # Errors
/// An input that is not 4-D, a zero stride, or fewer output channels than the input has.
///
/// ```
/// use convkit_tensor::{ops::shortcut::zero_pad_shortcut, Tensor};
/// let x = Tensor::from_vec((0..16).map(|v| v as f32).collect(), [1, 1, 4, 4]).unwrap();
/// let y = zero_pad_shortcut(&x, 2, 2).unwrap();
/// assert_eq!(y.dims(), &[1, 2, 2, 2]);
/// assert_eq!(y.to_vec(), [0.0, 2.0, 8.0, 10.0, 0.0, 0.0, 0.0, 0.0]);
/// ```
pub fn zero_pad_shortcut(x: &Tensor, stride: usize, channels: usize) -> Result<Tensor> {
    let op = "zero_pad_shortcut";
    let &[n, c, h, w] = x.dims() else {
        return Err(Error::shape(
            op,
            format!("input must be [N, C, H, W], got {}", x.shape()),
        ));
    };
    if stride == 0 || channels < c {
        return Err(Error::config(
            op,
            format!(
                "stride {stride} must be at least 1 and {channels} output channels at least the input's {c} (input {})",
                x.shape()
            ),
        ));
    }
    let geometry = Subsampling::new([h, w], stride);
    let plane = geometry.out_len();
    let data = x.data();
    let mut out = vec![0.0; n * channels * plane];
    out.par_chunks_mut(plane.max(1))
        .enumerate()
        .filter(|(i, _)| i % channels < c)
        .for_each(|(i, dst)| {
            let src = (i / channels * c + i % channels) * h * w;
            geometry.gather(&data[src..][..h * w], dst);
        });
    drop(data);
    let [oh, ow] = geometry.out_size;
    let op = Op::ZeroPadShortcut {
        input: x.clone(),
        stride,
    };
    Ok(Tensor::from_op(out, [n, channels, oh, ow].into(), op))
}

/// The input gradient: each kept value's gradient back at its position, zeros elsewhere (the
/// appended channels have no input).
pub(crate) fn zero_pad_shortcut_backward(
    input: &Tensor,
    stride: usize,
    grad: &[f32],
) -> Vec<InputGrad> {
    let &[_, c, h, w] = input.dims() else {
        unreachable!("checked in the forward")
    };
    let geometry = Subsampling::new([h, w], stride);
    let plane = geometry.out_len();
    let channels = grad.len() / (input.dims()[0] * plane).max(1);
    let mut dx = vec![0.0; input.numel()];
    dx.par_chunks_mut((h * w).max(1))
        .enumerate()
        .for_each(|(i, dst)| {
            let src = (i / c * channels + i % c) * plane;
            geometry.scatter(&grad[src..][..plane], dst);
        });
    vec![(input.clone(), dx)]
}

/// Every `stride`-th row and column of an `h × w` plane.
struct Subsampling {
    width: usize,
    stride: usize,
    out_size: [usize; 2],
}

impl Subsampling {
    fn new([h, w]: [usize; 2], stride: usize) -> Subsampling {
        Subsampling {
            width: w,
            stride,
            out_size: [h.div_ceil(stride), w.div_ceil(stride)],
        }
    }

    fn out_len(&self) -> usize {
        self.out_size[0] * self.out_size[1]
    }

    /// The (input, output) offsets of the kept values, row by row.
    fn pairs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let [oh, ow] = self.out_size;
        (0..oh).flat_map(move |i| {
            (0..ow).map(move |j| ((i * self.width + j) * self.stride, i * ow + j))
        })
    }

    fn gather(&self, src: &[f32], dst: &mut [f32]) {
        self.pairs().for_each(|(s, d)| dst[d] = src[s]);
    }

    fn scatter(&self, src: &[f32], dst: &mut [f32]) {
        self.pairs().for_each(|(s, d)| dst[s] = src[d]);
    }
}
