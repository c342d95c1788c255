//! Plain CPU kernels over slices: no Tensor type, no autodiff.
pub mod gemm;
