//! Seeding the random layers (dropout and its relatives) from the training loop: inside
//! [`with_rng_seed`]`(seed, ..)` every such layer draws from a generator derived from `seed` and
//! its own construction seed, restarted when the scope begins. The loop opens one scope per epoch
//! with a seed derived from the run's seed and the epoch number, so epoch k's dropout masks are
//! the same whether the run went straight through or was resumed before epoch k. Outside a scope
//! the layers keep drawing from their own generator, as constructed.
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Numbers each scope, so a layer knows when a new one has begun.
static NEXT_SCOPE: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// `(scope id, seed)` of the innermost scope on this thread.
    static SCOPE: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

/// Runs `f` with the random layers it calls on this thread seeded from `seed` (see the module doc).
pub fn with_rng_seed<R>(seed: u64, f: impl FnOnce() -> R) -> R {
    let id = NEXT_SCOPE.fetch_add(1, Ordering::Relaxed);
    let outer = SCOPE.with(|s| s.replace(Some((id, seed))));
    // Restore the outer scope even if `f` panics.
    struct Restore(Option<(u64, u64)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            SCOPE.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(outer);
    f()
}

/// The innermost scope on this thread: `(scope id, seed)`.
pub(crate) fn current() -> Option<(u64, u64)> {
    SCOPE.with(Cell::get)
}
