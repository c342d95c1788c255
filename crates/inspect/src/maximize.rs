//! Activation maximisation (Erhan et al. 2009; Simonyan et al. 2014; the regularisers of Yosinski
//! et al. 2015 and Mahendran & Vedaldi 2015): gradient ascent on the input towards a class score or
//! a channel's mean activation, with jitter, an L2 and a total-variation penalty and a periodic
//! blur, so that the images show patterns rather than adversarial noise.
use crate::error::{Error, Result};
use crate::probe::Frozen;
use convkit_data::Normalize;
use convkit_nn::{ForwardPass, Mode, Module, ModuleCall};
use convkit_tensor::{seeded_rng, Tensor};
use rand::Rng;

/// What to maximise for each image of the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// The logit of the given class.
    Classes,
    /// The mean activation of the given channel of this layer's output.
    Channels(&'a str),
}

/// The ascent's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaximizeConfig {
    /// Gradient steps: 200.
    pub steps: usize,
    /// Step size in normalised units, the gradient scaled to mean magnitude 1: 0.05.
    pub lr: f32,
    /// Random shift of the image before each step, in pixels (up to ±jitter each way): 2.
    pub jitter: usize,
    /// Weight of the mean squared value: 1e-3.
    pub l2: f32,
    /// Weight of the total variation (mean squared difference of neighbouring pixels): 0.05.
    pub tv: f32,
    /// A 3×3 Gaussian blur every this many steps (0: never): 4.
    pub blur_every: usize,
    /// Seed of the start image and the jitter.
    pub seed: u64,
}

impl Default for MaximizeConfig {
    fn default() -> Self {
        MaximizeConfig {
            steps: 200,
            lr: 0.05,
            jitter: 2,
            l2: 1e-3,
            tv: 0.05,
            blur_every: 4,
            seed: 0,
        }
    }
}

/// One image `[C, H, W]` per entry of `indices` (classes or channels, as `target` says), each
/// maximising its own objective, kept within the pixel range `[0, 1]` under `normalize`.
///
/// # Shapes
/// → `[K, C, H, W]` for `K = indices.len()`, `[C, H, W] = image_dims`.
///
/// # Errors
/// A class or channel out of range, an unknown layer (listing the valid ones), a layer whose
/// output has no channels, a normalisation with another channel count, the model's own error.
pub fn maximize(
    model: &dyn Module,
    image_dims: [usize; 3],
    target: Target<'_>,
    indices: &[usize],
    normalize: &Normalize,
    config: &MaximizeConfig,
) -> Result<Tensor> {
    let [c, h, w] = image_dims;
    if normalize.mean.len() != c {
        return Err(Error::Channels {
            expected: c,
            got: normalize.mean.len(),
        });
    }
    if let Target::Channels(layer) = target {
        model.module(layer)?;
    }
    let k = indices.len();
    let mut rng = seeded_rng(config.seed);
    let mut x: Vec<f32> = Tensor::randn([k * c * h * w], &mut rng)
        .mul_scalar(0.1)
        .to_vec();
    // The normalised values of pixel 0 and 255, per channel.
    let bounds: Vec<(f32, f32)> = (0..c)
        .map(|ch| {
            let (m, s) = (normalize.mean[ch], normalize.std[ch]);
            (-m / s, (1.0 - m) / s)
        })
        .collect();
    let _frozen = Frozen::new(model);
    for step in 0..config.steps {
        let j = config.jitter as i64;
        let shift = (rng.random_range(-j..=j), rng.random_range(-j..=j));
        let shifted = Tensor::from_vec(roll(&x, image_dims, k, shift), [k, c, h, w])?.with_grad();
        let score = objective(model, &shifted, target, indices)?;
        let penalty = regulariser(&shifted, config)?;
        penalty.sub(&score)?.backward()?;
        let grad = shifted
            .grad()
            .map_or_else(|| vec![0.0; x.len()], |g| g.to_vec());
        let grad = roll(&grad, image_dims, k, (-shift.0, -shift.1));
        let scale = grad.iter().map(|g| g.abs()).sum::<f32>() / grad.len() as f32 + 1e-12;
        for (i, (v, g)) in x.iter_mut().zip(&grad).enumerate() {
            let (lo, hi) = bounds[(i / (h * w)) % c];
            *v = (*v - config.lr * g / scale).clamp(lo, hi);
        }
        if config.blur_every > 0 && (step + 1) % config.blur_every == 0 {
            x = blur(&x, image_dims, k);
        }
    }
    Ok(Tensor::from_vec(x, [k, c, h, w])?)
}

