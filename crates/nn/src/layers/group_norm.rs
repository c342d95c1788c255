//! `GroupNorm`: normalisation over groups of channels of each sample.
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::init;
use crate::module::{join_name, parameter, py_bool, py_float, Module, TensorKind};
use convkit_tensor::{group_norm, Tensor};

/// Settings of [`GroupNorm`] besides the group and channel counts (PyTorch's defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroupNormConfig {
    pub eps: f32,
    /// Learn a per-channel scale (`weight`, init 1) and shift (`bias`, init 0).
    pub affine: bool,
}

impl Default for GroupNormConfig {
    fn default() -> Self {
        GroupNormConfig {
            eps: 1e-5,
            affine: true,
        }
    }
}

/// Group normalisation (Wu & He), PyTorch's `nn.GroupNorm(num_groups, num_channels)`: the channels
/// of each sample split into `num_groups` groups, each normalised by its own mean and biased
/// variance, then scaled and shifted per channel. The same in train and eval. Parameters `weight`,
/// `bias`.
///
/// # Shapes
/// `[N, num_channels, *]` → the same shape.
///
/// # Errors
/// `new`: zero groups or channels, channels not divisible by groups, `eps ≤ 0`. `forward`: an input
/// with another channel count.
pub struct GroupNorm {
    num_groups: usize,
    num_channels: usize,
    config: GroupNormConfig,
    weight: Option<Tensor>,
    bias: Option<Tensor>,
}

impl GroupNorm {
    pub fn new(
        num_groups: usize,
        num_channels: usize,
        config: GroupNormConfig,
    ) -> Result<GroupNorm> {
        if num_groups == 0 || num_channels == 0 || !num_channels.is_multiple_of(num_groups) {
            return Err(Error::config(
                "GroupNorm",
                format!("num_channels {num_channels} must be a positive multiple of num_groups {num_groups}"),
            ));
        }
        if config.eps.is_nan() || config.eps <= 0.0 {
            return Err(Error::config(
                "GroupNorm",
                format!("eps must be positive, got {}", config.eps),
            ));
        }
        let param = |value| -> Result<Option<Tensor>> {
            if !config.affine {
                return Ok(None);
            }
            let t = parameter("GroupNorm", &[num_channels])?;
            init::constant(&t, value);
            Ok(Some(t))
        };
        Ok(GroupNorm {
            num_groups,
            num_channels,
            config,
            weight: param(1.0)?,
            bias: param(0.0)?,
        })
    }
}

impl Module for GroupNorm {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        if x.rank() < 2 || x.dims()[1] != self.num_channels {
            return Err(Error::config(
                "GroupNorm",
                format!("expects [N, {}, *], got {}", self.num_channels, x.shape()),
            ));
        }
        Ok(group_norm(
            x,
            self.num_groups,
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.config.eps,
        )?)
    }

    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        for (name, t) in [("weight", &self.weight), ("bias", &self.bias)] {
            if let Some(t) = t {
                visitor(&join_name(prefix, name), t, TensorKind::Parameter);
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "GroupNorm({}, {}, eps={}, affine={})",
            self.num_groups,
            self.num_channels,
            py_float(self.config.eps),
            py_bool(self.config.affine)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::assert_close;
    use crate::Mode;

    #[test]
    fn groups_of_channels_share_statistics() {
        let gn = GroupNorm::new(2, 4, GroupNormConfig::default()).unwrap();
        // Sample of 4 channels × 1 pixel: groups {1, 3} and {10, 30}.
        let x = Tensor::from_vec(vec![1., 3., 10., 30.], [1, 4, 1]).unwrap();
        let y = gn.forward(&x, Mode::Eval).unwrap();
        let (a, b) = (
            1.0 / (1.0f32 + 1e-5).sqrt(),
            10.0 / (100.0f32 + 1e-5).sqrt(),
        );
        assert_close(&y.to_vec(), &[-a, a, -b, b]);
        assert_eq!(gn.num_parameters(), 8);
        assert_eq!(gn.describe(), "GroupNorm(2, 4, eps=1e-05, affine=True)");
        let err = GroupNorm::new(3, 4, GroupNormConfig::default())
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("multiple of num_groups 3"),
            "{err}"
        );
        assert!(gn.forward(&Tensor::zeros([1, 3, 2]), Mode::Eval).is_err());
    }
}
