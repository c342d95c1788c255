//! convkit-tensor: f32 tensors (contiguous, row-major, NCHW for images) with define-by-run
//! reverse-mode autodiff, the ops a CNN needs (each with its backward), and the CPU kernels behind
//! them.
//!
//! ```
//! use convkit_tensor::Tensor;
//! let w = Tensor::from_vec(vec![1.0, 2.0], [2]).unwrap().with_grad();
//! let loss = w.mul(&w).unwrap().sum();
//! loss.backward().unwrap();
//! assert_eq!(w.grad().unwrap().to_vec(), vec![2.0, 4.0]);
//! ```
mod autograd;
mod error;
pub mod gradcheck;
pub mod kernels;
pub mod limits;
mod op_window;
pub mod ops;
pub mod receptive_field;
mod rng;
mod shape;
mod tensor;
mod vector_math;

pub use autograd::{is_grad_enabled, no_grad};
pub use error::{Error, Result};
pub use ops::activation::{Activation, GeluApproximation};
pub use ops::group_norm::{group_norm, instance_norm, layer_norm, InstanceNormConfig};
pub use ops::lrn::{local_response_norm, LrnParams};
pub use ops::matmul::linear;
pub use ops::norm::{
    batch_norm, batch_norm_relu, sync_batch_norm, BatchNormConfig, BatchNormTensors,
    BatchStatsReducer,
};
pub use rng::{seeded_rng, ConvRng};
pub use shape::{conv_out_len, conv_transpose_out_len, window_out_len, Shape};
pub use tensor::Tensor;
