//! Weight initialisers, as `torch.nn.init`. Each writes the tensor in place (bypassing autodiff) and
//! draws from the RNG it is given, so initialisation is reproducible from the run's seed.
//!
//! ```
//! use convkit_nn::init::{self, FanMode, Nonlinearity};
//! use convkit_tensor::{seeded_rng, Tensor};
//! let w = Tensor::zeros([64, 3, 3, 3]);
//! init::kaiming_normal(&w, 0.0, FanMode::FanOut, Nonlinearity::Relu, &mut seeded_rng(0)).unwrap();
//! ```
use crate::error::{Error, Result};
use convkit_tensor::Tensor;
use rand::Rng;

/// The activation that follows a layer, for [`calculate_gain`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nonlinearity {
    /// Linear, identity, and every convolution: gain 1.
    Linear,
    Sigmoid,
    Tanh,
    Relu,
    /// Leaky ReLU with the negative slope given as the gain's `param` (0.01 when `None`).
    LeakyRelu,
    Selu,
}

/// Which fan the variance of [`kaiming_uniform`]/[`kaiming_normal`] preserves: `FanIn` the forward
/// pass's activations, `FanOut` the backward pass's gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    FanIn,
    FanOut,
}

/// The recommended gain for a nonlinearity (`torch.nn.init.calculate_gain`): 1 for linear and
/// sigmoid, 5/3 for tanh, √2 for ReLU, √(2 / (1 + slope²)) for leaky ReLU, 3/4 for SELU.
pub fn calculate_gain(nonlinearity: Nonlinearity, param: Option<f32>) -> f32 {
    match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2f32.sqrt(),
        Nonlinearity::LeakyRelu => {
            let slope = param.unwrap_or(0.01);
            (2.0 / (1.0 + slope * slope)).sqrt()
        }
        Nonlinearity::Selu => 0.75,
    }
}

/// `(fan_in, fan_out)` of a weight, as `torch.nn.init._calculate_fan_in_and_fan_out`: for
/// `[out, in, k...]`, `fan_in = in · Πk` and `fan_out = out · Πk`.
///
/// # Errors
/// When the tensor has fewer than 2 dims.
pub fn calculate_fan_in_and_fan_out(dims: &[usize]) -> Result<(usize, usize)> {
    if dims.len() < 2 {
        return Err(Error::config(
            "init",
            format!("fan in and fan out need at least 2 dims, got shape {dims:?}"),
        ));
    }
    let receptive: usize = dims[2..].iter().product();
    Ok((dims[1] * receptive, dims[0] * receptive))
}

/// Fills `t` with samples from U(low, high).
pub fn uniform(t: &Tensor, low: f32, high: f32, rng: &mut impl Rng) {
    let sample = Tensor::uniform(t.dims(), low, high, rng);
    t.data_mut().copy_from_slice(&sample.data());
}

/// Fills `t` with samples from N(mean, std²).
pub fn normal(t: &Tensor, mean: f32, std: f32, rng: &mut impl Rng) {
    let sample = Tensor::randn(t.dims(), rng);
    t.data_mut()
        .iter_mut()
        .zip(sample.data().iter())
        .for_each(|(x, z)| *x = mean + std * z);
}

/// Fills `t` with `value`.
pub fn constant(t: &Tensor, value: f32) {
    t.data_mut().fill(value);
}

/// Fills `t` with zeros.
pub fn zeros(t: &Tensor) {
    constant(t, 0.0);
}

