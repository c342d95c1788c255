//! The kernels' thread pool: `--threads N` or `RAYON_NUM_THREADS`, checked against the cores
//! before any thread is spawned.
use anyhow::Context;
use convkit_tensor::limits::check_threads;

/// Sizes rayon's global pool from `--threads` (else rayon reads `RAYON_NUM_THREADS`, where 0
/// means one thread per core).
///
/// # Errors
/// `--threads 0`, or a count above the limit per core in the flag or the variable.
pub fn configure(threads: Option<usize>) -> anyhow::Result<()> {
    if let Some(threads) = threads {
        check_threads("--threads", threads)?;
        return rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("starting the worker threads");
    }
    let from_env = std::env::var("RAYON_NUM_THREADS").ok();
    if let Some(threads) = from_env.and_then(|v| v.trim().parse::<usize>().ok()) {
        if threads > 0 {
            check_threads("RAYON_NUM_THREADS", threads)?;
        }
    }
    Ok(())
}
