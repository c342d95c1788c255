//! `BatchNorm1d` and `BatchNorm2d`: one generic layer, differing only in the input ranks they take.
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::init;
use crate::module::{join_name, parameter, py_bool, py_float, Mode, Module, TensorKind};
use crate::sync_batch_norm as sync_scope;
use convkit_tensor::{
    batch_norm, batch_norm_relu, sync_batch_norm, BatchNormTensors, Error as TensorError, Tensor,
};

/// Settings of a batch-norm layer besides `num_features` (PyTorch's keyword arguments and defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormConfig {
    /// Added to the variance before the square root.
    pub eps: f32,
    /// Weight of each batch statistic in the running averages.
    pub momentum: f32,
    /// Learn a per-channel scale (`weight`, init 1) and shift (`bias`, init 0).
    pub affine: bool,
    /// Keep running statistics (buffers) for eval; without them batch statistics normalise in
    /// eval too, as in PyTorch.
    pub track_running_stats: bool,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        BatchNormConfig {
            eps: 1e-5,
            momentum: 0.1,
            affine: true,
            track_running_stats: true,
        }
    }
}

/// Batch normalisation over dim 1 of a `D`-dimensional batch, PyTorch's `nn.BatchNorm{D}d`; use
/// the aliases [`BatchNorm1d`] and [`BatchNorm2d`].
///
/// `y = (x − mean) / √(var + eps) · weight + bias` per channel. In [`Mode::Train`] mean and (biased)
/// variance come from the batch, and the running statistics move toward them:
/// `running = (1 − momentum)·running + momentum·batch` (the variance unbiased), as PyTorch does. In
/// [`Mode::Eval`] the running statistics normalise the input; without `track_running_stats` there
/// are none and the batch statistics normalise in both modes. In training inside
/// [`with_sync_batch_norm`](crate::sync_batch_norm::with_sync_batch_norm) the statistics are those
/// of every data-parallel replica's batch (SyncBatchNorm).
///
/// Tensors, as in PyTorch's state_dict: parameters `weight`, `bias` (when affine); buffers (when
/// tracking running stats) `running_mean` (init 0), `running_var` (init 1) and `num_batches_tracked`, which PyTorch stores as
/// an int64 scalar and convkit as an f32 scalar (exact up to 2²⁴ batches); checkpoint loading
/// converts integer tensors to f32, so PyTorch state_dicts load unchanged.
///
/// # Shapes
/// `BatchNorm1d`: `[N, C]` or `[N, C, L]`; `BatchNorm2d`: `[N, C, H, W]`; output like the input.
///
/// # Errors
/// `new`: zero `num_features`, `eps ≤ 0`, `momentum` outside `[0, 1]`. `forward`: a wrong rank or
/// channel count, or a training batch with a single value per channel.
pub struct BatchNormNd<const D: usize> {
    num_features: usize,
    config: BatchNormConfig,
    weight: Option<Tensor>,
    bias: Option<Tensor>,
    running: Option<RunningStats>,
}

/// The buffers of a batch-norm layer that tracks running statistics.
struct RunningStats {
    mean: Tensor,
    var: Tensor,
    num_batches_tracked: Tensor,
}

/// Batch norm over `[N, C]` or `[N, C, L]` inputs; see [`BatchNormNd`].
pub type BatchNorm1d = BatchNormNd<1>;
/// Batch norm over `[N, C, H, W]` inputs; see [`BatchNormNd`].
pub type BatchNorm2d = BatchNormNd<2>;

impl<const D: usize> BatchNormNd<D> {
    pub fn new(num_features: usize, config: BatchNormConfig) -> Result<Self> {
        let what = if D == 1 { "BatchNorm1d" } else { "BatchNorm2d" };
        if num_features == 0 {
            return Err(Error::config(what, "num_features must be positive"));
        }
        if config.eps.is_nan() || config.eps <= 0.0 {
            return Err(Error::config(
                what,
                format!("eps must be positive, got {}", config.eps),
            ));
        }
        if !(0.0..=1.0).contains(&config.momentum) {
            return Err(Error::config(
                what,
                format!("momentum must be in [0, 1], got {}", config.momentum),
            ));
        }
        let affine = |value| -> Result<Option<Tensor>> {
            if !config.affine {
                return Ok(None);
            }
            let t = parameter(what, &[num_features])?;
            init::constant(&t, value);
            Ok(Some(t))
        };
        Ok(BatchNormNd {
            num_features,
            config,
            weight: affine(1.0)?,
            bias: affine(0.0)?,
            running: config.track_running_stats.then(|| RunningStats {
                mean: Tensor::zeros([num_features]),
                var: Tensor::ones([num_features]),
                num_batches_tracked: Tensor::zeros(Vec::<usize>::new()),
            }),
        })
    }

