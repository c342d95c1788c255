//! Fused inference on every model of the zoo: `FusedModel` (batch norms folded into the layer
//! before them, activations applied in place) gives the unfused eval-mode logits within 1e-5 of
//! their scale, with random batch-norm statistics and affine parameters so that folding has
//! something to fold.
mod zoo_common;

use convkit_models::{build_model, model_names, natural_spec, ModelSpec};
use convkit_nn::fusion::FusedModel;
use convkit_nn::{Mode, Module};
use convkit_tensor::seeded_rng;
use rand::Rng;
use zoo_common::batch;

/// Every 1-D tensor (biases, batch-norm weights and statistics) drawn at random; running
/// variances kept positive.
fn randomise_vectors(model: &dyn Module) {
    let mut rng = seeded_rng(11);
    for (name, t) in model.named_tensors() {
        if t.rank() != 1 || name.ends_with("num_batches_tracked") {
            continue;
        }
        let (lo, hi) = if name.ends_with("running_var") {
            (0.5, 2.0)
        } else {
            (-0.5, 0.5)
        };
        t.data_mut()
            .iter_mut()
            .for_each(|v| *v = rng.random_range(lo..hi));
    }
}

/// The spec a model is checked at: its natural one, with ImageNet-sized inputs cut to 96×96 to
/// keep the test quick.
fn test_spec(name: &str) -> ModelSpec {
    let spec = natural_spec(name).unwrap();
    let (h, w) = spec.input_size;
    ModelSpec {
        input_size: (h.min(96), w.min(96)),
        ..spec
    }
}

/// Families whose every batch norm directly follows a convolution.
const ALL_NORMS_FOLDED: &[&str] = &["resnet", "plain", "mobilenet", "googlenet"];

#[test]
fn every_zoo_model_gives_the_same_logits_fused() {
    for name in model_names() {
        let spec = test_spec(name);
        let model = build_model(name, &spec, &mut seeded_rng(0)).unwrap();
        randomise_vectors(model.as_ref());
        let x = batch(2, &spec);
        let unfused = model.forward(&x, Mode::Eval).unwrap().to_vec();
        let fused_model = FusedModel::new(model.as_ref()).unwrap();
        let fused = fused_model.forward(&x).unwrap().to_vec();
        let scale = unfused.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(scale.is_finite() && scale > 0.0, "{name}: scale {scale}");
        let worst = fused
            .iter()
            .zip(&unfused)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst <= 1e-5 * scale,
            "{name}: fused differs by {worst} at output scale {scale}"
        );
        let fusions = fused_model.fusions();
        assert!(!fusions.is_empty(), "{name}: nothing fused");
        if ALL_NORMS_FOLDED.iter().any(|f| name.starts_with(f)) {
            let absorbed = fusions.join(" + ");
            for (norm, _) in model.buffers() {
                let Some(layer) = norm.strip_suffix(".running_mean") else {
                    continue;
                };
                assert!(
                    absorbed.split(" + ").any(|n| n == layer),
                    "{name}: {layer} not folded"
                );
            }
        }
        println!(
            "{name}: {} fused layers, max difference {:.1e} of scale {scale:.3}",
            fusions.len(),
            worst / scale
        );
    }
}
