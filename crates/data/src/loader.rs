//! [`DataLoader`]: seeded shuffling, batching and normalisation, with batches prepared on a
//! background thread.

use std::fmt;
use std::iter::FusedIterator;
use std::panic;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::normalize::{lookup_table, LookupTable, Normalize};

/// How many finished batches may wait for the consumer before the producer thread blocks.
const PREFETCH: usize = 4;

/// How a [`DataLoader`] batches a dataset. `Default` follows PyTorch's `DataLoader`: batch size 1,
/// no shuffling, a partial last batch kept, pixels scaled to [0, 1] without normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct LoaderConfig {
    /// Images per batch (at least 1).
    pub batch_size: usize,
    /// Visit the images in a fresh random order each epoch, derived from `seed` and the epoch
    /// number.
    pub shuffle: bool,
    /// Leave out the last batch if it would be smaller than `batch_size`.
    pub drop_last: bool,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Normalisation after scaling pixels to [0, 1]; `None` for the scaling alone.
    pub normalize: Option<Normalize>,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        Self {
            batch_size: 1,
            shuffle: false,
            drop_last: false,
            seed: 0,
            normalize: None,
        }
    }
}

/// A batch of images as f32 pixels, with their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Pixels in NCHW order, `dims.iter().product()` of them.
    pub images: Vec<f32>,
    /// `[batch, channels, height, width]`.
    pub dims: [usize; 4],
    /// Class index of each image.
    pub labels: Vec<usize>,
    /// Position of each image in the dataset.
    pub indices: Vec<usize>,
}

/// Hands out a dataset in batches, epoch by epoch.
///
/// The order of epoch `e` depends only on `(seed, e)` (a ChaCha8 generator seeded from `seed`, on
/// stream `e`), so a run can be repeated, and resumed at any epoch, exactly.
#[derive(Clone)]
pub struct DataLoader {
    dataset: Arc<Dataset>,
    config: LoaderConfig,
    table: Arc<LookupTable>,
}

/// Leaves out the lookup table, which `config` determines.
impl fmt::Debug for DataLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataLoader")
            .field("dataset", &self.dataset)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl DataLoader {
    /// A loader over `dataset` configured by `config`.
    ///
    /// # Errors
    /// [`Error::Invalid`] if `batch_size` is zero, or `normalize` doesn't give one finite mean and
    /// one positive std per channel of the dataset.
    pub fn new(dataset: Arc<Dataset>, config: LoaderConfig) -> Result<Self> {
        if config.batch_size == 0 {
            return Err(Error::Invalid(
                "data loader: batch size must be at least 1".to_string(),
            ));
        }
        let table = Arc::new(lookup_table(config.normalize.as_ref(), dataset.channels())?);
        Ok(Self {
            dataset,
            config,
            table,
        })
    }

    /// The dataset this loader reads.
    pub fn dataset(&self) -> &Arc<Dataset> {
        &self.dataset
    }

    /// The configuration this loader was built with.
    pub fn config(&self) -> &LoaderConfig {
        &self.config
    }

    /// Number of batches in each epoch.
    pub fn num_batches(&self) -> usize {
        let (n, b) = (self.dataset.len(), self.config.batch_size);
        if self.config.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// The order in which epoch `epoch` visits the dataset: a permutation of `0..len` if shuffling,
    /// else the identity.
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.dataset.len()).collect();
        if self.config.shuffle {
            let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
            rng.set_stream(epoch);
            order.shuffle(&mut rng);
        }
        order
    }

    /// The batches of epoch `epoch`, prepared by a background thread up to a few batches ahead.
    /// Dropping the iterator early stops that thread.
    ///
    /// # Panics
    /// If the operating system cannot start a thread.
    pub fn epoch(&self, epoch: u64) -> Batches {
        let (sender, receiver) = mpsc::sync_channel(PREFETCH);
        let (dataset, table) = (Arc::clone(&self.dataset), Arc::clone(&self.table));
        let order = self.order(epoch);
        let (batch_size, num_batches) = (self.config.batch_size, self.num_batches());
        let producer = thread::Builder::new()
            .name(format!("convkit-loader-epoch-{epoch}"))
            .spawn(move || {
                for indices in order.chunks(batch_size).take(num_batches) {
                    if sender.send(make_batch(&dataset, &table, indices)).is_err() {
                        return; // the consumer is gone
                    }
                }
            })
            .expect("cannot start the data loader thread");
        Batches {
            receiver: Some(receiver),
            producer: Some(producer),
            remaining: num_batches,
        }
    }
}

