//! Datasets and data loading for convkit.
//!
//! Data flows from bytes on disk (MNIST and Fashion-MNIST IDX files, CIFAR-10/100 binary batches,
//! or an image folder; [`download`] fetches and verifies missing official files) to a
//! [`Dataset`] (u8 pixels in NCHW order plus class labels, held in memory), then through a
//! [`DataLoader`] that shuffles it reproducibly from a seed, augments each image
//! ([`transforms`], randomness derived from `(seed, epoch, index)`), normalises it
//! ([`Normalize`]), optionally mixes batches (mixup, soft targets) and hands out [`Batch`]es of f32
//! pixels prepared by worker threads while the caller trains on the previous one. Batches are
//! plain buffers; turning them into tensors is the caller's business.
//!
//! ```no_run
//! use std::sync::Arc;
//! use convkit_data::{default_mnist_dir, DataLoader, LoaderConfig, Mnist, Split};
//!
//! let train = Arc::new(Mnist::load(&default_mnist_dir(), Split::Train)?);
//! let config = LoaderConfig {
//!     batch_size: 64,
//!     shuffle: true,
//!     seed: 42,
//!     normalize: Some(Mnist::normalize()),
//!     ..Default::default()
//! };
//! let loader = DataLoader::new(train, config)?;
//! for batch in loader.epoch(0) {
//!     assert_eq!(batch.images.len(), batch.dims.iter().product::<usize>()); // [n, 1, 28, 28]
//! }
//! # Ok::<(), convkit_data::Error>(())
//! ```

mod cifar;
mod classes;
mod dataset;
pub mod download;
mod error;
mod fashion_mnist;
pub mod idx;
mod image_folder;
mod loader;
mod mnist;
mod normalize;
mod prepare;
mod shard;
mod split;
#[cfg(test)]
mod testing;
pub mod transforms;

pub use cifar::{Cifar10, Cifar100, Cifar100Labels};
pub use classes::parse_classes;
pub use dataset::{Dataset, Sample};
pub use error::{Error, Result};
pub use fashion_mnist::{FashionMnist, FASHION_MNIST_SYSTEM_DIR};
pub use image_folder::{open_image, ImageFolder, ImageFolderConfig, OnCorrupt};
pub use loader::{Batch, Batches, DataLoader, LoaderConfig};
pub use mnist::{default_mnist_dir, Mnist, Split, MNIST_MEAN, MNIST_STD};
pub use normalize::Normalize;
pub use shard::Shard;
