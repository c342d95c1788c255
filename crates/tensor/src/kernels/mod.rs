//! Plain CPU kernels over slices: no Tensor type, no autodiff.
//!
//! Every kernel takes flat row-major `f32` slices whose shapes are documented on the function
//! (NCHW for images) and *overwrites* its output buffers. The optimised kernels are tested against
//! naive direct-loop references (`reference.rs`) over edge geometries.
//!
//! Convolutions of every rank share one geometry ([`conv_geometry::ConvGeometry`]) and one
//! driver (`conv.rs`), which runs dense 1-D/2-D convolutions on the direct kernel
//! (`direct_conv/`: SIMD register tiles dispatched at run time to AVX-512, AVX2 or scalar code) and
//! the rest through im2col + GEMM; depthwise 2-D convolutions have direct kernels (`depthwise.rs`).
//!
//! Threads: kernels parallelise with rayon (over the batch, or over N·C planes) and take the thread
//! count from the current rayon pool (`RAYON_NUM_THREADS`). Scratch buffers (im2col columns, tile accumulators) are
//! per-thread and reused across calls; nothing allocates inside hot loops.

pub mod adaptive_pool;
pub(crate) mod axis;
pub mod conv;
pub mod conv_geometry;
pub mod depthwise;
pub mod direct_conv;
pub mod gemm;
pub mod im2col;
pub mod lrn;
pub mod map;
mod max_pool_rows;
pub mod norm;
pub mod pool;
pub mod vol2col;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod conv_tests;
#[cfg(test)]
mod depthwise_tests;
#[cfg(test)]
mod direct_conv_tests;
#[cfg(test)]
mod pointwise_tests;
#[cfg(test)]
mod pool_tests;
#[cfg(test)]
pub(crate) mod reference;
#[cfg(test)]
pub(crate) mod test_util;

use std::cell::Cell;

thread_local! {
    /// Per-thread scratch buffer, reused by every kernel call made on this thread.
    static SCRATCH: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Whether `arch` has AVX2 (pulp's V3 and V4 instruction sets), for the kernels that are written
/// with its intrinsics.
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx2(arch: pulp::Arch) -> bool {
    matches!(arch, pulp::Arch::V3(_) | pulp::Arch::V4(_))
}

/// Runs `f` with this thread's scratch buffer resized to at least `len` elements (contents are
/// unspecified). Re-entrant: a nested call (e.g. a rayon job stolen while waiting) finds the
/// buffer taken and allocates its own.
pub(crate) fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buf = SCRATCH.with(Cell::take);
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    let r = f(&mut buf[..len]);
    SCRATCH.with(|s| s.set(buf));
    r
}
