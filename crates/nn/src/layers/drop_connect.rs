//! `DropConnect`: dropout on a layer's weights instead of its activations (Wan et al. 2013).
use super::dropout::{DropState, DropoutConfig};
use super::{Conv2d, Linear};
use crate::error::Result;
use crate::forward_pass::ForwardPass;
use crate::module::{Module, TensorKind};
use convkit_tensor::Tensor;
use rand::Rng;

/// A layer whose weight DropConnect can mask: it runs with a substitute weight of the same shape.
pub trait WeightedLayer: Module {
    fn weight(&self) -> &Tensor;
    fn forward_with_weight(&self, x: &Tensor, weight: &Tensor) -> Result<Tensor>;
}

impl WeightedLayer for Linear {
    fn weight(&self) -> &Tensor {
        Linear::weight(self)
    }
    fn forward_with_weight(&self, x: &Tensor, weight: &Tensor) -> Result<Tensor> {
        Linear::forward_with_weight(self, x, weight)
    }
}

impl WeightedLayer for Conv2d {
    fn weight(&self) -> &Tensor {
        Conv2d::weight(self)
    }
    fn forward_with_weight(&self, x: &Tensor, weight: &Tensor) -> Result<Tensor> {
        Conv2d::forward_with_weight(self, x, weight)
    }
}

/// DropConnect around a `Linear` or `Conv2d`: in [`Mode::Train`] each weight is zeroed with
/// probability `p` and the others scaled by `1/(1−p)` (inverted, so evaluation needs no rescaling),
/// one mask per forward pass shared by the batch; the gradient reaches only the kept weights. The
/// bias is not dropped. In [`Mode::Eval`] the wrapped layer runs unchanged. Parameters keep the
/// wrapped layer's names (`weight`, `bias`), so checkpoints are interchangeable with it.
///
/// # Shapes
/// those of the wrapped layer.
///
/// # Errors
/// [`DropConnect::new`]: `p` outside `[0, 1]`. `forward`: the wrapped layer's errors.
pub struct DropConnect<L: WeightedLayer> {
    inner: L,
    state: DropState,
}

impl<L: WeightedLayer> DropConnect<L> {
    pub fn new(inner: L, config: DropoutConfig, rng: &mut impl Rng) -> Result<DropConnect<L>> {
        Ok(DropConnect {
            inner,
            state: DropState::new("DropConnect", config.p, rng)?,
        })
    }

    pub fn inner(&self) -> &L {
        &self.inner
    }
}

impl<L: WeightedLayer> Module for DropConnect<L> {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        let mode = pass.mode();
        if !mode.is_train() {
            return self.inner.forward_in(x, pass);
        }
        let weight = self
            .state
            .run(|p, rng| self.inner.weight().dropout(p, true, rng))?;
        self.inner.forward_with_weight(x, &weight)
    }

    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        self.inner.visit(prefix, visitor);
    }

    fn macs(&self, input: &[usize], output: &[usize]) -> u64 {
        self.inner.macs(input, output)
    }

    fn describe(&self) -> String {
        format!("DropConnect(p={}, {})", self.state.p, self.inner.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Conv2dConfig, LinearConfig};
    use crate::Mode;
    use convkit_tensor::seeded_rng;

    #[test]
    fn drops_weights_in_train_and_keeps_expectation() {
        let mut rng = seeded_rng(0);
        let linear = Linear::new(400, 1, LinearConfig { bias: false }, &mut rng).unwrap();
        linear.weight().data_mut().fill(1.0);
        let layer = DropConnect::new(linear, DropoutConfig { p: 0.25 }, &mut rng).unwrap();
        let x = Tensor::ones([1, 400]);
        // y = Σ kept weights / 0.75: Binomial(400, 0.75)/0.75, mean 400, sd ≈ 11.5.
        let y = layer.forward(&x, Mode::Train).unwrap();
        let kept = y.item() * 0.75;
        assert!((kept - 300.0).abs() < 40.0, "{kept} weights kept");
        assert!((kept - kept.round()).abs() < 1e-3);
        // Only kept weights get a gradient, scaled like the forward pass.
        y.backward().unwrap();
        let grad = layer.inner().weight().grad().unwrap().to_vec();
        assert!(grad
            .iter()
            .all(|&g| g == 0.0 || (g - 1.0 / 0.75).abs() < 1e-6));
        let nonzero = grad.iter().filter(|&&g| g != 0.0).count() as f32;
        assert!((nonzero - kept).abs() < 0.5);
        assert_eq!(layer.forward(&x, Mode::Eval).unwrap().item(), 400.0);
        let names: Vec<String> = layer.parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["weight"]);
        assert_eq!(
            layer.describe(),
            "DropConnect(p=0.25, Linear(in_features=400, out_features=1, bias=False))"
        );
    }

    #[test]
    fn wraps_a_convolution() {
        let mut rng = seeded_rng(1);
        let conv = Conv2d::new(2, 3, (3, 3), Conv2dConfig::default(), &mut rng).unwrap();
        let layer = DropConnect::new(conv, DropoutConfig { p: 0.5 }, &mut rng).unwrap();
        let x = Tensor::randn([2, 2, 5, 5], &mut rng);
        let train = layer.forward(&x, Mode::Train).unwrap();
        let eval = layer.forward(&x, Mode::Eval).unwrap();
        assert_eq!(train.dims(), &[2, 3, 3, 3]);
        assert_ne!(train.to_vec(), eval.to_vec());
        assert_eq!(
            eval.to_vec(),
            layer.inner().forward(&x, Mode::Eval).unwrap().to_vec()
        );
    }
}
