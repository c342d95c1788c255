//! The layers, one per file, each built from a config struct with PyTorch's argument names.
mod batch_norm;
mod dropout;
mod flatten;
mod linear;
mod relu;
mod sequential;
#[cfg(test)]
pub(crate) mod testing;

pub use batch_norm::{BatchNorm1d, BatchNorm2d, BatchNormConfig, BatchNormNd};
pub use dropout::{Dropout, DropoutConfig};
pub use flatten::{Flatten, FlattenConfig};
pub use linear::{Linear, LinearConfig};
pub use relu::ReLU;
pub use sequential::Sequential;