    /// This layer with its scale (`weight`) fixed at its value, 1 unless loaded otherwise: only the
    /// shift trains, as in airbench's BatchNorm. The weight stays in the state_dict and gets no
    /// gradient (the optimiser skips it). No effect without `affine`.
    pub fn freeze_weight(self) -> Self {
        if let Some(weight) = &self.weight {
            weight.set_requires_grad(false);
        }
        self
    }

    /// The running mean, when tracked.
    pub fn running_mean(&self) -> Option<&Tensor> {
        self.running.as_ref().map(|r| &r.mean)
    }

    /// The running (unbiased) variance, when tracked.
    pub fn running_var(&self) -> Option<&Tensor> {
        self.running.as_ref().map(|r| &r.var)
    }

    /// The per-channel scale, when affine.
    pub fn weight(&self) -> Option<&Tensor> {
        self.weight.as_ref()
    }

    /// The per-channel shift, when affine.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    pub fn config(&self) -> BatchNormConfig {
        self.config
    }

    /// `relu(self(x) + residual)`, or `relu(self(x))`, in `mode` as one op
    /// ([`batch_norm_relu`]): what a network's batch norm and the ReLU after it compute. Modules
    /// call it through [`ForwardPass::norm_relu`], which keeps the two calls apart where hooks or
    /// a fused pass must see them.
    ///
    /// # Errors
    /// As the layer's forward; a residual whose shape differs from the input's.
    pub fn forward_relu(
        &self,
        x: &Tensor,
        residual: Option<&Tensor>,
        mode: Mode,
    ) -> Result<Tensor> {
        self.run(x, mode, Some(residual))
    }

    /// The batch norm of `x`, with a fused ReLU after a residual sum when `relu` is `Some`.
    fn run(&self, x: &Tensor, mode: Mode, relu: Option<Option<&Tensor>>) -> Result<Tensor> {
        self.check_rank(x)?;
        let training = mode.is_train() || self.running.is_none();
        let config = convkit_tensor::BatchNormConfig {
            eps: self.config.eps,
            momentum: self.config.momentum,
            training,
        };
        let tensors = BatchNormTensors {
            running_mean: self.running_mean(),
            running_var: self.running_var(),
            weight: self.weight.as_ref(),
            bias: self.bias.as_ref(),
        };
        let sync = sync_scope::current().filter(|_| mode.is_train());
        let BatchNormTensors {
            running_mean: rm,
            running_var: rv,
            weight: w,
            bias: b,
        } = tensors;
        let y = match (relu, &sync) {
            (Some(residual), sync) => batch_norm_relu(x, tensors, config, residual, sync.as_ref())?,
            (None, Some(reducer)) => sync_batch_norm(x, rm, rv, w, b, config, reducer)?,
            (None, None) => batch_norm(x, rm, rv, w, b, config)?,
        };
        if let Some(r) = self.running.as_ref().filter(|_| training) {
            r.num_batches_tracked.data_mut()[0] += 1.0;
        }
        Ok(y)
    }

    fn check_rank(&self, x: &Tensor) -> Result<()> {
        let ok = if D == 1 {
            matches!(x.rank(), 2 | 3)
        } else {
            x.rank() == 4
        };
        if ok {
            return Ok(());
        }
        let expected = if D == 1 {
            "[N, C] or [N, C, L]"
        } else {
            "[N, C, H, W]"
        };
        Err(TensorError::shape(
            "batch_norm",
            format!("BatchNorm{D}d expects {expected}, got {}", x.shape()),
        )
        .into())
    }
}

