//! Batch-norm folding for inference: an eval-mode `BatchNorm` after a `Conv2d` or `Linear` is an
//! affine map per output channel, so it can be merged into that layer's weight and bias.
//!
//! With `s = γ / √(running_var + eps)` (γ = 1 without affine), the folded layer has
//! `W' = s·W` (each output channel's slice scaled) and `b' = s·(b − running_mean) + β` (b = 0 when
//! the layer had no bias, β = 0 without affine). The arithmetic runs in f64.
use crate::error::{Error, Result};
use crate::layers::{BatchNormNd, Conv2d, Conv2dConfig, Linear, LinearConfig};
use convkit_tensor::{seeded_rng, Tensor};

/// Per-channel (scale, shift) of the batch norm in eval mode.
fn bn_affine<const D: usize>(bn: &BatchNormNd<D>, what: &'static str) -> Result<Vec<(f64, f64)>> {
    let (Some(mean), Some(var)) = (bn.running_mean(), bn.running_var()) else {
        return Err(Error::config(
            what,
            "the batch norm tracks no running statistics (track_running_stats = false), so it has no fixed eval-mode map",
        ));
    };
    let eps = bn.config().eps as f64;
    let (mean, var) = (mean.to_vec(), var.to_vec());
    let gamma = bn.weight().map(|w| w.to_vec());
    let beta = bn.bias().map(|b| b.to_vec());
    Ok((0..mean.len())
        .map(|c| {
            let g = gamma.as_ref().map_or(1.0, |g| g[c] as f64);
            let s = g / (var[c] as f64 + eps).sqrt();
            (
                s,
                beta.as_ref().map_or(0.0, |b| b[c] as f64) - s * mean[c] as f64,
            )
        })
        .collect())
}

/// `W'`, `b'` of a layer with weight `[out, ...]` and optional bias followed by the map `coefs`.
fn fold_weights(
    weight: &Tensor,
    bias: Option<&Tensor>,
    coefs: &[(f64, f64)],
    what: &'static str,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let out = weight.dims()[0];
    if coefs.len() != out {
        return Err(Error::config(
            what,
            format!(
                "the layer has {out} output channels (weight {}) but the batch norm {}",
                weight.shape(),
                coefs.len()
            ),
        ));
    }
    let per = weight.numel() / out;
    let w = weight.to_vec();
    let b = bias.map(|b| b.to_vec());
    let folded_w = w
        .chunks(per)
        .zip(coefs)
        .flat_map(|(row, &(s, _))| row.iter().map(move |&v| (v as f64 * s) as f32))
        .collect();
    let folded_b = coefs
        .iter()
        .enumerate()
        .map(|(o, &(s, t))| (s * b.as_ref().map_or(0.0, |b| b[o] as f64) + t) as f32)
        .collect();
    Ok((folded_w, folded_b))
}

/// The `Conv2d` equivalent to `conv` followed by `bn` in eval mode (it always has a bias).
///
/// # Errors
/// A batch norm without running statistics, or with another channel count than the conv's output.
pub fn fold_conv_bn(conv: &Conv2d, bn: &BatchNormNd<2>) -> Result<Conv2d> {
    let what = "fold_conv_bn";
    let (w, b) = fold_weights(conv.weight(), conv.bias(), &bn_affine(bn, what)?, what)?;
    let d = conv.weight().dims();
    let config = Conv2dConfig {
        bias: true,
        ..conv.config()
    };
    // Built with throwaway initial values, then overwritten with the folded ones.
    let folded = Conv2d::new(
        d[1] * config.groups,
        d[0],
        (d[2], d[3]),
        config,
        &mut seeded_rng(0),
    )?;
    folded.weight().data_mut().copy_from_slice(&w);
    folded
        .bias()
        .expect("built with a bias")
        .data_mut()
        .copy_from_slice(&b);
    Ok(folded)
}

