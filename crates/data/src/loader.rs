//! [`DataLoader`]: seeded shuffling, batching, augmentation and normalisation, with batches
//! prepared ahead by worker threads.

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
use crate::normalize::{lookup_table, Normalize};
use crate::prepare::Preparer;
use crate::shard::{global_batches, Shard};
use crate::transforms::Pipeline;

/// How many finished batches each worker may hold for the consumer before it blocks.
const PREFETCH_PER_WORKER: usize = 2;

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
    /// Soft targets, `batch × classes` probabilities (each row sums to 1), when mixup or label
    /// smoothing is on; `None` means the targets are `labels`.
    pub targets: Option<Vec<f32>>,
    /// Position of each image in the dataset.
    pub indices: Vec<usize>,
}

/// Hands out a dataset in batches, epoch by epoch.
///
/// The order of epoch `e` depends only on `(seed, e)` (a ChaCha8 generator seeded from `seed`, on
/// stream `e`), and every random augmentation of sample `i` in epoch `e` only on `(seed, e, i)`, so
/// a run can be repeated, and resumed at any epoch, exactly, whatever the number of workers.
#[derive(Clone)]
pub struct DataLoader {
    dataset: Arc<Dataset>,
    config: LoaderConfig,
    preparer: Arc<Preparer>,
    workers: usize,
    shard: Shard,
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
        let preparer = Arc::new(Preparer {
            dataset: Arc::clone(&dataset),
            table: lookup_table(config.normalize.as_ref(), dataset.channels())?,
            normalize: config.normalize.clone(),
            pipeline: Pipeline::default(),
            mixup_alpha: None,
            label_smoothing: None,
            seed: config.seed,
        });
        Ok(Self {
            dataset,
            config,
            preparer,
            workers: 1,
            shard: Shard::SINGLE,
        })
    }

    /// Prepares batches on `workers` threads (default 1), each making every `workers`-th batch.
    /// The batches and their order don't depend on this number.
    ///
    /// # Errors
    /// [`Error::Invalid`] if `workers` is zero.
    pub fn with_workers(mut self, workers: usize) -> Result<Self> {
        if workers == 0 {
            return Err(Error::Invalid(
                "data loader: at least 1 worker thread is needed".to_string(),
            ));
        }
        self.workers = workers;
        Ok(self)
    }

    /// Applies `pipeline` to every image (pixels in [0, 1] scale) before normalisation, with
    /// randomness derived from `(seed, epoch, index)`.
    ///
    /// # Errors
    /// [`Error::Invalid`] if a transform's parameters are invalid, or don't suit the dataset's
    /// images (see [`Pipeline::check_input`]).
    pub fn with_transforms(mut self, pipeline: Pipeline) -> Result<Self> {
        pipeline
            .transforms()
            .iter()
            .try_for_each(|t| t.validate())?;
        let ds = &self.dataset;
        pipeline.check_input([ds.channels(), ds.height(), ds.width()])?;
        Arc::make_mut(&mut self.preparer).pipeline = pipeline;
        Ok(self)
    }

    /// Mixes each batch with mixup at `Beta(alpha, alpha)` and fills [`Batch::targets`] with
    /// the soft targets.
    ///
    /// # Errors
    /// [`Error::Invalid`] if `alpha` is not a positive number.
    pub fn with_mixup(mut self, alpha: f32) -> Result<Self> {
        if !(alpha.is_finite() && alpha > 0.0) {
            return Err(Error::Invalid(format!(
                "mixup: alpha must be a positive number, got {alpha}"
            )));
        }
        Arc::make_mut(&mut self.preparer).mixup_alpha = Some(alpha);
        Ok(self)
    }

    /// Smooths every batch's targets with `epsilon` (see [`smooth_targets`]), filling
    /// [`Batch::targets`]; with mixup, the mixed targets are smoothed.
    ///
    /// # Errors
    /// [`Error::Invalid`] if `epsilon` is not in [0, 1].
    pub fn with_label_smoothing(mut self, epsilon: f32) -> Result<Self> {
        if !(0.0..=1.0).contains(&epsilon) {
            return Err(Error::Invalid(format!(
                "label smoothing: epsilon must be in [0, 1], got {epsilon}"
            )));
        }
        Arc::make_mut(&mut self.preparer).label_smoothing = Some(epsilon);
        Ok(self)
    }

    /// Makes this loader hand out only `shard.rank`'s part of every batch of a data-parallel job
    /// of `shard.ranks` processes (see [`Shard`]): every rank then has the same number of
    /// batches, and the ranks' batches of a step together are the batch one process would take.
    /// A last batch holding fewer images than there are ranks joins the batch before it.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a shard that cannot give every rank an image of every batch (see
    /// [`Shard::check`]).
    pub fn with_shard(mut self, shard: Shard) -> Result<Self> {
        shard.check(self.config.batch_size, self.dataset.len())?;
        self.shard = shard;
        Ok(self)
    }

    /// The part of each batch this loader hands out ([`Shard::SINGLE`] unless sharded).
    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// Number of worker threads.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// `[channels, height, width]` of the images in a batch (the transforms may resize).
    pub fn image_dims(&self) -> [usize; 3] {
        let [h, w] = self.preparer.output_size();
        [self.dataset.channels(), h, w]
    }

    /// The dataset this loader reads.
    pub fn dataset(&self) -> &Arc<Dataset> {
        &self.dataset
    }

    /// The configuration this loader was built with.
    pub fn config(&self) -> &LoaderConfig {
        &self.config
    }

    /// Number of batches in each epoch (the same on every rank of a shard).
    pub fn num_batches(&self) -> usize {
        self.global_batches().len()
    }

    /// The global batches of an epoch, as ranges of positions in its order.
    fn global_batches(&self) -> Vec<std::ops::Range<usize>> {
        let c = &self.config;
        global_batches(
            self.dataset.len(),
            c.batch_size,
            c.drop_last,
            self.shard.ranks,
        )
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

    /// The batches of epoch `epoch`, prepared by the worker threads up to a few batches ahead.
    /// Dropping the iterator early stops the workers.
    ///
    /// # Panics
    /// If the operating system cannot start a thread.
    pub fn epoch(&self, epoch: u64) -> Batches {
        let order = self.order(epoch);
        let chunks: Arc<Vec<Vec<usize>>> = Arc::new(
            self.global_batches()
                .into_iter()
                .map(|batch| {
                    let part = self.shard.part(batch.len());
                    order[batch][part].to_vec()
                })
                .collect(),
        );
        let num_batches = chunks.len();
        let workers = self.workers.min(num_batches).max(1);
        let mut receivers = Vec::with_capacity(workers);
        let mut producers = Vec::with_capacity(workers);
        for worker in 0..workers {
            let (sender, receiver) = mpsc::sync_channel(PREFETCH_PER_WORKER);
            let (preparer, chunks) = (Arc::clone(&self.preparer), Arc::clone(&chunks));
            let producer = thread::Builder::new()
                .name(format!("convkit-loader-{epoch}-{worker}"))
                .spawn(move || {
                    for number in (worker..chunks.len()).step_by(workers) {
                        let batch = preparer.batch(epoch, number, &chunks[number]);
                        if sender.send(batch).is_err() {
                            return; // the consumer is gone
                        }
                    }
                })
                .expect("cannot start a data loader thread");
            receivers.push(receiver);
            producers.push(producer);
        }
        Batches {
            receivers,
            producers,
            next: 0,
            remaining: num_batches,
        }
    }
}

