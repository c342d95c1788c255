//! Data-parallel training across processes and machines over MPI (`mpiexec -n R convkit train`),
//! on the design of PyTorch DDP (Li et al., VLDB 2020): parameters and buffers broadcast from
//! rank 0 at the start (and on resume), each rank training on a disjoint part of every batch of
//! the epoch's seeded permutation, gradients summed across ranks in buckets (weighted by each
//! rank's share of the global batch, so that R ranks train the model one process trains on the
//! same global batch), buffers following rank 0, optional SyncBatchNorm, and only rank 0 writing
//! the run folder. Every exchange is watched: a rank that dies, hangs or fails ends the job with a
//! message naming the rank ([`collectives`]).
//!
//! MPI itself (the `mpi` crate over the system's MPI library, MPICH on Debian) is behind the
//! `mpi` feature; without it the crate only recognises an MPI launch ([`launch`]), so that a
//! binary built without MPI refuses to start as R copies of one run.
pub mod buckets;
pub mod launch;

#[cfg(feature = "mpi")]
pub mod collectives;
#[cfg(feature = "mpi")]
mod data_parallel;
#[cfg(feature = "mpi")]
mod error;
#[cfg(feature = "mpi")]
mod replica_check;
#[cfg(feature = "mpi")]
mod report;

#[cfg(feature = "mpi")]
pub use collectives::{Collectives, CommStats, MpiJob};
#[cfg(feature = "mpi")]
pub use data_parallel::{make_data_parallel, DataParallelConfig};
#[cfg(feature = "mpi")]
pub use error::{Error, Result};
#[cfg(feature = "mpi")]
pub use replica_check::ReplicaCheck;
#[cfg(feature = "mpi")]
pub use report::CommReport;