/// Orthogonal initialisation (Saxe et al., `torch.nn.init.orthogonal_`): the weight viewed as a
/// `[rows, cols]` matrix (`rows = dims[0]`) gets orthonormal rows (when `rows ≤ cols`) or columns,
/// times `gain`. Drawn as PyTorch does: the QR factorisation of a standard normal matrix, with Q's
/// columns signed so that R's diagonal is positive (which makes Q uniformly distributed).
///
/// # Errors
/// When `t` has fewer than 2 dims or no elements.
pub fn orthogonal(t: &Tensor, gain: f32, rng: &mut impl Rng) -> Result<()> {
    let dims = t.dims();
    if dims.len() < 2 || t.numel() == 0 {
        return Err(Error::config(
            "init",
            format!("orthogonal init needs at least 2 dims and some elements, got shape {dims:?}"),
        ));
    }
    let rows = dims[0];
    let cols = t.numel() / rows;
    // Orthonormalise the k = max(rows, cols) long vectors, of which there are n = min(rows, cols).
    let (n, k) = (rows.min(cols), rows.max(cols));
    let normal = Tensor::randn([n, k], rng);
    let mut q: Vec<f64> = normal.data().iter().map(|&x| f64::from(x)).collect();
    gram_schmidt(&mut q, n, k);
    let mut data = t.data_mut();
    for i in 0..n {
        for j in 0..k {
            // Vectors are the rows of a wide matrix, or the columns of a tall one.
            let at = if rows <= cols {
                i * cols + j
            } else {
                j * cols + i
            };
            data[at] = gain * q[i * k + j] as f32;
        }
    }
    Ok(())
}

