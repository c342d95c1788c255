//! The one geometry of the convolution family: batch, channels, groups and, per spatial axis, size,
//! kernel, stride, padding and dilation. 1-D, 2-D and 3-D convolutions (and the transposed ones,
//! through the convolution they are the adjoint of) are all described by a [`ConvGeometry`].

use super::axis::Axis;
use crate::shape::conv_out_len;

/// Shapes and hyper-parameters of one `D`-dimensional convolution (PyTorch's `ConvNd` arguments),
/// spatial values outermost first (depth, height, width).
///
/// Buffers: input `[n, c_in, size...]`, weight `[c_out, c_in/groups, kernel...]`, bias `[c_out]`,
/// output `[n, c_out, out_size()...]`. `groups` must divide `c_in` and `c_out`; strides and
/// dilations must be ≥ 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry<const D: usize> {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Input size per spatial axis.
    pub size: [usize; D],
    /// Kernel size per spatial axis.
    pub kernel: [usize; D],
    pub stride: [usize; D],
    /// Zero padding on each side.
    pub padding: [usize; D],
    pub dilation: [usize; D],
    /// Channel groups (1: dense, `c_in`: depthwise).
    pub groups: usize,
}

/// A 1-D convolution: input `[n, c_in, L]`.
pub type Conv1dGeometry = ConvGeometry<1>;
/// A 2-D convolution: input `[n, c_in, H, W]`.
pub type Conv2dGeometry = ConvGeometry<2>;
/// A 3-D convolution: input `[n, c_in, D, H, W]`.
pub type Conv3dGeometry = ConvGeometry<3>;

impl Conv3dGeometry {
    /// The 2-D convolution of the single input slice, when the depth axis is trivial (one slice,
    /// unit kernel, no padding): the inverse of [`ConvGeometry::lift`].
    pub fn as_plane(&self) -> Option<Conv2dGeometry> {
        let trivial = self.size[0] == 1 && self.kernel[0] == 1 && self.padding[0] == 0;
        let plane = |v: [usize; 3]| [v[1], v[2]];
        trivial.then(|| ConvGeometry {
            n: self.n,
            c_in: self.c_in,
            c_out: self.c_out,
            size: plane(self.size),
            kernel: plane(self.kernel),
            stride: plane(self.stride),
            padding: plane(self.padding),
            dilation: plane(self.dilation),
            groups: self.groups,
        })
    }
}

impl<const D: usize> ConvGeometry<D> {
    /// Output size per axis ([`conv_out_len`]; 0 where the dilated kernel does not fit).
    pub fn out_size(&self) -> [usize; D] {
        std::array::from_fn(|i| {
            conv_out_len(
                self.size[i],
                self.kernel[i],
                self.stride[i],
                self.padding[i],
                self.dilation[i],
            )
            .unwrap_or(0)
        })
    }
    /// Input channels per group.
    pub fn cg_in(&self) -> usize {
        self.c_in / self.groups.max(1)
    }
    /// Output channels per group.
    pub fn cg_out(&self) -> usize {
        self.c_out / self.groups.max(1)
    }
    /// Elements of the input, `n·c_in·Πsize`.
    pub fn input_len(&self) -> usize {
        self.n * self.c_in * self.size.iter().product::<usize>()
    }
    /// Elements of the weight, `c_out·(c_in/groups)·Πkernel`.
    pub fn weight_len(&self) -> usize {
        self.c_out * self.col_rows()
    }
    /// Elements of the output, `n·c_out·Πout_size`.
    pub fn output_len(&self) -> usize {
        self.n * self.c_out * self.out_size().iter().product::<usize>()
    }
    /// Multiply-adds of the forward pass (the backward passes have the same count each).
    pub fn macs(&self) -> usize {
        self.output_len() * self.col_rows()
    }
    /// Rows of one group's column matrix (and weights per output channel), `(c_in/groups)·Πkernel`.
    pub fn col_rows(&self) -> usize {
        self.cg_in() * self.kernel.iter().product::<usize>()
    }
    /// Whether the input already is the column matrix: a unit kernel, stride 1, no padding.
    pub fn is_pointwise(&self) -> bool {
        self.kernel.iter().chain(&self.stride).all(|&v| v == 1)
            && self.padding.iter().all(|&p| p == 0)
    }

