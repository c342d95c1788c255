//! glibc malloc tuning for tensor-sized buffers.
//!
//! Every op returns a fresh buffer of up to hundreds of MiB (a batch's activations). glibc by
//! default serves large buffers from `mmap` and unmaps them when they are freed, or gives the
//! freed top of the heap back to the kernel, so the next step page-faults the same memory in again
//! and the kernel zeroes it (≈ 30 MiB of faults per LeNet inference batch of 256, about 14 % of
//! its CPU time; 1.5 of 1.8 million faults in a few airbench94 steps at batch 512). Serving every
//! buffer from the heap and keeping what is freed there makes the next step reuse it.

/// Turns off glibc's `mmap` allocations and raises its trim threshold (a no-op on other C
/// libraries).
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any other thread
    // exists. With `M_MMAP_MAX` 0, buffers that a thread's own arena cannot hold come from the
    // main arena's heap, which grows with `brk`.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
