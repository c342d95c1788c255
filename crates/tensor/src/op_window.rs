//! How each recorded op moves a receptive field: the window it slides over its input along every
//! spatial axis, or none (element-wise ops), or "not followed" (ops that mix positions). Used by
//! [`crate::receptive_field::graph_receptive_field`]; sectioned like the `Op` enum.
use crate::autograd::Op;
use crate::receptive_field::Window;
use crate::tensor::Tensor;

/// One op's effect on the receptive field of its output.
pub(crate) enum OpWindow {
    /// Each output position depends on the same position of every input (element-wise ops,
    /// normalisations, concatenation or slicing along channels).
    PointWise,
    /// A window slid over the first input, one [`Window`] per spatial axis.
    Sliding(Vec<Window>),
    /// The op mixes positions in a way a window cannot express; the reason names the op.
    NotFollowed(String),
}

fn not_followed(op: &str, why: &str) -> OpWindow {
    OpWindow::NotFollowed(format!("{op}: {why}"))
}

/// Windows with the kernel sizes `kernel` and per-axis `stride` and `dilation`.
fn sliding(kernel: &[usize], stride: &[usize], dilation: &[usize]) -> OpWindow {
    OpWindow::Sliding(
        kernel
            .iter()
            .zip(stride)
            .zip(dilation)
            .map(|((&kernel, &stride), &dilation)| Window {
                kernel,
                stride,
                dilation,
            })
            .collect(),
    )
}

/// Adaptive pooling is a fixed window only when each input size is a multiple of the output size.
fn adaptive(op: &str, input: &Tensor, out: &Tensor) -> OpWindow {
    let (i, o) = (&input.dims()[2..], &out.dims()[2..]);
    if i.iter()
        .zip(o)
        .any(|(&i, &o)| o == 0 || !i.is_multiple_of(o))
    {
        return not_followed(
            op,
            &format!("bins of unequal size ({i:?} → {o:?}) are not one window"),
        );
    }
    let k: Vec<usize> = i.iter().zip(o).map(|(i, o)| i / o).collect();
    sliding(&k, &k, &vec![1; k.len()])
}

impl Op {
    /// The window this op slides over its first input (`out` is the op's output).
    pub(crate) fn window(&self, out: &Tensor) -> OpWindow {
        match self {
            Op::Binary { .. }
            | Op::Unary { .. }
            | Op::AddScalar { .. }
            | Op::MulScalar { .. }
            | Op::Narrow { .. }
            | Op::Concat { .. } => OpWindow::PointWise,
            Op::Matmul { .. } | Op::Linear { .. } => {
                not_followed("matmul/linear", "mixes every input position")
            }
            Op::Sum { .. } | Op::SumDims { .. } | Op::MaxDim { .. } => {
                not_followed("reduction", "mixes the reduced positions")
            }
            Op::Reshape { .. } | Op::Transpose { .. } => {
                not_followed("reshape/transpose", "moves positions across axes")
            }
            // ── activations, losses, dropout ──
            Op::Activation { .. } | Op::Prelu { .. } | Op::Dropout { .. } => OpWindow::PointWise,
            Op::Softmax { dim, .. } | Op::LogSoftmax { dim, .. } if *dim <= 1 => {
                OpWindow::PointWise
            }
            Op::Softmax { .. } | Op::LogSoftmax { .. } => {
                not_followed("softmax", "normalises over a spatial axis")
            }
            Op::Loss { .. } => not_followed("loss", "reduces over every position"),
            // ── end of activations, losses, dropout ──
            // ── normalisation ──
            // Statistics are not counted as seeing the input (the usual convention; exact in eval
            // mode for BatchNorm), and LRN mixes channels only.
            Op::BatchNorm { .. } | Op::RowNorm { .. } | Op::LocalResponseNorm { .. } => {
                OpWindow::PointWise
            }
            // ── end of normalisation ──
            // ── convolutions ──
            Op::Conv {
                transposed: true, ..
            } => not_followed(
                "transposed convolution",
                "output positions see different numbers of inputs",
            ),
            Op::Conv {
                input, geometry, ..
            } => {
                // The geometry is lifted to three axes; the input's own axes are the last ones.
                let lead = 3 - (input.rank() - 2);
                sliding(
                    &geometry.kernel[lead..],
                    &geometry.stride[lead..],
                    &geometry.dilation[lead..],
                )
            }
            // ── end of convolutions ──
            // ── pooling ──
            Op::MaxPool2d { config, .. } | Op::AvgPool2d { config, .. } => sliding(
                &[config.kernel.0, config.kernel.1],
                &[config.stride.0, config.stride.1],
                &[1, 1],
            ),
            Op::GlobalAvgPool { .. } => {
                not_followed("global_avg_pool", "every output sees the whole input")
            }
            Op::AdaptiveAvgPool2d { input } => adaptive("adaptive_avg_pool2d", input, out),
            Op::AdaptiveMaxPool2d { input, .. } => adaptive("adaptive_max_pool2d", input, out),
            Op::ZeroPadShortcut { stride, .. } => sliding(&[1, 1], &[*stride, *stride], &[1, 1]),
            Op::MaxUnpool2d { .. } => {
                not_followed("max_unpool2d", "scatters to data-dependent positions")
            } // ── end of pooling ──
        }
    }
}
