//! `ChannelMaxPool`: max pooling across channels (channel maxout).
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::module::Module;
use convkit_tensor::ops::pool::channel_max_pool;
use convkit_tensor::Tensor;

/// Max pooling across channels (maxout over feature maps, Goodfellow et al.): each group of
/// `pool_size` consecutive channels becomes one channel holding their elementwise maximum. No
/// parameters; put it after a conv or linear layer with `pool_size` times the channels wanted.
///
/// # Shapes
/// `[N, C, *]` → `[N, C / pool_size, *]`.
///
/// # Errors
/// `new`: a zero pool size. `forward`: a rank < 2 input or `C` not divisible by `pool_size`.
pub struct ChannelMaxPool {
    pool_size: usize,
}

impl ChannelMaxPool {
    pub fn new(pool_size: usize) -> Result<ChannelMaxPool> {
        if pool_size == 0 {
            return Err(Error::config(
                "ChannelMaxPool",
                "pool_size must be at least 1",
            ));
        }
        Ok(ChannelMaxPool { pool_size })
    }
}

impl Module for ChannelMaxPool {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(channel_max_pool(x, self.pool_size)?)
    }

    fn describe(&self) -> String {
        format!("ChannelMaxPool(pool_size={})", self.pool_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::assert_close;
    use crate::Mode;

    #[test]
    fn max_over_channel_groups() {
        // Channels (per pixel): [1, 5, 2, 0] → groups of 2 → [5, 2]; second pixel [4, 3, -1, 7] → [4, 7].
        let x = Tensor::from_vec(vec![1., 4., 5., 3., 2., -1., 0., 7.], [1, 4, 2]).unwrap();
        let y = ChannelMaxPool::new(2)
            .unwrap()
            .forward(&x, Mode::Train)
            .unwrap();
        assert_eq!(y.dims(), &[1, 2, 2]);
        assert_close(&y.to_vec(), &[5.0, 4.0, 2.0, 7.0]);
        let err = ChannelMaxPool::new(3)
            .unwrap()
            .forward(&x, Mode::Train)
            .unwrap_err();
        assert!(err.to_string().contains("divisible by k = 3"), "{err}");
    }
}
