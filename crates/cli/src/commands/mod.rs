//! One module per subcommand: its arguments and its `run`.
pub mod attack;
pub mod augment;
pub mod bench;
pub mod eval;
pub mod finetune;
pub mod init_stats;
pub mod inspect;
pub mod lr_find;
pub mod plot;
pub mod predict;
pub mod search;
pub mod summary;
pub mod train;
#[cfg(feature = "mpi")]
pub mod train_mpi;
pub mod weights;
