//! Integrated gradients (Sundararajan et al. 2017), with the completeness check the paper asks for.
use super::{chunks, input_gradients, logits, prepare, Attribution, GradientRule};
use crate::error::{Error, Result};
use crate::probe::as_batch;
use convkit_nn::Module;
use convkit_tensor::Tensor;

/// Integrated gradients of one image, and how well they add up.
#[derive(Clone, Debug)]
pub struct IntegratedGradients {
    pub attribution: Attribution,
    /// `F(image) − F(baseline)`, the class logit's change along the path.
    pub delta: f32,
    /// The completeness gap `|Σ attributions − delta|`: zero for the exact integral, shrinking
    /// as the number of steps grows.
    pub gap: f32,
}

/// Integrated gradients from `baseline` to `image`: `(x − x′) · mean_k ∇F(x′ + α_k (x − x′))`
/// with the midpoint rule `α_k = (k + ½) / steps`, for the class logit `F`.
///
/// A common baseline is the black image (every pixel 0 before normalisation).
///
/// # Shapes
/// `image` and `baseline` `[C, H, W]` → attribution `[C, H, W]`.
///
/// # Errors
/// Images that are not `[C, H, W]` or differ in shape, zero steps, a class out of range.
pub fn integrated_gradients(
    model: &dyn Module,
    image: &Tensor,
    baseline: &Tensor,
    class: Option<usize>,
    steps: usize,
) -> Result<IntegratedGradients> {
    if steps == 0 {
        return Err(Error::config(
            "integrated gradients",
            "needs at least 1 step",
        ));
    }
    if baseline.dims() != image.dims() {
        return Err(Error::Shape {
            what: "integrated gradients baseline",
            expected: "the image's shape",
            dims: baseline.dims().to_vec(),
        });
    }
    let (batch, class) = prepare(model, image, class)?;
    let (x, b) = (image.to_vec(), baseline.to_vec());
    let per = x.len();
    let mut sum = vec![0f64; per];
    for range in chunks(steps, BATCH) {
        let mut points = Vec::with_capacity(range.len() * per);
        for k in range.clone() {
            let alpha = (k as f32 + 0.5) / steps as f32;
            points.extend(x.iter().zip(&b).map(|(&x, &b)| b + alpha * (x - b)));
        }
        let mut dims = vec![range.len()];
        dims.extend_from_slice(image.dims());
        let (grad, _) = input_gradients(
            model,
            &Tensor::from_vec(points, dims)?,
            class,
            GradientRule::Plain,
        )?;
        for (i, g) in grad.data().iter().enumerate() {
            sum[i % per] += f64::from(*g);
        }
    }
    let values: Vec<f32> = sum
        .iter()
        .zip(x.iter().zip(&b))
        .map(|(s, (&x, &b))| ((f64::from(x) - f64::from(b)) * s / steps as f64) as f32)
        .collect();
    let score = |batch: &Tensor| -> Result<f32> { Ok(logits(model, batch)?.get(&[0, class])?) };
    let delta = score(&batch)? - score(&as_batch(baseline)?)?;
    let total: f64 = values.iter().map(|&v| f64::from(v)).sum();
    Ok(IntegratedGradients {
        attribution: Attribution {
            values: Tensor::from_vec(values, image.dims())?,
            class,
        },
        delta,
        gap: (total - f64::from(delta)).abs() as f32,
    })
}

/// Path points per forward/backward pass.
const BATCH: usize = 64;