/// Modified Gram–Schmidt, run twice for accuracy, over the `n` rows (length `k ≥ n`) of `m`: the
/// result is Q of the QR factorisation with a positive R diagonal.
fn gram_schmidt(m: &mut [f64], n: usize, k: usize) {
    for i in 0..n {
        let (done, rest) = m.split_at_mut(i * k);
        let v = &mut rest[..k];
        for _ in 0..2 {
            for prev in done.chunks_exact(k) {
                let dot: f64 = prev.iter().zip(v.iter()).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(prev).for_each(|(x, p)| *x -= dot * p);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Xavier/Glorot uniform: U(−b, b) with `b = gain · √(6 / (fan_in + fan_out))`.
///
/// # Errors
/// When `t` has fewer than 2 dims.
pub fn xavier_uniform(t: &Tensor, gain: f32, rng: &mut impl Rng) -> Result<()> {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(t.dims())?;
    let bound = gain * (6.0 / (fan_in + fan_out) as f32).sqrt();
    uniform(t, -bound, bound, rng);
    Ok(())
}

/// Xavier/Glorot normal: N(0, std²) with `std = gain · √(2 / (fan_in + fan_out))`.
///
/// # Errors
/// When `t` has fewer than 2 dims.
pub fn xavier_normal(t: &Tensor, gain: f32, rng: &mut impl Rng) -> Result<()> {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(t.dims())?;
    normal(t, 0.0, gain * (2.0 / (fan_in + fan_out) as f32).sqrt(), rng);
    Ok(())
}

/// The standard deviation He initialisation aims for: `gain(nonlinearity, a) / √fan`.
fn kaiming_std(t: &Tensor, a: f32, mode: FanMode, nonlinearity: Nonlinearity) -> Result<f32> {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(t.dims())?;
    let fan = match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    if fan == 0 {
        return Err(Error::config(
            "init",
            format!("kaiming init of an empty tensor of shape {:?}", t.dims()),
        ));
    }
    Ok(calculate_gain(nonlinearity, Some(a)) / (fan as f32).sqrt())
}

/// Kaiming/He uniform: U(−b, b) with `b = √3 · gain / √fan`; `a` is the negative slope used for
/// [`Nonlinearity::LeakyRelu`]'s gain (ignored by the others).
///
/// # Errors
/// When `t` has fewer than 2 dims or no elements.
pub fn kaiming_uniform(
    t: &Tensor,
    a: f32,
    mode: FanMode,
    nonlinearity: Nonlinearity,
    rng: &mut impl Rng,
) -> Result<()> {
    let bound = 3f32.sqrt() * kaiming_std(t, a, mode, nonlinearity)?;
    uniform(t, -bound, bound, rng);
    Ok(())
}

/// Kaiming/He normal: N(0, std²) with `std = gain / √fan` (see [`kaiming_uniform`] for `a`).
///
/// # Errors
/// When `t` has fewer than 2 dims or no elements.
pub fn kaiming_normal(
    t: &Tensor,
    a: f32,
    mode: FanMode,
    nonlinearity: Nonlinearity,
    rng: &mut impl Rng,
) -> Result<()> {
    let std = kaiming_std(t, a, mode, nonlinearity)?;
    normal(t, 0.0, std, rng);
    Ok(())
}

/// Dirac (identity) initialisation of a convolution's weight `[c_out, c_in / groups, k…]` (1-D to
/// 3-D, `torch.nn.init.dirac_`): all zero but, in each group, filter `d` of the first
/// `min(c_out / groups, c_in / groups)` has a one at its kernel's centre (index `k / 2` on every
/// axis) on input channel `d`, so a same-padded convolution starts by passing those channels
/// through unchanged.
///
/// # Errors
/// When `t` is not a 3- to 5-dim weight or `groups` does not divide its output channels.
pub fn dirac(t: &Tensor, groups: usize) -> Result<()> {
    let dims = t.dims();
    if !(3..=5).contains(&dims.len()) || groups == 0 || !dims[0].is_multiple_of(groups) {
        return Err(Error::config(
            "init",
            format!(
                "Dirac init needs a conv weight [out, in/groups, k...] of 3 to 5 dims whose \
                 output channels the {groups} groups divide, got shape {dims:?}"
            ),
        ));
    }
    let out_per_group = dims[0] / groups;
    let kernel = &dims[2..];
    let taps: usize = kernel.iter().product();
    // Row-major offset of the kernel's centre within one (filter, input channel) kernel.
    let centre = kernel.iter().fold(0, |offset, &k| offset * k + k / 2);
    let mut data = t.data_mut();
    data.fill(0.0);
    for group in 0..groups {
        for d in 0..out_per_group.min(dims[1]) {
            let filter = group * out_per_group + d;
            data[(filter * dims[1] + d) * taps + centre] = 1.0;
        }
    }
    Ok(())
}

/// PyTorch's default for `Linear` and `Conv2d` (`reset_parameters`): the weight from
/// `kaiming_uniform(a = √5)`, which works out to U(−1/√fan_in, 1/√fan_in), and the bias from
/// U(−1/√fan_in, 1/√fan_in).
///
/// # Errors
/// When the weight has fewer than 2 dims or no elements.
pub fn default_layer_init(
    weight: &Tensor,
    bias: Option<&Tensor>,
    rng: &mut impl Rng,
) -> Result<()> {
    kaiming_uniform(
        weight,
        5f32.sqrt(),
        FanMode::FanIn,
        Nonlinearity::LeakyRelu,
        rng,
    )?;
    if let Some(bias) = bias {
        let (fan_in, _) = calculate_fan_in_and_fan_out(weight.dims())?;
        let bound = 1.0 / (fan_in as f32).sqrt();
        uniform(bias, -bound, bound, rng);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_tensor::seeded_rng;

    fn stats(t: &Tensor) -> (f32, f32, f32) {
        let d = t.data();
        let n = d.len() as f64;
        let mean = d.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = d.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        let max_abs = d.iter().fold(0f32, |m, x| m.max(x.abs()));
        (mean as f32, var.sqrt() as f32, max_abs)
    }

    /// A sample of 64·128·3·3 = 73 728 values: std within 2 % of the target, bound reached within 1 %.
    fn check_uniform(t: &Tensor, bound: f32) {
        let (mean, std, max_abs) = stats(t);
        assert!(
            max_abs <= bound && max_abs > 0.99 * bound,
            "max |x| {max_abs} vs bound {bound}"
        );
        assert!(mean.abs() < 0.02 * bound, "mean {mean}");
        let expected_std = bound / 3f32.sqrt();
        assert!(
            (std / expected_std - 1.0).abs() < 0.02,
            "std {std} vs {expected_std}"
        );
    }

    fn check_normal(t: &Tensor, expected_std: f32) {
        let (mean, std, _) = stats(t);
        assert!(mean.abs() < 0.02 * expected_std, "mean {mean}");
        assert!(
            (std / expected_std - 1.0).abs() < 0.02,
            "std {std} vs {expected_std}"
        );
    }

    #[test]
    fn fans_and_gains() {
        assert_eq!(
            calculate_fan_in_and_fan_out(&[20, 1, 5, 5]).unwrap(),
            (25, 500)
        );
        assert_eq!(
            calculate_fan_in_and_fan_out(&[500, 2450]).unwrap(),
            (2450, 500)
        );
        let err = calculate_fan_in_and_fan_out(&[7]).unwrap_err();
        assert!(
            err.to_string().contains("at least 2 dims, got shape [7]"),
            "{err}"
        );
        assert_eq!(calculate_gain(Nonlinearity::Relu, None), 2f32.sqrt());
        assert_eq!(calculate_gain(Nonlinearity::Tanh, None), 5.0 / 3.0);
        assert!(
            (calculate_gain(Nonlinearity::LeakyRelu, None) - (2.0 / 1.0001f32).sqrt()).abs() < 1e-7
        );
        assert!(
            (calculate_gain(Nonlinearity::LeakyRelu, Some(5f32.sqrt())) - (1.0f32 / 3.0).sqrt())
                .abs()
                < 1e-7
        );
    }

    #[test]
    fn kaiming_and_xavier_match_their_formulas() {
        let mut rng = seeded_rng(3);
        let t = Tensor::zeros([64, 128, 3, 3]);
        let (fan_in, fan_out) = (128.0 * 9.0f32, 64.0 * 9.0f32);
        kaiming_uniform(&t, 0.0, FanMode::FanIn, Nonlinearity::Relu, &mut rng).unwrap();
        check_uniform(&t, (6.0 / fan_in).sqrt());
        kaiming_normal(&t, 0.0, FanMode::FanOut, Nonlinearity::Relu, &mut rng).unwrap();
        check_normal(&t, (2.0 / fan_out).sqrt());
        xavier_uniform(&t, 1.0, &mut rng).unwrap();
        check_uniform(&t, (6.0 / (fan_in + fan_out)).sqrt());
        xavier_normal(&t, 2.0, &mut rng).unwrap();
        check_normal(&t, 2.0 * (2.0 / (fan_in + fan_out)).sqrt());
    }

    /// Q·Qᵀ (or Qᵀ·Q for a tall matrix) is `gain²·I`, for a wide, a tall and a conv-shaped weight.
    #[test]
    fn orthogonal_rows_or_columns() {
        let mut rng = seeded_rng(5);
        for (dims, gain) in [
            (vec![3, 7], 1.0f32),
            (vec![9, 4], 2.0),
            (vec![6, 2, 3, 3], 1.5),
        ] {
            let t = Tensor::zeros(dims.clone());
            orthogonal(&t, gain, &mut rng).unwrap();
            let (rows, cols) = (dims[0], t.numel() / dims[0]);
            let d = t.data();
            let (n, tall) = (rows.min(cols), rows > cols);
            let at = |v: usize, j: usize| {
                if tall {
                    d[j * cols + v]
                } else {
                    d[v * cols + j]
                }
            };
            for a in 0..n {
                for b in 0..n {
                    let dot: f32 = (0..rows.max(cols)).map(|j| at(a, j) * at(b, j)).sum();
                    let want = if a == b { gain * gain } else { 0.0 };
                    assert!((dot - want).abs() < 1e-5, "{dims:?}: <{a},{b}> = {dot}");
                }
            }
        }
        assert!(orthogonal(&Tensor::zeros([5]), 1.0, &mut rng).is_err());
        let z = Tensor::ones([2, 2]);
        zeros(&z);
        assert_eq!(z.to_vec(), vec![0.0; 4]);
    }

    #[test]
    fn pytorch_default_is_one_over_sqrt_fan_in() {
        let mut rng = seeded_rng(4);
        let (w, b) = (Tensor::zeros([64, 128, 3, 3]), Tensor::zeros([20_000]));
        default_layer_init(&w, Some(&b), &mut rng).unwrap();
        let bound = 1.0 / (128.0 * 9.0f32).sqrt();
        check_uniform(&w, bound);
        check_uniform(&b, bound);
        let empty = Tensor::zeros([4, 0]);
        assert!(
            kaiming_uniform(&empty, 0.0, FanMode::FanIn, Nonlinearity::Relu, &mut rng).is_err()
        );
    }
}