impl<const D: usize> Module for BatchNormNd<D> {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        self.run(x, pass.mode(), None)
    }

    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        for (name, t) in [("weight", &self.weight), ("bias", &self.bias)] {
            if let Some(t) = t {
                visitor(&join_name(prefix, name), t, TensorKind::Parameter);
            }
        }
        if let Some(r) = &self.running {
            for (name, t) in [
                ("running_mean", &r.mean),
                ("running_var", &r.var),
                ("num_batches_tracked", &r.num_batches_tracked),
            ] {
                visitor(&join_name(prefix, name), t, TensorKind::Buffer);
            }
        }
    }

    fn describe(&self) -> String {
        let c = &self.config;
        let affine = py_bool(c.affine);
        format!(
            "BatchNorm{D}d({}, eps={}, momentum={}, affine={affine}, track_running_stats={})",
            self.num_features,
            py_float(c.eps),
            py_float(c.momentum),
            py_bool(c.track_running_stats)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::assert_close;
    use crate::Mode;

    /// Channel 0 holds 1, 3 (mean 2, biased var 1, unbiased 2); channel 1 holds 0, 4 (mean 2, var 4 / 8).
    fn batch() -> Tensor {
        Tensor::from_vec(vec![1.0, 0.0, 3.0, 4.0], [2, 2]).unwrap()
    }

    #[test]
    fn train_uses_batch_stats_and_updates_running_ones() {
        let bn = BatchNorm1d::new(2, BatchNormConfig::default()).unwrap();
        bn.parameters()[0].1.data_mut().copy_from_slice(&[2.0, 1.0]); // weight
        bn.parameters()[1].1.data_mut().copy_from_slice(&[0.5, 0.0]); // bias
        let y = bn.forward(&batch(), Mode::Train).unwrap();
        let (s0, s1) = (1.0 / (1.0f32 + 1e-5).sqrt(), 2.0 / (4.0f32 + 1e-5).sqrt());
        assert_close(&y.to_vec(), &[0.5 - 2.0 * s0, -s1, 0.5 + 2.0 * s0, s1]);
        assert_close(&bn.running_mean().unwrap().to_vec(), &[0.2, 0.2]);
        assert_close(
            &bn.running_var().unwrap().to_vec(),
            &[0.9 + 0.1 * 2.0, 0.9 + 0.1 * 8.0],
        );
        assert_eq!(bn.buffers()[2].1.item(), 1.0, "num_batches_tracked");
    }

    #[test]
    fn eval_uses_running_stats_and_leaves_them_alone() {
        let bn = BatchNorm2d::new(
            2,
            BatchNormConfig {
                affine: false,
                ..Default::default()
            },
        )
        .unwrap();
        bn.running_mean()
            .unwrap()
            .data_mut()
            .copy_from_slice(&[1.0, -1.0]);
        bn.running_var()
            .unwrap()
            .data_mut()
            .copy_from_slice(&[4.0, 0.25]);
        let x = Tensor::from_vec(vec![3.0, 5.0, 0.0, 1.0], [1, 2, 1, 2]).unwrap();
        let y = bn.forward(&x, Mode::Eval).unwrap();
        let (s0, s1) = (1.0 / (4.0f32 + 1e-5).sqrt(), 1.0 / (0.25f32 + 1e-5).sqrt());
        assert_close(&y.to_vec(), &[2.0 * s0, 4.0 * s0, s1, 2.0 * s1]);
        assert_eq!(bn.running_mean().unwrap().to_vec(), vec![1.0, -1.0]);
        assert_eq!(bn.buffers()[2].1.item(), 0.0);
        // A single image still has two values per channel: enough to train on.
        assert!(bn.forward(&x, Mode::Train).is_ok());
    }

    #[test]
    fn without_running_stats_batch_stats_normalise_in_eval_too() {
        let config = BatchNormConfig {
            track_running_stats: false,
            ..Default::default()
        };
        let bn = BatchNorm1d::new(2, config).unwrap();
        assert!(bn.buffers().is_empty() && bn.running_mean().is_none());
        let (train, eval) = (
            bn.forward(&batch(), Mode::Train).unwrap(),
            bn.forward(&batch(), Mode::Eval).unwrap(),
        );
        assert_close(&eval.to_vec(), &train.to_vec());
        assert!((eval.to_vec()[0] + 1.0).abs() < 1e-4, "{eval:?}");
        assert!(bn.describe().ends_with("track_running_stats=False)"));
    }

    #[test]
    fn a_frozen_weight_gets_no_gradient_while_the_bias_does() {
        let bn = BatchNorm1d::new(2, BatchNormConfig::default())
            .unwrap()
            .freeze_weight();
        let x = batch().with_grad();
        bn.forward(&x, Mode::Train)
            .unwrap()
            .mul(&Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 2]).unwrap())
            .unwrap()
            .sum()
            .backward()
            .unwrap();
        assert!(bn.weight().unwrap().grad().is_none());
        assert_eq!(bn.bias().unwrap().grad().unwrap().to_vec(), vec![4.0, 6.0]);
        assert!(x.grad().is_some());
        assert_eq!(
            bn.parameters().len(),
            2,
            "the weight stays in the state_dict"
        );
    }

    /// A replica whose partner holds the same batch: sums double; counts the calls.
    struct Mirrored(std::sync::atomic::AtomicUsize);

    impl convkit_tensor::BatchStatsReducer for Mirrored {
        fn all_sum(&self, values: &mut [f64]) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            values.iter_mut().for_each(|v| *v *= 2.0);
        }
    }

    #[test]
    fn inside_a_sync_scope_training_statistics_cover_every_replica() {
        use crate::sync_batch_norm::with_sync_batch_norm;
        use std::sync::atomic::Ordering;
        let mirrored = std::sync::Arc::new(Mirrored(Default::default()));
        let (plain, synced) = (
            BatchNorm1d::new(2, BatchNormConfig::default()).unwrap(),
            BatchNorm1d::new(2, BatchNormConfig::default()).unwrap(),
        );
        let y = plain.forward(&batch(), Mode::Train).unwrap();
        let z = with_sync_batch_norm(mirrored.clone(), || {
            synced.forward(&batch(), Mode::Train).unwrap()
        });
        // The same statistics, over 4 values per channel instead of 2: the unbiased running
        // variance changes (var · 4/3 instead of var · 2).
        assert_close(&z.to_vec(), &y.to_vec());
        assert_eq!(
            mirrored.0.load(Ordering::Relaxed),
            1,
            "sums and sums of squares, in one call"
        );
        assert_close(
            &synced.running_var().unwrap().to_vec(),
            &[0.9 + 0.1 * 4.0 / 3.0, 0.9 + 0.1 * 16.0 / 3.0],
        );
        with_sync_batch_norm(mirrored.clone(), || synced.forward(&batch(), Mode::Eval)).unwrap();
        assert_eq!(mirrored.0.load(Ordering::Relaxed), 1, "eval is per process");
        plain.forward(&batch(), Mode::Train).unwrap();
        assert_eq!(mirrored.0.load(Ordering::Relaxed), 1, "outside the scope");
    }

    #[test]
    fn names_description_and_errors() {
        let bn = BatchNorm2d::new(64, BatchNormConfig::default()).unwrap();
        let names: Vec<String> = bn.named_tensors().into_iter().map(|(n, _)| n).collect();
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
        assert_eq!(bn.num_parameters(), 128);
        assert_eq!(
            bn.describe(),
            "BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
        );
        let err = bn
            .forward(&Tensor::zeros([2, 64]), Mode::Train)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("BatchNorm2d expects [N, C, H, W], got [2, 64]"),
            "{err}"
        );
        let err = bn
            .forward(&Tensor::zeros([2, 3, 4, 4]), Mode::Train)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("but the input [2, 3, 4, 4] has 3 channels"),
            "{err}"
        );
        let err = BatchNorm1d::new(
            3,
            BatchNormConfig {
                momentum: 2.0,
                ..Default::default()
            },
        )
        .err()
        .unwrap();
        assert!(
            err.to_string()
                .contains("BatchNorm1d: invalid configuration: momentum"),
            "{err}"
        );
        let err = BatchNorm1d::new(3, BatchNormConfig::default())
            .unwrap()
            .forward(&Tensor::zeros([1, 3]), Mode::Train);
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("more than one value per channel"));
    }
}
