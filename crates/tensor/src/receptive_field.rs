//! Receptive fields: how many input positions, along each spatial axis, one output position sees.
//! For a chain of layers, [`receptive_field`]; for any recorded graph (branches, residual
//! additions, concatenations), [`graph_receptive_field`], which follows the autograd graph from an
//! output back to the input.
use crate::autograd::topological_order;
use crate::error::{Error, Result};
use crate::op_window::OpWindow;
use crate::tensor::Tensor;
use std::collections::HashMap;

/// One layer's effect on the receptive field: kernel size, stride and dilation along one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
}

/// Receptive field along one axis, in input positions, and the distance in input positions
/// between neighbouring outputs (the product of the strides so far).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Field {
    size: usize,
    jump: usize,
}

impl Field {
    const UNIT: Field = Field { size: 1, jump: 1 };

    fn then(self, w: &Window) -> Field {
        Field {
            size: self.size + w.dilation * (w.kernel.max(1) - 1) * self.jump,
            jump: self.jump * w.stride.max(1),
        }
    }
}

/// The number of input pixels (along one axis) that one output of the stack sees:
/// `r = 1 + Σ_l dilation_l·(kernel_l − 1)·Π_{i<l} stride_i`. A stack of L stride-1 k×k convs
/// gives `1 + L(k − 1)`.
pub fn receptive_field(layers: &[Window]) -> usize {
    layers.iter().fold(Field::UNIT, |f, w| f.then(w)).size
}