/// The batches of one epoch, from [`DataLoader::epoch`]: batch `k` comes from worker
/// `k % workers`.
#[derive(Debug)]
pub struct Batches {
    receivers: Vec<Receiver<Batch>>,
    producers: Vec<JoinHandle<()>>,
    next: usize,
    remaining: usize,
}

impl Batches {
    /// Closes the channels (so blocked workers stop) and waits for the workers, re-raising a
    /// worker's panic.
    fn finish(&mut self) {
        self.receivers.clear();
        for producer in self.producers.drain(..) {
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
        if self.remaining == 0 || self.receivers.is_empty() {
            self.finish();
            return None;
        }
        let worker = self.next % self.receivers.len();
        match self.receivers[worker].recv() {
            Ok(batch) => {
                self.next += 1;
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
    fn shards_are_disjoint_and_cover_every_epoch() {
        // Sizes not divisible by the ranks, and last batches smaller than the ranks (10 % 4 = 2).
        for ranks in 1..=4 {
            for (n, batch_size) in [(103, 10), (10, 4), (13, 5), (7, 7), (64, 16)] {
                let whole = loader(n, shuffled(batch_size, 5));
                let shards: Vec<DataLoader> = (0..ranks)
                    .map(|rank| whole.clone().with_shard(Shard { rank, ranks }).unwrap())
                    .collect();
                for epoch in 0..2 {
                    let per_rank: Vec<Vec<Batch>> =
                        shards.iter().map(|s| s.epoch(epoch).collect()).collect();
                    let steps = per_rank[0].len();
                    assert!(per_rank.iter().all(|b| b.len() == steps));
                    assert_eq!(steps, shards[0].num_batches());
                    let mut seen: Vec<usize> = Vec::new();
                    for step in 0..steps {
                        let mut global: Vec<usize> = Vec::new();
                        for batches in &per_rank {
                            assert!(!batches[step].indices.is_empty(), "a rank without images");
                            global.extend(&batches[step].indices);
                        }
                        seen.extend(&global);
                    }
                    // The ranks visit the epoch in the single process's order, disjointly.
                    assert_eq!(
                        seen,
                        whole.order(epoch),
                        "n {n} batch {batch_size} ranks {ranks}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_ranks_batches_of_a_step_are_the_single_process_batch() {
        let whole = loader(50, shuffled(8, 3));
        let halves: Vec<Vec<Vec<usize>>> = (0..2)
            .map(|rank| {
                let shard = whole.clone().with_shard(Shard { rank, ranks: 2 }).unwrap();
                shard.epoch(1).map(|b| b.indices).collect()
            })
            .collect();
        for (step, batch) in whole.epoch(1).enumerate() {
            let joined = [halves[0][step].clone(), halves[1][step].clone()].concat();
            assert_eq!(joined, batch.indices);
        }
        let err = whole.with_shard(Shard { rank: 0, ranks: 9 }).unwrap_err();
        assert!(
            err.to_string().contains("batch size of at least 9"),
            "{err}"
        );
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
