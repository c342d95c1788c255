//! Tensor ops, one file per family; each op's forward and backward sit side by side.
pub mod activation;
pub mod adaptive_pool;
pub mod blur_pool;
pub(crate) mod broadcast;
pub mod conv;
pub mod dropout;
pub mod elementwise;
pub mod group_norm;
pub mod loss;
pub mod lrn;
pub mod matmul;
pub mod norm;
pub mod pool;
pub mod reduce;
pub mod shape_ops;
pub mod shortcut;
pub mod unpool;
