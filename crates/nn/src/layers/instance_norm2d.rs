//! `InstanceNorm2d`: normalisation of each channel of each image by its own statistics.
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::init;
use crate::module::{join_name, parameter, py_bool, py_float, Module, TensorKind};
use convkit_tensor::{instance_norm, InstanceNormConfig as OpConfig, Tensor};

/// Settings of [`InstanceNorm2d`] besides `num_features`; PyTorch's defaults (no affine, no
/// running statistics).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstanceNormConfig {
    pub eps: f32,
    /// Weight of each batch's average instance statistic in the running averages.
    pub momentum: f32,
    /// Learn a per-channel scale (`weight`, init 1) and shift (`bias`, init 0).
    pub affine: bool,
    /// Keep running statistics and normalise by them in eval.
    pub track_running_stats: bool,
}

impl Default for InstanceNormConfig {
    fn default() -> Self {
        InstanceNormConfig {
            eps: 1e-5,
            momentum: 0.1,
            affine: false,
            track_running_stats: false,
        }
    }
}

/// Instance normalisation (Ulyanov et al.), PyTorch's `nn.InstanceNorm2d`: each channel of each
/// image normalised by its own mean and biased variance, then (with `affine`) scaled and shifted
/// per channel. With `track_running_stats`, training also updates the running statistics (batch
/// average of the instance statistics, variance unbiased) and eval normalises by them.
/// Parameters `weight`, `bias`; buffers `running_mean`, `running_var`, `num_batches_tracked`.
///
/// # Shapes
/// `[N, C, H, W]` → the same shape.
///
/// # Errors
/// `new`: zero features, `eps ≤ 0`, momentum outside `[0, 1]`. `forward`: a non-4-D input or
/// another channel count.
pub struct InstanceNorm2d {
    num_features: usize,
    config: InstanceNormConfig,
    weight: Option<Tensor>,
    bias: Option<Tensor>,
    /// running_mean, running_var, num_batches_tracked.
    running: Option<[Tensor; 3]>,
}

impl InstanceNorm2d {
    pub fn new(num_features: usize, config: InstanceNormConfig) -> Result<InstanceNorm2d> {
        if num_features == 0
            || config.eps.is_nan()
            || config.eps <= 0.0
            || !(0.0..=1.0).contains(&config.momentum)
        {
            return Err(Error::config(
                "InstanceNorm2d",
                format!("needs num_features > 0, eps > 0 and momentum in [0, 1], got {num_features}, {config:?}"),
            ));
        }
        let param = |value| -> Result<Option<Tensor>> {
            if !config.affine {
                return Ok(None);
            }
            let t = parameter("InstanceNorm2d", &[num_features])?;
            init::constant(&t, value);
            Ok(Some(t))
        };
        let running = config.track_running_stats.then(|| {
            [
                Tensor::zeros([num_features]),
                Tensor::ones([num_features]),
                Tensor::zeros(Vec::<usize>::new()),
            ]
        });
        Ok(InstanceNorm2d {
            num_features,
            config,
            weight: param(1.0)?,
            bias: param(0.0)?,
            running,
        })
    }
}

impl Module for InstanceNorm2d {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        let mode = pass.mode();
        if x.rank() != 4 || x.dims()[1] != self.num_features {
            return Err(Error::config(
                "InstanceNorm2d",
                format!(
                    "expects [N, {}, H, W], got {}",
                    self.num_features,
                    x.shape()
                ),
            ));
        }
        let use_input_stats = mode.is_train() || self.running.is_none();
        let config = OpConfig {
            eps: self.config.eps,
            momentum: self.config.momentum,
            use_input_stats,
        };
        let running = self.running.as_ref();
        let y = instance_norm(
            x,
            running.map(|r| &r[0]),
            running.map(|r| &r[1]),
            self.weight.as_ref(),
            self.bias.as_ref(),
            config,
        )?;
        if let Some(r) = running.filter(|_| mode.is_train()) {
            r[2].data_mut()[0] += 1.0;
        }
        Ok(y)
    }

    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        for (name, t) in [("weight", &self.weight), ("bias", &self.bias)] {
            if let Some(t) = t {
                visitor(&join_name(prefix, name), t, TensorKind::Parameter);
            }
        }
        if let Some(r) = &self.running {
            for (name, t) in ["running_mean", "running_var", "num_batches_tracked"]
                .iter()
                .zip(r)
            {
                visitor(&join_name(prefix, name), t, TensorKind::Buffer);
            }
        }
    }

    fn describe(&self) -> String {
        let c = &self.config;
        format!(
            "InstanceNorm2d({}, eps={}, momentum={}, affine={}, track_running_stats={})",
            self.num_features,
            py_float(c.eps),
            py_float(c.momentum),
            py_bool(c.affine),
            py_bool(c.track_running_stats)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::assert_close;
    use crate::Mode;

    #[test]
    fn per_instance_statistics_and_running_averages() {
        let config = InstanceNormConfig {
            track_running_stats: true,
            affine: true,
            ..Default::default()
        };
        let norm = InstanceNorm2d::new(1, config).unwrap();
        // Two images of one 1×2 channel: [1, 3] (mean 2, var 1) and [0, 4] (mean 2, var 4).
        let x = Tensor::from_vec(vec![1., 3., 0., 4.], [2, 1, 1, 2]).unwrap();
        let y = norm.forward(&x, Mode::Train).unwrap();
        let (a, b) = (1.0 / (1.0f32 + 1e-5).sqrt(), 2.0 / (4.0f32 + 1e-5).sqrt());
        assert_close(&y.to_vec(), &[-a, a, -b, b]);
        let names: Vec<String> = norm.named_tensors().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "weight",
                "bias",
                "running_mean",
                "running_var",
                "num_batches_tracked"
            ]
        );
        let buffers = norm.buffers();
        // Running mean 0.9·0 + 0.1·2; running var 0.9·1 + 0.1·mean(2, 8) (unbiased over 2 values).
        assert_close(&buffers[0].1.to_vec(), &[0.2]);
        assert_close(&buffers[1].1.to_vec(), &[1.4]);
        // Eval normalises by the running statistics.
        let e = norm.forward(&x, Mode::Eval).unwrap();
        assert_close(&e.to_vec()[..1], &[(1.0 - 0.2) / (1.4f32 + 1e-5).sqrt()]);
        assert_eq!(
            InstanceNorm2d::new(3, InstanceNormConfig::default())
                .unwrap()
                .describe(),
            "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)"
        );
    }
}
