//! The memory allocator: jemalloc, told to keep the memory that tensors free.
//!
//! Every op returns a fresh buffer of up to hundreds of MiB (a batch's activations). glibc serves
//! buffers over 32 MiB from `mmap` and unmaps them when they are freed, so each training step
//! page-faults the same memory in again and the kernel zeroes it (about 9 % of an airbench94 step
//! at batch 512). jemalloc reuses freed extents of any size; with its decay off it never hands
//! them back to the kernel while the process runs, so a step's buffers come from the last step's.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static JEMALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main` (a strong definition of its weak `malloc_conf`, under
/// the prefix `tikv-jemalloc-sys` gives its symbols): no purging of freed dirty or lazily freed pages.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: &[u8; 36] = b"dirty_decay_ms:-1,muzzy_decay_ms:-1\0";
