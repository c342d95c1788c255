//! Data-parallel training as the loop sees it: the run is one of `size` processes (ranks), each
//! training on its part of every batch ([`convkit_data::Shard`]) with gradients made equal by a
//! [`crate::GradientHook`]. Rank 0 is the primary: only it writes the run folder (config,
//! checkpoints, metrics CSV, curves) and evaluates; the loop sums the epoch's training figures over
//! the ranks, hands every rank the primary's evaluation, and stops every rank when one is asked
//! to stop. The transport (MPI, in `convkit-distributed`) implements [`Replicas`].
use crate::error::Result;
use convkit_data::Shard;

/// The ranks of a data-parallel job.
pub trait Replicas {
    /// This process's rank; 0 is the primary.
    fn rank(&self) -> usize;
    /// Number of ranks.
    fn size(&self) -> usize;
    /// Replaces every value with its sum over all ranks. Every rank calls it at the same points
    /// of the run with as many values.
    ///
    /// # Errors
    /// A failed exchange (the job cannot go on).
    fn all_sum(&self, values: &mut [f64]) -> Result<()>;
}

/// A run on a single process.
pub(crate) struct SingleProcess;

impl Replicas for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_sum(&self, _values: &mut [f64]) -> Result<()> {
        Ok(())
    }
}

/// This process's part of every batch.
pub(crate) fn shard(replicas: &dyn Replicas) -> Shard {
    Shard {
        rank: replicas.rank(),
        ranks: replicas.size(),
    }
}

/// `values` as the primary holds them, on every rank (the others' are ignored).
pub(crate) fn from_primary(replicas: &dyn Replicas, values: &mut [f64]) -> Result<()> {
    if replicas.rank() != 0 {
        values.fill(0.0);
    }
    replicas.all_sum(values)
}
