//! glibc malloc tuning for tensor-sized buffers.
//!
//! Every op returns a fresh buffer of up to tens of MiB (a batch's activations). glibc by default
//! serves those from `mmap` or gives the freed top of the heap back to the kernel after each
//! step, so the next step page-faults the same memory in again (≈ 30 MiB of faults per LeNet
//! inference batch of 256, about 14 % of its CPU time). Keeping freed memory in the heap makes
//! the next step reuse it.

/// Raises glibc's mmap and trim thresholds (a no-op on other C libraries).
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any other thread
    // exists. 32 MiB is the largest mmap threshold glibc accepts on 64-bit targets.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
