//! convkit-tensor: f32 tensors with reverse-mode autodiff and the CPU kernels behind them.
pub mod kernels;
