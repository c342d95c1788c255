//! Which pixels a class score depends on: gradient methods (vanilla, SmoothGrad, integrated
//! gradients, guided backpropagation), class activation maps (Grad-CAM, Grad-CAM++) and occlusion.
//!
//! Every method explains the *logit* of one class (the predicted one unless given) for one
//! normalised `[C, H, W]` image, with the model in eval mode. The model's parameters are frozen
//! while a method runs, so their `.grad` is left as it was.
mod cam;
mod gradient;
mod integrated;
mod occlusion;

pub use cam::{grad_cam, grad_cam_plus_plus, upsample_bilinear};
pub use gradient::{guided_backprop, smoothgrad, vanilla_gradient, SmoothGradConfig};
pub use integrated::{integrated_gradients, IntegratedGradients};
pub use occlusion::{occlusion, OcclusionConfig};

use crate::error::{Error, Result};
use crate::probe::{as_batch, Frozen};
use convkit_nn::backward_hooks::BackwardHooks;
use convkit_nn::{ForwardPass, Mode, Module, ModuleCall};
use convkit_tensor::{no_grad, Tensor};

/// An attribution per input value: `values` has the image's shape `[C, H, W]`.
#[derive(Clone, Debug)]
pub struct Attribution {
    pub values: Tensor,
    /// The class explained.
    pub class: usize,
}

impl Attribution {
    /// A heat map `[H, W]`: the largest magnitude over the channels at each pixel (Simonyan et al.).
    pub fn heat(&self) -> Tensor {
        let dims = self.values.dims();
        let (c, plane) = (dims[0], dims[1] * dims[2]);
        let data = self.values.data();
        let heat = (0..plane)
            .map(|p| {
                (0..c)
                    .map(|ch| data[ch * plane + p].abs())
                    .fold(0.0, f32::max)
            })
            .collect();
        Tensor::from_vec(heat, [dims[1], dims[2]]).expect("H·W values")
    }
}

/// A map over the image plane `[h, w]` (a CAM at its layer's resolution, or occlusion at the
/// image's).
#[derive(Clone, Debug)]
pub struct HeatMap {
    pub values: Tensor,
    /// The class explained.
    pub class: usize,
}

/// How gradients pass the ReLU modules on the way down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GradientRule {
    /// Plain backpropagation.
    Plain,
    /// Guided backpropagation (Springenberg et al.): only positive gradients pass a ReLU module.
    Guided,
}

/// The model's logits `[N, K]` for a batch, without a graph.
pub(crate) fn logits(model: &dyn Module, batch: &Tensor) -> Result<Tensor> {
    Ok(no_grad(|| model.forward(batch, Mode::Eval))?)
}

/// The class to explain: `class` checked against the model's `K` outputs, else the predicted one
/// for the single image of `logits` (`[1, K]`).
///
/// # Errors
/// [`Error::ClassOutOfRange`]; [`Error::Shape`] when the model does not give `[1, K]` scores.
pub(crate) fn target_class(logits: &Tensor, class: Option<usize>) -> Result<usize> {
    let &[1, classes] = logits.dims() else {
        return Err(Error::Shape {
            what: "model output",
            expected: "[1, classes] scores for one image",
            dims: logits.dims().to_vec(),
        });
    };
    match class {
        Some(class) if class >= classes => Err(Error::ClassOutOfRange { class, classes }),
        Some(class) => Ok(class),
        None => Ok(logits.argmax(1)?[0]),
    }
}

/// `Σ_n logits[n, class]` as a graph node (the gradient of a sum of independent per-image scores
/// is each image's own gradient).
fn class_score_sum(logits: &Tensor, class: usize) -> Result<Tensor> {
    let (n, k) = (logits.dims()[0], logits.dims()[1]);
    let one_hot: Vec<f32> = (0..n * k)
        .map(|i| if i % k == class { 1.0 } else { 0.0 })
        .collect();
    Ok(logits.mul(&Tensor::from_vec(one_hot, [n, k])?)?.sum())
}

/// `∂ logit[class] / ∂ x` for every image `x` of `batch` (`[N, C, H, W]`), under `rule`, with the
/// scores `logit[class]` of the batch.
pub(crate) fn input_gradients(
    model: &dyn Module,
    batch: &Tensor,
    class: usize,
    rule: GradientRule,
) -> Result<(Tensor, Vec<f32>)> {
    let _frozen = Frozen::new(model);
    let x = batch.detach().with_grad();
    let scores = match rule {
        GradientRule::Plain => {
            let logits = model.forward(&x, Mode::Eval)?;
            class_score_sum(&logits, class)?.backward()?;
            logits
        }
        GradientRule::Guided => {
            let mut hooks = BackwardHooks::new(|c: &ModuleCall| c.module.describe() == "ReLU()");
            let logits = ForwardPass::new(Mode::Eval)
                .with_hook(&mut hooks)
                .run(model, &x)?;
            hooks.backward(&class_score_sum(&logits, class)?, |_, g| Ok(g.relu()))?;
            logits
        }
    };
    let k = scores.dims()[1];
    let scores = scores
        .data()
        .iter()
        .skip(class)
        .step_by(k)
        .copied()
        .collect();
    // No gradient at all means the score does not depend on the input: zero attribution.
    let grad = x.grad().unwrap_or_else(|| Tensor::zeros(x.dims()));
    Ok((grad, scores))
}

/// `[1, C, H, W]` for the image and the class to explain (predicted unless given).
pub(crate) fn prepare(
    model: &dyn Module,
    image: &Tensor,
    class: Option<usize>,
) -> Result<(Tensor, usize)> {
    let batch = as_batch(image)?;
    let class = target_class(&logits(model, &batch)?, class)?;
    Ok((batch, class))
}

/// Splits `0..n` into chunks of at most `size` (at least 1).
pub(crate) fn chunks(n: usize, size: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let size = size.max(1);
    (0..n).step_by(size).map(move |s| s..(s + size).min(n))
}
