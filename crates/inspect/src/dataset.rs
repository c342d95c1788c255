//! Dataset images as the model sees them, and a model's outputs and features over many images.
use crate::error::{Error, Result};
use convkit_data::{Dataset, Normalize};
use convkit_nn::{ForwardPass, Mode, Module, ModuleCall};
use convkit_tensor::{no_grad, Tensor};

/// Images `indices` of `data` normalised by `normalize` as `[N, C, H, W]`, with their labels.
///
/// # Errors
/// An index out of range, or a normalisation with another channel count than the images.
pub fn normalized_batch(
    data: &Dataset,
    indices: &[usize],
    normalize: &Normalize,
) -> Result<(Tensor, Vec<usize>)> {
    let c = data.channels();
    if normalize.mean.len() != c || normalize.std.len() != c {
        return Err(Error::Channels {
            expected: normalize.mean.len(),
            got: c,
        });
    }
    let plane = data.height() * data.width();
    let mut pixels = Vec::with_capacity(indices.len() * c * plane);
    let mut labels = Vec::with_capacity(indices.len());
    for &i in indices {
        let sample = data.get(i).ok_or_else(|| {
            Error::config(
                "dataset",
                format!(
                    "index {i} is out of range: the set has {} images",
                    data.len()
                ),
            )
        })?;
        pixels.extend(sample.image.iter().enumerate().map(|(j, &p)| {
            let ch = j / plane;
            (f32::from(p) / 255.0 - normalize.mean[ch]) / normalize.std[ch]
        }));
        labels.push(sample.label);
    }
    let batch = Tensor::from_vec(pixels, [indices.len(), c, data.height(), data.width()])?;
    Ok((batch, labels))
}

/// Where [`outputs_and_features`] reads features.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureLayer<'a> {
    /// The input of the last layer the forward pass calls (the classifier's input).
    Penultimate,
    /// The output of the module with this name, flattened.
    Named(&'a str),
}

/// The logits `[N, K]` and the features `[N, F]` at `layer` of a batch `[N, ...]`, in eval mode,
/// `batch_size` images per forward pass.
///
/// # Errors
/// An unknown layer (listing the valid ones), a layer that did not run, the model's own error.
pub fn outputs_and_features(
    model: &dyn Module,
    images: &Tensor,
    layer: FeatureLayer<'_>,
    batch_size: usize,
) -> Result<(Tensor, Tensor)> {
    if let FeatureLayer::Named(name) = layer {
        model.module(name)?;
    }
    let n = images.dims()[0];
    let per = images.numel() / n.max(1);
    let (mut logits, mut features, mut width) = (Vec::new(), Vec::new(), (0, 0));
    for start in (0..n).step_by(batch_size.max(1)) {
        let end = (start + batch_size.max(1)).min(n);
        let mut dims = images.dims().to_vec();
        dims[0] = end - start;
        let chunk = Tensor::from_vec(images.data()[start * per..end * per].to_vec(), dims)?;
        let mut seen: Option<Tensor> = None;
        let mut hook = |call: &ModuleCall| {
            match layer {
                FeatureLayer::Named(name) if call.name == name => {
                    seen = Some(call.output.clone());
                }
                FeatureLayer::Penultimate if call.module.children().is_empty() => {
                    seen = Some(call.input.clone());
                }
                _ => {}
            }
            Ok(None)
        };
        let out = no_grad(|| {
            ForwardPass::new(Mode::Eval)
                .with_hook(&mut hook)
                .run(model, &chunk)
        })?;
        let name = match layer {
            FeatureLayer::Named(name) => name,
            FeatureLayer::Penultimate => "the last layer",
        };
        let seen = seen.ok_or_else(|| Error::NotRun(name.to_string()))?;
        width = (out.numel() / dims_n(&out), seen.numel() / dims_n(&seen));
        logits.extend_from_slice(&out.data());
        features.extend_from_slice(&seen.data());
    }
    Ok((
        Tensor::from_vec(logits, [n, width.0])?,
        Tensor::from_vec(features, [n, width.1])?,
    ))
}

fn dims_n(t: &Tensor) -> usize {
    t.dims().first().copied().unwrap_or(1).max(1)
}
