//! SyncBatchNorm for data-parallel training: inside [`with_sync_batch_norm`]`(reducer, ..)` every
//! batch-norm layer in training mode normalises by the statistics of all replicas' batches
//! together, summed through `reducer` ([`convkit_tensor::sync_batch_norm`]), and so does its
//! backward pass (the reducer travels with the graph). Outside a scope batch norm is per process.
//!
//! A scope rather than a setting on each layer: a built model's layers cannot be reached one by
//! one, and the training step is the one place that knows it runs as a replica. The scope is set
//! and cleared here only, on the thread running the forward pass.
use convkit_tensor::BatchStatsReducer;
use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    /// The reducer of the innermost scope on this thread.
    static REDUCER: RefCell<Option<Arc<dyn BatchStatsReducer>>> = const { RefCell::new(None) };
}

/// Runs `f` with batch norm synchronised through `reducer` (see the module doc).
pub fn with_sync_batch_norm<R>(reducer: Arc<dyn BatchStatsReducer>, f: impl FnOnce() -> R) -> R {
    let outer = REDUCER.with(|r| r.replace(Some(reducer)));
    // Restore the outer scope even if `f` panics.
    struct Restore(Option<Arc<dyn BatchStatsReducer>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            REDUCER.with(|r| *r.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(outer);
    f()
}

/// The reducer of the innermost scope on this thread.
pub(crate) fn current() -> Option<Arc<dyn BatchStatsReducer>> {
    REDUCER.with(|r| r.borrow().clone())
}
