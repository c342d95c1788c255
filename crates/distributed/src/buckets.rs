//! How gradients are grouped for the all-reduce (PyTorch DDP's buckets, Li et al. 2020): taken in
//! reverse model order (the order backward produces them), the first bucket small so that the
//! first exchange starts early, the others large enough that per-message latency does not count.

/// Bytes of the first bucket.
pub const FIRST_BUCKET_BYTES: usize = 1 << 20;
/// Bytes of every later bucket.
pub const BUCKET_BYTES: usize = 25 << 20;

/// One bucket: the parameters it holds (indices in model order) and its length in values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub params: Vec<usize>,
    pub len: usize,
}

/// Buckets of f32 parameters of `sizes` values (in model order), in reverse order, closed once a
/// bucket reaches its byte limit (a parameter larger than a bucket gets one of its own).
pub fn plan(sizes: &[usize], first_bytes: usize, bytes: usize) -> Vec<Bucket> {
    let mut buckets: Vec<Bucket> = Vec::new();
    let mut open = Bucket {
        params: Vec::new(),
        len: 0,
    };
    for (index, &size) in sizes.iter().enumerate().rev() {
        open.params.push(index);
        open.len += size;
        let limit = if buckets.is_empty() {
            first_bytes
        } else {
            bytes
        };
        if open.len * std::mem::size_of::<f32>() >= limit {
            buckets.push(std::mem::replace(
                &mut open,
                Bucket {
                    params: Vec::new(),
                    len: 0,
                },
            ));
        }
    }
    if !open.params.is_empty() {
        buckets.push(open);
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_reverse_order_and_close_at_their_limits() {
        // Limits of 16 and 40 bytes: 4 and 10 values.
        let buckets = plan(&[3, 6, 2, 2, 7, 1], 16, 40);
        let params: Vec<Vec<usize>> = buckets.iter().map(|b| b.params.clone()).collect();
        assert_eq!(params, [vec![5, 4], vec![3, 2, 1], vec![0]]);
        assert_eq!(
            buckets.iter().map(|b| b.len).collect::<Vec<_>>(),
            [8, 10, 3]
        );
        assert_eq!(plan(&[], 16, 40), Vec::<Bucket>::new());
        // Every parameter exactly once.
        let mut all: Vec<usize> = params.concat();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_small_model_fits_one_bucket() {
        // ResNet-20's 0.27 M parameters: 1.1 MB, just over the first bucket.
        let sizes = vec![1000; 270];
        let buckets = plan(&sizes, FIRST_BUCKET_BYTES, BUCKET_BYTES);
        assert_eq!(buckets.len(), 2);
        assert_eq!(buckets[0].len, 263_000);
    }
}
