//! Where a sample's random choices come from: generators keyed by `(seed, epoch, index, stream)`,
//! so a batch's content depends neither on the worker thread that makes it nor on the order.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Which kind of random choice a generator serves, so that the streams differ.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    /// The transforms of one image in one epoch.
    Sample = 0,
    /// Mixup's pairing and weights for one batch.
    Mixup = 1,
    /// Whether an image starts flipped under the alternating flip (the same in every epoch).
    FlipPhase = 2,
}

/// The generator for `(seed, epoch, item, stream)`: the four numbers are the ChaCha key.
pub(crate) fn rng_for(seed: u64, epoch: u64, item: u64, stream: Stream) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    for (chunk, value) in key
        .chunks_exact_mut(8)
        .zip([seed, epoch, item, stream as u64])
    {
        chunk.copy_from_slice(&value.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// The image a pipeline transforms: the run's seed, the epoch (0-based) and the image's index in
/// the dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Draw {
    pub seed: u64,
    pub epoch: u64,
    pub index: u64,
}

impl Draw {
    /// The generator the random transforms draw from.
    pub fn rng(self) -> ChaCha8Rng {
        rng_for(self.seed, self.epoch, self.index, Stream::Sample)
    }

    /// Whether the alternating flip mirrors this image in this epoch: a fixed random half of the
    /// images in even epochs, the other half in odd ones.
    pub fn alternate_flipped(self) -> bool {
        let starts_flipped: bool = rng_for(self.seed, 0, self.index, Stream::FlipPhase).random();
        starts_flipped ^ (self.epoch % 2 == 1)
    }
}
