//! How the ranks of a data-parallel job share an epoch: the seeded permutation is cut into the
//! global batches a single process would take, and each global batch into one contiguous part per
//! rank (sizes differing by at most one), so that the ranks' batches of step `k` together are the
//! single process's batch `k`.
use crate::error::{Error, Result};
use std::ops::Range;

/// This process's part of a data-parallel job: rank `rank` of `ranks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub rank: usize,
    pub ranks: usize,
}

impl Shard {
    /// The whole data on one process.
    pub const SINGLE: Shard = Shard { rank: 0, ranks: 1 };

    /// Checks that the shard can give every rank at least one image of every batch.
    ///
    /// # Errors
    /// [`Error::Invalid`] if `ranks` is zero, `rank` is not below it, the batch holds fewer images
    /// than there are ranks, or the dataset holds fewer images than there are ranks.
    pub fn check(self, batch_size: usize, len: usize) -> Result<()> {
        let Shard { rank, ranks } = self;
        let problem = if ranks == 0 || rank >= ranks {
            format!("rank {rank} of {ranks} does not exist")
        } else if batch_size < ranks {
            format!("a batch of {batch_size} images cannot be shared by {ranks} ranks: give a batch size of at least {ranks}")
        } else if len < ranks {
            format!("{len} images cannot be shared by {ranks} ranks")
        } else {
            return Ok(());
        };
        Err(Error::Invalid(format!("data loader: {problem}")))
    }

    /// The positions of `0..len` that this rank takes out of a global batch of `len` images.
    pub fn part(self, len: usize) -> Range<usize> {
        len * self.rank / self.ranks..len * (self.rank + 1) / self.ranks
    }
}

/// The global batches of an epoch of `len` images as ranges of positions in its order: batches of
/// `batch_size`, the last one smaller unless `drop_last`. A last batch too small to give each of
/// `ranks` ranks an image joins the batch before it (so no rank is ever left without work and
/// every image is still visited).
pub(crate) fn global_batches(
    len: usize,
    batch_size: usize,
    drop_last: bool,
    ranks: usize,
) -> Vec<Range<usize>> {
    let mut batches: Vec<Range<usize>> = (0..len)
        .step_by(batch_size)
        .map(|start| start..(start + batch_size).min(len))
        .collect();
    if let Some(last) = batches.last().filter(|b| b.len() < batch_size) {
        let last = last.clone();
        if drop_last {
            batches.pop();
        } else if last.len() < ranks && batches.len() > 1 {
            batches.pop();
            batches.last_mut().expect("two batches").end = last.end;
        }
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_contiguous_balanced_and_cover_the_batch() {
        for ranks in 1..=4 {
            for len in ranks..20 {
                let parts: Vec<_> = (0..ranks)
                    .map(|rank| Shard { rank, ranks }.part(len))
                    .collect();
                assert_eq!(parts[0].start, 0);
                assert_eq!(parts[ranks - 1].end, len);
                for pair in parts.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start);
                }
                let sizes: Vec<usize> = parts.iter().map(|p| p.len()).collect();
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(*min >= 1 && max - min <= 1, "{len} over {ranks}: {sizes:?}");
            }
        }
    }

    #[test]
    fn a_last_batch_smaller_than_the_ranks_joins_the_one_before() {
        assert_eq!(global_batches(10, 4, false, 1), [0..4, 4..8, 8..10]);
        assert_eq!(global_batches(10, 4, false, 2), [0..4, 4..8, 8..10]);
        assert_eq!(global_batches(10, 4, false, 3), [0..4, 4..10]);
        assert_eq!(global_batches(10, 4, true, 3), [0..4, 4..8]);
        assert_eq!(global_batches(8, 4, false, 4), [0..4, 4..8]);
        assert_eq!(
            global_batches(3, 4, false, 2),
            vec![Range { start: 0, end: 3 }]
        );
        assert_eq!(global_batches(0, 4, false, 2), Vec::<Range<usize>>::new());
    }

    #[test]
    fn impossible_shards_are_rejected_with_the_reason() {
        let cases = [
            (
                Shard { rank: 2, ranks: 2 },
                8,
                10,
                "rank 2 of 2 does not exist",
            ),
            (Shard { rank: 0, ranks: 0 }, 8, 10, "rank 0 of 0"),
            (
                Shard { rank: 0, ranks: 4 },
                3,
                10,
                "batch size of at least 4",
            ),
            (
                Shard { rank: 0, ranks: 4 },
                8,
                3,
                "3 images cannot be shared by 4 ranks",
            ),
        ];
        for (shard, batch, len, expected) in cases {
            let err = shard.check(batch, len).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        assert!(Shard { rank: 3, ranks: 4 }.check(4, 4).is_ok());
    }
}
