//! Training as a library: a typed [`TrainConfig`] describes a run, `fit` runs it and reports
//! through callbacks, checkpoints hold weights under PyTorch names with the state to resume.
pub mod tensorboard;
