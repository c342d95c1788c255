//! Class activation maps from a layer's activations and gradients: Grad-CAM (Selvaraju et al.
//! 2017) and Grad-CAM++ (Chattopadhay et al. 2018).
use super::{class_score_sum, prepare, HeatMap};
use crate::error::{Error, Result};
use crate::probe::Frozen;
use convkit_nn::backward_hooks::BackwardHooks;
use convkit_nn::{ForwardPass, Mode, Module, ModuleCall};
use convkit_tensor::Tensor;

/// Grad-CAM: `ReLU(Σ_k α_k A_k)` with `α_k` the spatial mean of `∂ logit[class] / ∂ A_k`, for the
/// output `A` (`[K, h, w]`) of the module named `layer` (its last call, if it runs twice).
///
/// # Shapes
/// `image` `[C, H, W]` → map `[h, w]` at the layer's resolution ([`upsample_bilinear`] brings it
/// to the image's).
///
/// # Errors
/// An unknown layer (the message lists the valid ones), a layer whose output is not
/// `[N, K, h, w]`, a class out of range, an image the model cannot take.
pub fn grad_cam(
    model: &dyn Module,
    image: &Tensor,
    layer: &str,
    class: Option<usize>,
) -> Result<HeatMap> {
    cam(model, image, layer, class, CamWeights::Mean)
}

/// Grad-CAM++: as [`grad_cam`] with each gradient weighted by
/// `a_ij = g² / (2g² + Σ_ab A_ab · g³)` before the positive part is summed, the paper's
/// closed form for an exponential of the score (so a map can credit several objects of a class).
///
/// # Shapes and errors
/// As [`grad_cam`].
pub fn grad_cam_plus_plus(
    model: &dyn Module,
    image: &Tensor,
    layer: &str,
    class: Option<usize>,
) -> Result<HeatMap> {
    cam(model, image, layer, class, CamWeights::PlusPlus)
}

#[derive(Clone, Copy)]
enum CamWeights {
    Mean,
    PlusPlus,
}

fn cam(
    model: &dyn Module,
    image: &Tensor,
    layer: &str,
    class: Option<usize>,
    weights: CamWeights,
) -> Result<HeatMap> {
    model.module(layer)?;
    let (batch, class) = prepare(model, image, class)?;
    let _frozen = Frozen::new(model);
    let mut hooks = BackwardHooks::new(|c: &ModuleCall| c.name == layer);
    let logits = ForwardPass::new(Mode::Eval)
        .with_hook(&mut hooks)
        .run(model, &batch)?;
    let cut = hooks
        .cuts()
        .last()
        .ok_or_else(|| Error::NotRun(layer.to_string()))?;
    let &[1, k, h, w] = cut.value().dims() else {
        return Err(Error::NotSpatial {
            layer: layer.to_string(),
            dims: cut.value().dims().to_vec(),
            method: "Grad-CAM",
        });
    };
    hooks.backward(&class_score_sum(&logits, class)?, |_, g| Ok(g))?;
    let activation = cut.value().to_vec();
    let grad = cut
        .grad()
        .map_or_else(|| vec![0.0; k * h * w], |g| g.to_vec());
    let plane = h * w;
    let mut map = vec![0f32; plane];
    for c in 0..k {
        let a = &activation[c * plane..(c + 1) * plane];
        let g = &grad[c * plane..(c + 1) * plane];
        let alpha = match weights {
            CamWeights::Mean => g.iter().sum::<f32>() / plane as f32,
            CamWeights::PlusPlus => plus_plus_weight(a, g),
        };
        map.iter_mut().zip(a).for_each(|(m, &a)| *m += alpha * a);
    }
    map.iter_mut().for_each(|m| *m = m.max(0.0));
    Ok(HeatMap {
        values: Tensor::from_vec(map, [h, w])?,
        class,
    })
}

/// Grad-CAM++'s channel weight `Σ_ij a_ij · ReLU(g_ij)` for one channel's activation `a` and
/// gradient `g`.
fn plus_plus_weight(a: &[f32], g: &[f32]) -> f32 {
    let sum_a: f32 = a.iter().sum();
    g.iter()
        .map(|&g| {
            if g == 0.0 {
                return 0.0;
            }
            let g2 = g * g;
            // The small constant keeps a 0/0 (all-zero activations) at 0, as reference code does.
            let a_ij = g2 / (2.0 * g2 + sum_a * g2 * g + 1e-7);
            a_ij * g.max(0.0)
        })
        .sum()
}

/// Bilinear resize of a map `[h, w]` to `(height, width)`, sampling at pixel centres (PyTorch's
/// `interpolate(mode="bilinear", align_corners=False)`).
///
/// # Errors
/// A map that is not 2-D, or an empty size.
pub fn upsample_bilinear(map: &Tensor, (height, width): (usize, usize)) -> Result<Tensor> {
    let &[h, w] = map.dims() else {
        return Err(Error::Shape {
            what: "upsample",
            expected: "a [h, w] map",
            dims: map.dims().to_vec(),
        });
    };
    if h == 0 || w == 0 || height == 0 || width == 0 {
        return Err(Error::config(
            "upsample",
            format!("cannot resize {h}x{w} to {height}x{width}"),
        ));
    }
    let src = map.data();
    // Source coordinate of output index i: (i + ½)·in/out − ½, clamped at 0; neighbours clamped.
    let axis = |i: usize, n_in: usize, n_out: usize| {
        let x = ((i as f32 + 0.5) * n_in as f32 / n_out as f32 - 0.5).max(0.0);
        let i0 = (x as usize).min(n_in - 1);
        let i1 = (i0 + 1).min(n_in - 1);
        (i0, i1, x - i0 as f32)
    };
    let cols: Vec<_> = (0..width).map(|j| axis(j, w, width)).collect();
    let mut out = Vec::with_capacity(height * width);
    for i in 0..height {
        let (y0, y1, fy) = axis(i, h, height);
        for &(x0, x1, fx) in &cols {
            let top = src[y0 * w + x0] * (1.0 - fx) + src[y0 * w + x1] * fx;
            let bottom = src[y1 * w + x0] * (1.0 - fx) + src[y1 * w + x1] * fx;
            out.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    Ok(Tensor::from_vec(out, [height, width])?)
}