/// Gathers the images at `indices` into one batch, mapping each pixel through `table` in a single
/// pass.
fn make_batch(dataset: &Dataset, table: &LookupTable, indices: &[usize]) -> Batch {
    let plane = dataset.height() * dataset.width();
    let image_len = dataset.image_len();
    let mut images = Vec::with_capacity(indices.len() * image_len);
    for &i in indices {
        let image = &dataset.images()[i * image_len..(i + 1) * image_len];
        for (pixels, values) in image.chunks_exact(plane).zip(table) {
            images.extend(pixels.iter().map(|&p| values[usize::from(p)]));
        }
    }
    Batch {
        images,
        dims: [
            indices.len(),
            dataset.channels(),
            dataset.height(),
            dataset.width(),
        ],
        labels: indices.iter().map(|&i| dataset.labels()[i]).collect(),
        indices: indices.to_vec(),
    }
}

/// The batches of one epoch, from [`DataLoader::epoch`].
#[derive(Debug)]
pub struct Batches {
    receiver: Option<Receiver<Batch>>,
    producer: Option<JoinHandle<()>>,
    remaining: usize,
}

impl Batches {
    /// Closes the channel (so a producer blocked on it stops) and waits for the producer,
    /// re-raising its panic.
    fn finish(&mut self) {
        self.receiver = None;
        if let Some(producer) = self.producer.take() {
            if let Err(payload) = producer.join() {
                if !thread::panicking() {
                    panic::resume_unwind(payload);
                }
            }
        }
    }
}