/// The `Linear` equivalent to `linear` followed by `bn` (a `BatchNorm1d` over its features) in eval
/// mode (it always has a bias).
///
/// # Errors
/// A batch norm without running statistics, or with another feature count than the layer's output.
pub fn fold_linear_bn(linear: &Linear, bn: &BatchNormNd<1>) -> Result<Linear> {
    let what = "fold_linear_bn";
    let (w, b) = fold_weights(linear.weight(), linear.bias(), &bn_affine(bn, what)?, what)?;
    let d = linear.weight().dims();
    let folded = Linear::new(d[1], d[0], LinearConfig { bias: true }, &mut seeded_rng(0))?;
    folded.weight().data_mut().copy_from_slice(&w);
    folded
        .bias()
        .expect("built with a bias")
        .data_mut()
        .copy_from_slice(&b);
    Ok(folded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{BatchNorm1d, BatchNorm2d, BatchNormConfig};
    use crate::{Mode, Module};
    use rand::Rng;

    /// Random affine parameters and non-trivial running statistics.
    fn randomise<const D: usize>(bn: &BatchNormNd<D>, rng: &mut impl Rng) {
        let fill = |t: &Tensor, lo: f32, hi: f32, rng: &mut dyn rand::RngCore| {
            t.data_mut()
                .iter_mut()
                .for_each(|v| *v = rng.random_range(lo..hi));
        };
        fill(bn.running_mean().unwrap(), -2.0, 2.0, rng);
        fill(bn.running_var().unwrap(), 0.05, 4.0, rng);
        if let (Some(w), Some(b)) = (bn.weight(), bn.bias()) {
            fill(w, -1.5, 1.5, rng);
            fill(b, -1.0, 1.0, rng);
        }
    }

    /// `|a − b| ≤ 1e-5 · max|b|`: relative to the output's scale (outputs near zero carry the
    /// rounding of their larger terms).
    fn assert_equal_outputs(folded: &Tensor, unfused: &Tensor) {
        let (a, b) = (folded.to_vec(), unfused.to_vec());
        let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-5 * scale,
                "element {i}: {x} vs {y} (scale {scale})"
            );
        }
    }

    #[test]
    fn folded_conv_equals_conv_then_batch_norm() {
        let mut rng = seeded_rng(7);
        for (bias, affine, groups) in [(true, true, 1), (false, true, 1), (false, false, 2)] {
            let config = Conv2dConfig {
                bias,
                groups,
                padding: (1, 1),
                stride: (2, 1),
                ..Default::default()
            };
            let conv = Conv2d::new(4, 6, (3, 3), config, &mut rng).unwrap();
            let bn = BatchNorm2d::new(
                6,
                BatchNormConfig {
                    affine,
                    ..Default::default()
                },
            )
            .unwrap();
            randomise(&bn, &mut rng);
            let x = Tensor::randn([2, 4, 9, 8], &mut rng);
            let unfused = bn
                .forward(&conv.forward(&x, Mode::Eval).unwrap(), Mode::Eval)
                .unwrap();
            let folded = fold_conv_bn(&conv, &bn).unwrap();
            assert!(folded.bias().is_some());
            assert_equal_outputs(&folded.forward(&x, Mode::Eval).unwrap(), &unfused);
        }
    }

    #[test]
    fn folded_linear_equals_linear_then_batch_norm() {
        let mut rng = seeded_rng(8);
        for bias in [true, false] {
            let fc = Linear::new(10, 5, LinearConfig { bias }, &mut rng).unwrap();
            let bn = BatchNorm1d::new(5, BatchNormConfig::default()).unwrap();
            randomise(&bn, &mut rng);
            let x = Tensor::randn([7, 10], &mut rng);
            let unfused = bn
                .forward(&fc.forward(&x, Mode::Eval).unwrap(), Mode::Eval)
                .unwrap();
            let folded = fold_linear_bn(&fc, &bn).unwrap();
            assert_equal_outputs(&folded.forward(&x, Mode::Eval).unwrap(), &unfused);
        }
    }

    #[test]
    fn mismatched_or_untracked_batch_norm_is_an_error() {
        let mut rng = seeded_rng(9);
        let conv = Conv2d::new(3, 4, (1, 1), Conv2dConfig::default(), &mut rng).unwrap();
        let bn = BatchNorm2d::new(5, BatchNormConfig::default()).unwrap();
        let err = fold_conv_bn(&conv, &bn).err().unwrap();
        assert!(err.to_string().contains("4 output channels"), "{err}");
        let untracked = BatchNorm2d::new(
            4,
            BatchNormConfig {
                track_running_stats: false,
                ..Default::default()
            },
        )
        .unwrap();
        let err = fold_conv_bn(&conv, &untracked).err().unwrap();
        assert!(err.to_string().contains("no running statistics"), "{err}");
    }
}
