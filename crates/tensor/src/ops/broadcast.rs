//! NumPy-style broadcasting: the output shape of two operands and the walk that maps each output
//! element to the element of an operand it reads.
use crate::error::{Error, Result};
use crate::shape::Shape;

/// The shape two operands broadcast to (dims aligned from the right; a dim of 1 stretches).
pub(crate) fn broadcast_shape(op: &'static str, a: &Shape, b: &Shape) -> Result<Shape> {
    let rank = a.rank().max(b.rank());
    let dim = |s: &Shape, i: usize| {
        let offset = rank - s.rank();
        if i < offset {
            1
        } else {
            s.dims()[i - offset]
        }
    };
    let mut dims = Vec::with_capacity(rank);
    for i in 0..rank {
        let (x, y) = (dim(a, i), dim(b, i));
        if x != y && x != 1 && y != 1 {
            return Err(Error::shape(
                op,
                format!("shapes {a} and {b} cannot be broadcast together"),
            ));
        }
        dims.push(x.max(y));
    }
    Ok(Shape::from(dims))
}

/// For each element of `out` (row-major), the offset of the element of `input` it broadcasts from.
/// `input` must broadcast to `out`.
pub(crate) struct BroadcastOffsets {
    dims: Vec<usize>,
    strides: Vec<usize>,
    index: Vec<usize>,
    offset: usize,
    remaining: usize,
}

impl BroadcastOffsets {
    pub(crate) fn new(out: &Shape, input: &Shape) -> Self {
        let rank = out.rank();
        let pad = rank - input.rank();
        let in_strides = input.strides();
        let strides = (0..rank)
            .map(|i| {
                if i < pad || input.dims()[i - pad] == 1 {
                    0
                } else {
                    in_strides[i - pad]
                }
            })
            .collect();
        BroadcastOffsets {
            dims: out.dims().to_vec(),
            strides,
            index: vec![0; rank],
            offset: 0,
            remaining: out.numel(),
        }
    }
}

impl Iterator for BroadcastOffsets {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let current = self.offset;
        // Advance the multi-index like an odometer, keeping the offset in step.
        for d in (0..self.dims.len()).rev() {
            self.index[d] += 1;
            self.offset += self.strides[d];
            if self.index[d] < self.dims[d] {
                break;
            }
            self.offset -= self.strides[d] * self.dims[d];
            self.index[d] = 0;
        }
        Some(current)
    }
}

/// Sums `grad` (shaped `out`) down to `input`'s shape: the adjoint of broadcasting.
pub(crate) fn sum_to_shape(grad: &[f32], out: &Shape, input: &Shape) -> Vec<f32> {
    if out == input {
        return grad.to_vec();
    }
    let mut acc = vec![0.0; input.numel()];
    for (g, offset) in grad.iter().zip(BroadcastOffsets::new(out, input)) {
        acc[offset] += g;
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let s = broadcast_shape("t", &Shape::from([4, 3, 2, 2]), &Shape::from([3, 1, 1])).unwrap();
        assert_eq!(s.dims(), &[4, 3, 2, 2]);
        let err = broadcast_shape("add", &Shape::from([2, 3]), &Shape::from([4])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "add: shapes [2, 3] and [4] cannot be broadcast together"
        );
    }

    #[test]
    fn offsets_per_channel() {
        let offs: Vec<usize> =
            BroadcastOffsets::new(&Shape::from([1, 2, 2, 2]), &Shape::from([2, 1, 1])).collect();
        assert_eq!(offs, vec![0, 0, 0, 0, 1, 1, 1, 1]);
        let offs: Vec<usize> =
            BroadcastOffsets::new(&Shape::from([2, 3]), &Shape::from([3])).collect();
        assert_eq!(offs, vec![0, 1, 2, 0, 1, 2]);
        let summed = sum_to_shape(
            &[1., 2., 3., 4., 5., 6.],
            &Shape::from([2, 3]),
            &Shape::from([2, 1]),
        );
        assert_eq!(summed, vec![6., 15.]);
    }
}
