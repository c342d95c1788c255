//! Keeping a pretrained body's batch norms in inference mode while the rest trains (Keras's
//! advice for fine-tuning: their running statistics are used and not updated).
use crate::transfer::head::is_head_tensor;
use convkit_nn::{ForwardPass, Module, Result, TensorKind};
use convkit_tensor::Tensor;

/// The names of `model`'s layers that keep running statistics (batch norms), outside the module
/// `head`.
pub fn running_stat_layers(model: &dyn Module, head: &str) -> Vec<String> {
    let mut layers = Vec::new();
    for (name, _) in model.buffers() {
        if let Some(layer) = name.strip_suffix(".running_mean") {
            if !is_head_tensor(head, &name) {
                layers.push(layer.to_string());
            }
        }
    }
    layers
}

/// A model whose named layers run in inference mode even in a training pass (see
/// [`ForwardPass::set_eval_modules`]); otherwise the model itself: same children, names, tensors
/// and description, so checkpoints are those of the model.
///
/// # Shapes
/// As the wrapped model.
///
/// # Errors
/// As the wrapped model.
pub struct NormsInEval {
    inner: Box<dyn Module>,
    layers: Vec<String>,
}

impl NormsInEval {
    /// `model` with `layers` (dotted module names, from [`running_stat_layers`]) in inference mode.
    pub fn new(model: Box<dyn Module>, layers: Vec<String>) -> NormsInEval {
        NormsInEval {
            inner: model,
            layers,
        }
    }

    /// The layers kept in inference mode.
    pub fn layers(&self) -> &[String] {
        &self.layers
    }
}

impl Module for NormsInEval {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        pass.set_eval_modules(&self.layers);
        self.inner.forward_in(x, pass)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        self.inner.children()
    }

    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        self.inner.visit(prefix, visitor);
    }

    fn type_name(&self) -> &str {
        self.inner.type_name()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{build_model, ModelSpec};
    use convkit_nn::Mode;
    use convkit_tensor::seeded_rng;

    #[test]
    fn the_body_norms_keep_their_statistics_in_training() {
        let model = build_model("smallcnn", &ModelSpec::CIFAR, &mut seeded_rng(0)).unwrap();
        let layers = running_stat_layers(model.as_ref(), "fc");
        assert_eq!(layers[..2], ["stage1.1", "stage1.4"]);
        assert_eq!(layers.len(), 6);
        let before: Vec<Vec<f32>> = model.buffers().iter().map(|(_, t)| t.to_vec()).collect();
        let wrapped = NormsInEval::new(model, layers);
        let x = Tensor::from_vec(
            (0..2 * 3 * 32 * 32).map(|i| (i % 7) as f32).collect(),
            [2, 3, 32, 32],
        )
        .unwrap();
        wrapped.forward(&x, Mode::Train).unwrap();
        let after: Vec<Vec<f32>> = wrapped.buffers().iter().map(|(_, t)| t.to_vec()).collect();
        assert_eq!(before, after);
        assert!(wrapped.describe().starts_with("Sequential("));
        // Six convolutions (a weight each) with their batch norms (five tensors each), and fc.
        assert_eq!(wrapped.named_tensors().len(), 6 * (1 + 5) + 2);
    }
}