/// The receptive field of `output` with respect to `input`, one size per spatial axis (the axes
/// after batch and channel), following the graph the ops recorded: `input` must require grad and
/// `output` must have been computed from it with grad enabled (eval mode is fine).
///
/// Each conv or pooling op grows the field by `dilation·(kernel − 1)·jump` and multiplies the jump
/// by its stride; element-wise ops and normalisations (whose statistics are not counted) keep it;
/// an op with several inputs that depend on `input` (a residual addition, a concatenation) takes
/// the largest field and jump over them, which is the exact union when the branches' windows share
/// their centre, as they do with symmetric padding. Padding and image borders are ignored: this is
/// the theoretical field, which may exceed the image.
///
/// # Errors
/// `output` does not depend on `input`; the spatial rank changes along the way; or the path goes
/// through an op that mixes positions beyond a window (global pooling, linear layers, reshapes,
/// transposed convolutions), named in the message.
pub fn graph_receptive_field(output: &Tensor, input: &Tensor) -> Result<Vec<usize>> {
    let err = |msg: String| Error::shape("receptive_field", msg);
    let mut fields: HashMap<usize, Vec<Field>> = HashMap::new();
    for t in topological_order(output) {
        if t.id() == input.id() {
            fields.insert(t.id(), vec![Field::UNIT; t.rank().saturating_sub(2)]);
            continue;
        }
        let Some(op) = t.node() else { continue };
        let reached: Vec<&Vec<Field>> = op
            .inputs()
            .iter()
            .filter_map(|i| fields.get(&i.id()))
            .collect();
        let Some(first) = reached.first() else {
            continue;
        };
        if reached.iter().any(|f| f.len() != first.len()) {
            return Err(err(format!(
                "inputs of one op have different spatial ranks (output {})",
                t.shape()
            )));
        }
        let merged: Vec<Field> = (0..first.len())
            .map(|axis| Field {
                size: reached.iter().map(|f| f[axis].size).max().unwrap_or(1),
                jump: reached.iter().map(|f| f[axis].jump).max().unwrap_or(1),
            })
            .collect();
        let field = match op.window(&t) {
            OpWindow::PointWise => merged,
            OpWindow::Sliding(windows) if windows.len() == merged.len() => merged
                .iter()
                .zip(&windows)
                .map(|(f, w)| f.then(w))
                .collect(),
            OpWindow::Sliding(windows) => {
                return Err(err(format!(
                    "a {}-axis window on a {}-axis field (output {})",
                    windows.len(),
                    merged.len(),
                    t.shape()
                )))
            }
            OpWindow::NotFollowed(why) => return Err(err(why)),
        };
        fields.insert(t.id(), field);
    }
    fields
        .remove(&output.id())
        .map(|f| f.iter().map(|f| f.size).collect())
        .ok_or_else(|| {
            err(format!(
                "the output {} was not computed from the input {} with grad recorded",
                output.shape(),
                input.shape()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::conv::{conv2d, Conv2dConfig};
    use crate::ops::pool::{avg_pool2d, global_avg_pool2d, Pool2dConfig};
    use crate::rng::seeded_rng;

    #[test]
    fn stacks_of_convs_and_pools() {
        let conv3 = Window {
            kernel: 3,
            stride: 1,
            dilation: 1,
        };
        for l in 0..6 {
            assert_eq!(receptive_field(&vec![conv3; l]), 1 + l * 2);
        }
        let pool2 = Window {
            kernel: 2,
            stride: 2,
            dilation: 1,
        };
        // conv3, pool2, conv3: 1 + 2 + 1 + 2·2 = 8.
        assert_eq!(receptive_field(&[conv3, pool2, conv3]), 8);
        let dilated = Window {
            kernel: 3,
            stride: 1,
            dilation: 2,
        };
        assert_eq!(receptive_field(&[dilated]), 5);
    }

    fn conv(x: &Tensor, k: (usize, usize), config: Conv2dConfig) -> Tensor {
        let w = Tensor::randn(
            [2, x.dims()[1] / config.groups, k.0, k.1],
            &mut seeded_rng(0),
        );
        conv2d(x, &w, None, &config).unwrap()
    }

    /// Which input positions change output position (row, col) of channel 0: the measured field.
    fn measured_field(x: &Tensor, y: &Tensor, at: [usize; 2]) -> [usize; 2] {
        let w_out = y.dims()[3];
        let mut g = vec![0.0; y.numel()];
        g[at[0] * w_out + at[1]] = 1.0;
        let grad_out = Tensor::from_vec(g, y.dims()).unwrap();
        y.mul(&grad_out).unwrap().sum().backward().unwrap();
        let grad = x.grad().unwrap();
        let (h, w) = (x.dims()[2], x.dims()[3]);
        let mut rows = (usize::MAX, 0);
        let mut cols = (usize::MAX, 0);
        for r in 0..h {
            for c in 0..w {
                if grad.get(&[0, 0, r, c]).unwrap() != 0.0 {
                    rows = (rows.0.min(r), rows.1.max(r));
                    cols = (cols.0.min(c), cols.1.max(c));
                }
            }
        }
        [rows.1 - rows.0 + 1, cols.1 - cols.0 + 1]
    }

    #[test]
    fn residual_graph_matches_the_gradient_footprint() {
        // Branch a: conv 3×3 s2 → avg-pool 3 s1 → dilated conv 3×3 d2; branch b: conv 1×1 s2;
        // both are 16×15, added, then a 5×3 conv. (Average pooling and no ReLU, so that every
        // position in the field gets a gradient.)
        let x = Tensor::randn([1, 1, 31, 29], &mut seeded_rng(1)).with_grad();
        let a = conv(
            &x,
            (3, 3),
            Conv2dConfig {
                stride: (2, 2),
                padding: (1, 1),
                ..Default::default()
            },
        );
        let a = avg_pool2d(&a, &Pool2dConfig::new((3, 3), (1, 1), (1, 1))).unwrap();
        let a = conv(
            &a,
            (3, 3),
            Conv2dConfig {
                dilation: (2, 2),
                padding: (2, 2),
                ..Default::default()
            },
        );
        let b = conv(
            &x,
            (1, 1),
            Conv2dConfig {
                stride: (2, 2),
                ..Default::default()
            },
        );
        let y = conv(
            &a.add(&b).unwrap(),
            (5, 3),
            Conv2dConfig {
                padding: (2, 1),
                ..Default::default()
            },
        );
        // Rows: 1 + 2 (3×3) → jump 2; + 2·2 (pool 3) + 2·2·2 (dilated) + 4·2 (5-tall) = 23.
        // Cols: 1 + 2 + 4 + 8 + 2·2 (3-wide) = 19.
        let field = graph_receptive_field(&y, &x).unwrap();
        assert_eq!(field, [23, 19]);
        // An interior output's gradient footprint has exactly that extent.
        assert_eq!(measured_field(&x, &y, [7, 7]), [23, 19]);
    }

    #[test]
    fn ops_that_mix_every_position_are_named() {
        let x = Tensor::randn([1, 1, 8, 8], &mut seeded_rng(1)).with_grad();
        let y = global_avg_pool2d(&conv(&x, (3, 3), Conv2dConfig::default())).unwrap();
        let err = graph_receptive_field(&y, &x).unwrap_err().to_string();
        assert!(err.contains("global_avg_pool"), "{err}");
        let unrelated = Tensor::zeros([1, 1, 4, 4]);
        assert!(graph_receptive_field(&unrelated, &x).is_err());
    }
}
