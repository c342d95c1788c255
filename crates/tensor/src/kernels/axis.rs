//! One spatial axis of a convolution, and which outputs of a kernel tap read inside the input
//! (so direct kernels can run their inner loops without bounds checks).

/// Input length, output length, stride, padding and dilation along one axis.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Axis {
    pub len: usize,
    pub out: usize,
    pub stride: usize,
    pub pad: usize,
    pub dil: usize,
}

impl Axis {
    /// For kernel tap `k`: the outputs `o0..o1` whose input coordinate `o·stride + k·dil − pad`
    /// lies in `0..len`, and the input coordinate of `o0`, as `(o0, o1, i0)` (`(0, 0, 0)` if none).
    pub fn valid(&self, k: usize) -> (usize, usize, usize) {
        let off = k * self.dil;
        let s = self.stride;
        let lo = if self.pad > off {
            (self.pad - off).div_ceil(s)
        } else {
            0
        };
        let hi = (self.len + self.pad).saturating_sub(off).div_ceil(s);
        let (lo, hi) = (lo.min(self.out), hi.min(self.out));
        if lo >= hi {
            return (0, 0, 0);
        }
        (lo, hi, lo * s + off - self.pad)
    }
}