    /// The same convolution over `E ≥ D` axes: leading unit axes (size 1, kernel 1, stride 1, no
    /// padding) are added, so a 1-D convolution is a 2-D one over a single row, and a 2-D one a
    /// 3-D one over a single slice.
    ///
    /// # Panics
    /// If `E < D`.
    pub fn lift<const E: usize>(&self) -> ConvGeometry<E> {
        assert!(E >= D, "ConvGeometry::lift: cannot lift {D} axes to {E}");
        let lead = E - D;
        let axis = |values: &[usize; D], unit: usize| -> [usize; E] {
            std::array::from_fn(|i| if i < lead { unit } else { values[i - lead] })
        };
        ConvGeometry {
            n: self.n,
            c_in: self.c_in,
            c_out: self.c_out,
            size: axis(&self.size, 1),
            kernel: axis(&self.kernel, 1),
            stride: axis(&self.stride, 1),
            padding: axis(&self.padding, 0),
            dilation: axis(&self.dilation, 1),
            groups: self.groups,
        }
    }

    /// The spatial axes as the direct kernels walk them.
    pub(crate) fn axes(&self) -> [Axis; D] {
        let out = self.out_size();
        std::array::from_fn(|i| Axis {
            len: self.size[i],
            out: out[i],
            stride: self.stride[i],
            pad: self.padding[i],
            dil: self.dilation[i],
        })
    }

    /// Checks the invariants the kernels rely on (`op` names the caller).
    ///
    /// # Panics
    /// If `groups` is 0 or does not divide both channel counts, or a stride or dilation is 0.
    pub(crate) fn assert_valid(&self, op: &str) {
        assert!(
            self.groups >= 1
                && self.c_in.is_multiple_of(self.groups)
                && self.c_out.is_multiple_of(self.groups),
            "{op}: groups {} must divide c_in {} and c_out {}",
            self.groups,
            self.c_in,
            self.c_out
        );
        assert!(
            self.stride.iter().chain(&self.dilation).all(|&v| v >= 1),
            "{op}: stride and dilation must be >= 1"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry() -> Conv2dGeometry {
        ConvGeometry {
            n: 2,
            c_in: 4,
            c_out: 6,
            size: [7, 8],
            kernel: [3, 2],
            stride: [2, 3],
            padding: [1, 0],
            dilation: [2, 1],
            groups: 2,
        }
    }

    #[test]
    fn sizes_follow_the_formula() {
        let g = geometry();
        // (7 + 2 − 4 − 1)/2 + 1 = 3 ; (8 − 1 − 1)/3 + 1 = 3
        assert_eq!(g.out_size(), [3, 3]);
        assert_eq!(g.input_len(), 2 * 4 * 56);
        assert_eq!(g.weight_len(), 6 * 2 * 6);
        assert_eq!(g.output_len(), 2 * 6 * 9);
        assert_eq!(g.macs(), 2 * 6 * 9 * 12);
        let too_small = ConvGeometry {
            size: [2, 2],
            kernel: [5, 5],
            ..g
        };
        assert_eq!(too_small.output_len(), 0);
    }

    #[test]
    fn lifting_adds_unit_axes_and_keeps_every_size() {
        let g = geometry();
        let g3 = g.lift::<3>();
        assert_eq!(g3.size, [1, 7, 8]);
        assert_eq!(g3.kernel, [1, 3, 2]);
        assert_eq!(g3.padding, [0, 1, 0]);
        assert_eq!(g3.out_size(), [1, 3, 3]);
        assert_eq!(
            (g3.input_len(), g3.weight_len(), g3.output_len()),
            (g.input_len(), g.weight_len(), g.output_len())
        );
        assert_eq!(g.lift::<2>(), g);
        assert_eq!(g3.as_plane(), Some(g));
        assert_eq!(
            ConvGeometry {
                padding: [1, 1, 0],
                ..g3
            }
            .as_plane(),
            None
        );
        assert!(!g.is_pointwise());
        let pointwise = ConvGeometry {
            n: 1,
            c_in: 3,
            c_out: 2,
            size: [5],
            kernel: [1],
            stride: [1],
            padding: [0],
            dilation: [3],
            groups: 1,
        };
        assert!(pointwise.is_pointwise() && pointwise.lift::<3>().is_pointwise());
    }
}
