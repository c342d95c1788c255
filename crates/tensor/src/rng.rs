//! The seeded random number generator every random choice in convkit comes from.
use rand::SeedableRng;

/// convkit's RNG: ChaCha8, reproducible across platforms and versions of this crate.
pub type ConvRng = rand_chacha::ChaCha8Rng;

pub fn seeded_rng(seed: u64) -> ConvRng {
    ConvRng::seed_from_u64(seed)
}
