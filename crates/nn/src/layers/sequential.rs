//! `Sequential`: a chain of modules applied in order.
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use crate::module::Module;
use convkit_tensor::Tensor;

/// Applies its children in order, PyTorch's `nn.Sequential`. Children are named `"0"`, `"1"`, ...
/// ([`Sequential::new`]) or by the caller ([`Sequential::named`], like `nn.Sequential(OrderedDict)`);
/// their tensors are named `<child>.<tensor>`, e.g. `features.3.weight` for a `Sequential` stored under
/// `features`.
///
/// # Shapes
/// input as the first child takes → output as the last child gives (an empty one returns its input).
///
/// # Errors
/// [`Sequential::named`]: an empty, duplicate or dotted child name. `forward`: the first child's error.
///
/// ```
/// use convkit_nn::layers::{Flatten, Linear, LinearConfig, ReLU, Sequential};
/// use convkit_nn::Module;
/// use convkit_tensor::seeded_rng;
/// let mut rng = seeded_rng(0);
/// let mlp = Sequential::new(vec![
///     Box::new(Flatten::default()),
///     Box::new(Linear::new(784, 10, LinearConfig::default(), &mut rng).unwrap()),
///     Box::new(ReLU),
/// ]);
/// assert_eq!(mlp.parameters()[0].0, "1.weight");
/// ```
#[derive(Default)]
pub struct Sequential {
    children: Vec<(String, Box<dyn Module>)>,
}

impl Sequential {
    /// Children named by their position: `"0"`, `"1"`, ...
    pub fn new(children: Vec<Box<dyn Module>>) -> Sequential {
        Sequential {
            children: children
                .into_iter()
                .enumerate()
                .map(|(i, m)| (i.to_string(), m))
                .collect(),
        }
    }

    /// Children under the given names.
    pub fn named(children: Vec<(String, Box<dyn Module>)>) -> Result<Sequential> {
        for (i, (name, _)) in children.iter().enumerate() {
            if name.is_empty() || name.contains('.') {
                return Err(Error::config(
                    "Sequential",
                    format!("child name {name:?} must be non-empty without dots"),
                ));
            }
            if children[..i].iter().any(|(other, _)| other == name) {
                return Err(Error::config(
                    "Sequential",
                    format!("child name {name:?} is used twice"),
                ));
            }
        }
        Ok(Sequential { children })
    }

    pub fn len(&self) -> usize {
        self.children.len()
    }

    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }
}

impl Module for Sequential {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        pass.chain(&self.children(), x)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        self.children
            .iter()
            .map(|(name, m)| (name.as_str(), m.as_ref()))
            .collect()
    }

    /// All children: each runs on the output of the one before.
    fn fusable_chains(&self) -> Vec<Vec<&str>> {
        vec![self
            .children
            .iter()
            .map(|(name, _)| name.as_str())
            .collect()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::assert_close;
    use crate::layers::{BatchNorm1d, BatchNormConfig, Linear, LinearConfig, ReLU};
    use crate::Mode;
    use convkit_tensor::seeded_rng;

    fn nested() -> Sequential {
        let mut rng = seeded_rng(0);
        let block = Sequential::new(vec![
            Box::new(Linear::new(4, 3, LinearConfig::default(), &mut rng).unwrap()),
            Box::new(BatchNorm1d::new(3, BatchNormConfig::default()).unwrap()),
            Box::new(ReLU),
        ]);
        let head = Linear::new(3, 2, LinearConfig { bias: false }, &mut rng).unwrap();
        Sequential::named(vec![
            ("features".into(), Box::new(block)),
            ("fc".into(), Box::new(head)),
        ])
        .unwrap()
    }

    #[test]
    fn nested_names_follow_the_state_dict() {
        let model = nested();
        let names = |v: Vec<(String, Tensor)>| v.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(
            names(model.parameters()),
            [
                "features.0.weight",
                "features.0.bias",
                "features.1.weight",
                "features.1.bias",
                "fc.weight"
            ]
        );
        assert_eq!(
            names(model.buffers()),
            [
                "features.1.running_mean",
                "features.1.running_var",
                "features.1.num_batches_tracked"
            ]
        );
        assert_eq!(model.named_tensors().len(), 8);
        assert_eq!(model.num_parameters(), 12 + 3 + 3 + 3 + 6);
    }

    #[test]
    fn forward_composes_children_in_order() {
        let model = nested();
        let x = Tensor::from_vec((0..8).map(|i| i as f32 * 0.3 - 1.0).collect(), [2, 4]).unwrap();
        let y = model.forward(&x, Mode::Eval).unwrap();
        let mut by_hand = x.clone();
        for (_, child) in model.children() {
            by_hand = child.forward(&by_hand, Mode::Eval).unwrap();
        }
        assert_eq!(y.dims(), &[2, 2]);
        assert_close(&y.to_vec(), &by_hand.to_vec());
        assert_eq!(
            Sequential::default()
                .forward(&x, Mode::Eval)
                .unwrap()
                .to_vec(),
            x.to_vec()
        );
    }

    #[test]
    fn describes_like_pytorch_and_rejects_bad_names() {
        let expected = "Sequential(\n  (features): Sequential(\n    (0): Linear(in_features=4, out_features=3, bias=True)\n    \
(1): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n    (2): ReLU()\n  )\n  \
(fc): Linear(in_features=3, out_features=2, bias=False)\n)";
        assert_eq!(nested().describe(), expected);
        let dup = Sequential::named(vec![
            ("a".into(), Box::new(ReLU)),
            ("a".into(), Box::new(ReLU)),
        ]);
        assert!(dup
            .err()
            .unwrap()
            .to_string()
            .contains("\"a\" is used twice"));
        assert!(Sequential::named(vec![("a.b".into(), Box::new(ReLU))]).is_err());
    }
}
