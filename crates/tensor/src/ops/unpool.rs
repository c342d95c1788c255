//! Max-unpooling: the partial inverse of max pooling, given the pooling's arg-max indices.
use crate::autograd::{InputGrad, Op};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use rayon::prelude::*;
use std::sync::Arc;

/// Arg-max indices of a max pooling, PyTorch's convention: for every output cell, the flat index
/// `y·W + x` of the winning cell within its `[H, W]` input plane.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolIndices {
    indices: Arc<Vec<u32>>,
    shape: Shape,
    input_hw: (usize, usize),
}

impl PoolIndices {
    pub(crate) fn new(indices: Arc<Vec<u32>>, shape: Shape, input_hw: (usize, usize)) -> Self {
        PoolIndices {
            indices,
            shape,
            input_hw,
        }
    }

    /// Indices from another source (e.g. PyTorch's `return_indices`), laid out like the pooled
    /// output `[N, C, H_out, W_out]`, into planes of size `input_hw`.
    ///
    /// # Errors
    /// A length that doesn't match the shape, or an index outside its plane.
    pub fn from_vec(
        indices: Vec<u32>,
        shape: impl Into<Shape>,
        input_hw: (usize, usize),
    ) -> Result<Self> {
        let shape = shape.into();
        let plane = input_hw.0 * input_hw.1;
        if shape.dims().len() != 4 || indices.len() != shape.numel() {
            return Err(Error::shape(
                "PoolIndices",
                format!("{} indices don't fill the 4-D shape {shape}", indices.len()),
            ));
        }
        if let Some(bad) = indices.iter().find(|&&i| i as usize >= plane) {
            return Err(Error::shape(
                "PoolIndices",
                format!("index {bad} is outside the {input_hw:?} plane"),
            ));
        }
        Ok(PoolIndices::new(Arc::new(indices), shape, input_hw))
    }

    /// The flat per-plane indices, laid out like the pooled output.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// Shape of the pooled output the indices belong to.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// (H, W) of the planes the indices point into (the pooling's input).
    pub fn input_hw(&self) -> (usize, usize) {
        self.input_hw
    }
}

/// Max-unpooling, PyTorch's `F.max_unpool2d`: every input value is written at the position its
/// index names in a zero `[output_size]` plane (later writes win where indices repeat).
///
/// # Shapes
/// input `[N, C, H_in, W_in]` (the indices' shape) → `[N, C, H_out, W_out]` with `output_size`
/// `(H_out, W_out)`; PyTorch's default is `(H_in − 1)·stride − 2·padding + kernel`, and
/// `indices.input_hw()` is the size of the input that was pooled.
///
/// # Errors
/// An input whose shape differs from the indices', an index outside the output plane.
pub fn max_unpool2d(
    input: &Tensor,
    indices: &PoolIndices,
    output_size: (usize, usize),
) -> Result<Tensor> {
    if input.dims() != indices.shape.dims() {
        return Err(Error::shape(
            "max_unpool2d",
            format!(
                "input {} and indices {} must have the same shape",
                input.shape(),
                indices.shape
            ),
        ));
    }
    let (n, c) = (input.dims()[0], input.dims()[1]);
    let plane = output_size.0 * output_size.1;
    if let Some(bad) = indices.indices.iter().find(|&&i| i as usize >= plane) {
        return Err(Error::shape(
            "max_unpool2d",
            format!(
                "index {bad} is outside the output size {output_size:?} (input {})",
                input.shape()
            ),
        ));
    }
    let in_plane = input.dims()[2] * input.dims()[3];
    let mut out = vec![0.0; n * c * plane];
    let x = input.data();
    out.par_chunks_mut(plane.max(1))
        .zip(
            x.par_chunks(in_plane.max(1))
                .zip(indices.indices.par_chunks(in_plane.max(1))),
        )
        .for_each(|(o, (x, idx))| {
            for (&v, &k) in x.iter().zip(idx) {
                o[k as usize] = v;
            }
        });
    drop(x);
    let op = Op::MaxUnpool2d {
        input: input.clone(),
        indices: indices.indices.clone(),
    };
    Ok(Tensor::from_op(
        out,
        Shape::new(&[n, c, output_size.0, output_size.1]),
        op,
    ))
}

/// Each input cell's gradient is the output gradient at the position it was written to.
pub(crate) fn max_unpool2d_backward(
    input: &Tensor,
    indices: &[u32],
    out: &Tensor,
    grad: &[f32],
) -> Vec<InputGrad> {
    let plane = out.dims()[2] * out.dims()[3];
    let in_plane = input.dims()[2] * input.dims()[3];
    let mut grad_input = vec![0.0; input.numel()];
    grad_input
        .par_chunks_mut(in_plane.max(1))
        .zip(
            grad.par_chunks(plane.max(1))
                .zip(indices.par_chunks(in_plane.max(1))),
        )
        .for_each(|(gi, (g, idx))| {
            for (gi, &k) in gi.iter_mut().zip(idx) {
                *gi = g[k as usize];
            }
        });
    vec![(input.clone(), grad_input)]
}