impl Iterator for Batches {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        match self.receiver.as_ref()?.recv() {
            Ok(batch) => {
                self.remaining -= 1;
                Some(batch)
            }
            Err(_) => {
                self.finish();
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Batches {}

impl FusedIterator for Batches {}

impl Drop for Batches {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// `n` single-channel 2×2 images; every pixel of image `i` is `i`, and its label is `i % 3`.
    fn dataset(n: usize) -> Arc<Dataset> {
        let images = (0..n).flat_map(|i| [i as u8; 4]).collect();
        let labels = (0..n).map(|i| i % 3).collect();
        Arc::new(
            Dataset::new(
                images,
                labels,
                [1, 2, 2],
                vec!["a".into(), "b".into(), "c".into()],
            )
            .unwrap(),
        )
    }

    fn loader(n: usize, config: LoaderConfig) -> DataLoader {
        DataLoader::new(dataset(n), config).unwrap()
    }

    fn shuffled(batch_size: usize, seed: u64) -> LoaderConfig {
        LoaderConfig {
            batch_size,
            shuffle: true,
            seed,
            ..Default::default()
        }
    }

    fn visited(loader: &DataLoader, epoch: u64) -> Vec<usize> {
        loader
            .epoch(epoch)
            .flat_map(|batch| batch.indices)
            .collect()
    }

    #[test]
    fn each_epoch_visits_every_index_once_with_matching_pixels_and_labels() {
        let loader = loader(103, shuffled(10, 7));
        for epoch in 0..3 {
            let mut seen = Vec::new();
            for batch in loader.epoch(epoch) {
                assert_eq!(batch.dims, [batch.indices.len(), 1, 2, 2]);
                for (k, &i) in batch.indices.iter().enumerate() {
                    assert_eq!(batch.labels[k], i % 3);
                    assert_eq!(batch.images[4 * k..4 * k + 4], [i as f32 / 255.0; 4]);
                }
                seen.extend(batch.indices);
            }
            assert_ne!(
                seen,
                (0..103).collect::<Vec<_>>(),
                "epoch {epoch} is not shuffled"
            );
            seen.sort_unstable();
            assert_eq!(seen, (0..103).collect::<Vec<_>>());
        }
    }

    #[test]
    fn order_depends_only_on_seed_and_epoch() {
        let a = loader(50, shuffled(8, 42));
        let b = loader(50, shuffled(8, 42));
        assert_eq!(visited(&a, 3), visited(&b, 3));
        assert_eq!(visited(&a, 3), a.order(3));
        assert_ne!(a.order(3), a.order(4));
        assert_ne!(a.order(3), loader(50, shuffled(8, 43)).order(3));
    }

    #[test]
    fn without_shuffle_the_order_is_the_dataset_order() {
        let loader = loader(
            5,
            LoaderConfig {
                batch_size: 2,
                ..Default::default()
            },
        );
        assert_eq!(visited(&loader, 9), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn drop_last_decides_the_fate_of_a_partial_last_batch() {
        for (drop_last, sizes) in [(false, vec![4, 4, 2]), (true, vec![4, 4])] {
            let loader = loader(
                10,
                LoaderConfig {
                    batch_size: 4,
                    drop_last,
                    ..shuffled(4, 1)
                },
            );
            assert_eq!(loader.num_batches(), sizes.len());
            let batches = loader.epoch(0);
            assert_eq!(batches.len(), sizes.len());
            assert_eq!(batches.map(|b| b.dims[0]).collect::<Vec<_>>(), sizes);
        }
        let exact = loader(
            8,
            LoaderConfig {
                batch_size: 4,
                drop_last: false,
                ..Default::default()
            },
        );
        assert_eq!(exact.num_batches(), 2);
    }

    #[test]
    fn batches_are_normalised_per_channel() {
        // Two channels of 1×1: channel 0 holds the image index, channel 1 holds 255.
        let images = (0..4u8).flat_map(|i| [i * 50, 255]).collect();
        let ds = Arc::new(Dataset::new(images, vec![0; 4], [2, 1, 1], vec!["x".into()]).unwrap());
        let normalize = Some(Normalize {
            mean: vec![0.5, 0.25],
            std: vec![0.5, 0.25],
        });
        let loader = DataLoader::new(
            ds,
            LoaderConfig {
                batch_size: 4,
                normalize,
                ..Default::default()
            },
        )
        .unwrap();
        let batch = loader.epoch(0).next().unwrap();
        let expected: Vec<f32> = (0..4)
            .flat_map(|i| [(i as f32 * 50.0 / 255.0 - 0.5) / 0.5, (1.0 - 0.25) / 0.25])
            .collect();
        assert_eq!(batch.images, expected);
        assert_eq!(batch.images[1], 3.0);
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let err = DataLoader::new(
            dataset(3),
            LoaderConfig {
                batch_size: 0,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("batch size must be at least 1"),
            "{err}"
        );
        let normalize = Some(Normalize {
            mean: vec![0.5; 3],
            std: vec![0.5; 3],
        });
        let err = DataLoader::new(
            dataset(3),
            LoaderConfig {
                normalize,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("the images have 1 channel"),
            "{err}"
        );
    }

    #[test]
    fn dropping_an_epoch_early_stops_the_producer() {
        let (done, finished) = mpsc::channel();
        thread::spawn(move || {
            let loader = loader(1000, shuffled(1, 0));
            let mut batches = loader.epoch(0);
            batches.next().unwrap();
            thread::sleep(Duration::from_millis(50)); // let the producer fill the channel and block
            drop(batches);
            drop(loader.epoch(1)); // dropped before reading anything
            let mut fused = loader.epoch(2).skip(999);
            assert!(fused.next().is_some());
            assert!(fused.next().is_none() && fused.next().is_none());
            done.send(()).unwrap();
        });
        finished
            .recv_timeout(Duration::from_secs(20))
            .expect("dropping a partly read epoch hung");
    }
}