/// Σ over the batch of each image's objective, as a graph node.
fn objective(
    model: &dyn Module,
    x: &Tensor,
    target: Target<'_>,
    indices: &[usize],
) -> Result<Tensor> {
    let mut captured = None;
    let mut hook = |call: &ModuleCall| {
        if let Target::Channels(layer) = target {
            if call.name == layer {
                captured = Some(call.output.clone());
            }
        }
        Ok(None)
    };
    let logits = ForwardPass::new(Mode::Eval)
        .with_hook(&mut hook)
        .run(model, x)?;
    let (values, what) = match target {
        Target::Classes => (logits, "classes"),
        Target::Channels(layer) => (
            captured.ok_or_else(|| Error::NotRun(layer.to_string()))?,
            "channels",
        ),
    };
    let dims = values.dims().to_vec();
    if dims.len() < 2 {
        return Err(Error::Shape {
            what: "maximize",
            expected: "an output with a channel dimension [N, C, ...]",
            dims,
        });
    }
    let (n, count) = (dims[0], dims[1]);
    if let Some(&bad) = indices.iter().find(|&&i| i >= count) {
        return Err(match target {
            Target::Classes => Error::ClassOutOfRange {
                class: bad,
                classes: count,
            },
            Target::Channels(layer) => Error::config(
                "maximize",
                format!("channel {bad} is out of range: layer '{layer}' has {count} {what}"),
            ),
        });
    }
    // Weights selecting image i's own class or channel, averaged over its positions.
    let per = values.numel() / (n * count);
    let weights: Vec<f32> = (0..values.numel())
        .map(|e| {
            let (image, channel) = (e / (count * per), (e / per) % count);
            if indices[image] == channel {
                1.0 / per as f32
            } else {
                0.0
            }
        })
        .collect();
    Ok(values.mul(&Tensor::from_vec(weights, dims)?)?.sum())
}

/// `l2 · mean(x²) + tv · mean of squared differences between neighbouring pixels`.
fn regulariser(x: &Tensor, config: &MaximizeConfig) -> Result<Tensor> {
    let &[_, _, h, w] = x.dims() else {
        unreachable!("built as [K, C, H, W]")
    };
    let l2 = x.mul(x)?.mean().mul_scalar(config.l2);
    if h < 2 || w < 2 {
        return Ok(l2);
    }
    let down = x.narrow(2, 1, h - 1)?.sub(&x.narrow(2, 0, h - 1)?)?;
    let right = x.narrow(3, 1, w - 1)?.sub(&x.narrow(3, 0, w - 1)?)?;
    let tv = down.mul(&down)?.mean().add(&right.mul(&right)?.mean())?;
    Ok(l2.add(&tv.mul_scalar(config.tv))?)
}

/// The images shifted by `(dy, dx)` pixels with wrap-around.
fn roll(x: &[f32], [c, h, w]: [usize; 3], k: usize, (dy, dx): (i64, i64)) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    let wrap = |v: i64, n: usize| v.rem_euclid(n as i64) as usize;
    for plane in 0..k * c {
        let base = plane * h * w;
        for y in 0..h {
            let ty = wrap(y as i64 + dy, h);
            for xx in 0..w {
                out[base + ty * w + wrap(xx as i64 + dx, w)] = x[base + y * w + xx];
            }
        }
    }
    out
}

/// A 3×3 Gaussian blur (weights 1-2-1 per axis), edges replicated.
fn blur(x: &[f32], [c, h, w]: [usize; 3], k: usize) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    let kernel = [0.25, 0.5, 0.25];
    for plane in 0..k * c {
        let base = plane * h * w;
        let at = |y: i64, xx: i64| {
            x[base + (y.clamp(0, h as i64 - 1) as usize) * w + xx.clamp(0, w as i64 - 1) as usize]
        };
        for y in 0..h as i64 {
            for xx in 0..w as i64 {
                let mut sum = 0.0;
                for (dy, ky) in kernel.iter().enumerate() {
                    for (dx, kx) in kernel.iter().enumerate() {
                        sum += ky * kx * at(y + dy as i64 - 1, xx + dx as i64 - 1);
                    }
                }
                out[base + y as usize * w + xx as usize] = sum;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roll_undoes_itself_and_blur_keeps_constants() {
        let x: Vec<f32> = (0..2 * 3 * 4).map(|v| v as f32).collect();
        let rolled = roll(&x, [2, 3, 4], 1, (1, -2));
        assert_ne!(rolled, x);
        assert_eq!(roll(&rolled, [2, 3, 4], 1, (-1, 2)), x);
        // Row 0 moved to row 1, column 2 to column 0.
        assert_eq!(rolled[4], x[2]);
        let flat = vec![3.0; 12];
        assert_eq!(blur(&flat, [1, 3, 4], 1), flat);
    }
}
