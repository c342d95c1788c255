//! Fused inference: a model's eval-mode forward with every batch norm folded into the convolution
//! or linear layer before it ([`crate::fold`]) and the activation after that layer applied in place
//! on its output, so neither costs a pass or a buffer of its own.
//!
//! [`FusedModel`] borrows the model and owns only the folded layers: the model (its checkpoint,
//! its autograd graph for inspection and attacks) stays as it was. Which layers may fuse comes from
//! the modules themselves ([`Module::fusable_chains`]): inside a declared chain, a `Conv2d` or
//! `Linear` followed by a `BatchNorm2d`/`BatchNorm1d` with running statistics and/or an
//! [`ActivationLayer`] becomes one fused layer. A fused forward pass runs that layer in the
//! convolution's place and passes its output through the absorbed calls unchanged, checking that
//! they come next and receive exactly that output.
use crate::error::{Error, Result};
use crate::fold::{fold_conv_bn, fold_linear_bn};
use crate::forward_pass::ForwardPass;
use crate::layers::{ActivationLayer, BatchNormNd, Conv2d, Linear};
use crate::module::{join_name, Mode, Module};
use convkit_tensor::ops::conv::InferenceConv2d;
use convkit_tensor::{no_grad, Activation, Tensor};
use std::any::Any;
use std::collections::HashMap;

/// A layer of the model, or a folded copy of it.
enum Held<'a, T> {
    Model(&'a T),
    Folded(T),
}

impl<T> Held<'_, T> {
    fn get(&self) -> &T {
        match self {
            Held::Model(layer) => layer,
            Held::Folded(layer) => layer,
        }
    }
}

/// The weighted layer a fused layer runs: a convolution with its weights packed once, or a
/// linear layer.
enum Weighted<'a> {
    Conv(InferenceConv2d),
    Linear(Held<'a, Linear>),
}

/// A convolution or linear layer with what it absorbed: its batch norm (folded into the weights)
/// and its activation (in the convolution's epilogue, or in place on the linear layer's output).
struct FusedLayer<'a> {
    weighted: Weighted<'a>,
    activation: Option<Activation>,
    /// Dotted names of the absorbed calls, in the order the model makes them.
    absorbed: Vec<String>,
}

impl FusedLayer<'_> {
    fn run(&self, x: &Tensor) -> Result<Tensor> {
        match &self.weighted {
            Weighted::Conv(conv) => Ok(conv.forward(x, self.activation)?),
            Weighted::Linear(linear) => {
                let out = linear.get().forward(x, Mode::Eval)?;
                if let Some(activation) = self.activation {
                    out.activation_(activation)?;
                }
                Ok(out)
            }
        }
    }
}

/// A model's inference path with batch norms folded and activations fused (see the module doc).
///
/// ```
/// use convkit_nn::fusion::FusedModel;
/// use convkit_nn::layers::{BatchNorm2d, BatchNormConfig, Conv2d, Conv2dConfig, ReLU, Sequential};
/// use convkit_nn::{Mode, Module};
/// use convkit_tensor::{seeded_rng, Tensor};
/// let mut rng = seeded_rng(0);
/// let model = Sequential::new(vec![
///     Box::new(Conv2d::new(3, 8, (3, 3), Conv2dConfig::default(), &mut rng).unwrap()),
///     Box::new(BatchNorm2d::new(8, BatchNormConfig::default()).unwrap()),
///     Box::new(ReLU),
/// ]);
/// let fused = FusedModel::new(&model).unwrap();
/// assert_eq!(fused.fusions(), ["0 + 1 + 2"]);
/// let x = Tensor::randn([2, 3, 8, 8], &mut rng);
/// let (a, b) = (fused.forward(&x).unwrap(), model.forward(&x, Mode::Eval).unwrap());
/// assert!(a.to_vec().iter().zip(b.to_vec()).all(|(a, b)| (a - b).abs() < 1e-5));
/// ```
pub struct FusedModel<'a> {
    model: &'a dyn Module,
    /// By the dotted name of the convolution or linear layer they replace.
    layers: HashMap<String, FusedLayer<'a>>,
}

impl<'a> FusedModel<'a> {
    /// Plans the fusion of `model`: folds every batch norm that a declared chain puts right after
    /// a `Conv2d` or `Linear`.
    ///
    /// # Errors
    /// A chain naming a child the module does not have.
    pub fn new(model: &'a dyn Module) -> Result<FusedModel<'a>> {
        let mut layers = HashMap::new();
        plan(model, "", &mut layers)?;
        Ok(FusedModel { model, layers })
    }

    /// The model's eval-mode output for `x`, computed through the fused layers without recording
    /// a graph.
    ///
    /// # Errors
    /// The model's own errors for an input it cannot take; a module whose forward does not run a
    /// declared chain in order.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        no_grad(|| {
            let mut pass = ForwardPass::fused(FusedCalls {
                layers: &self.layers,
                pending: None,
            });
            let out = pass.run(self.model, x)?;
            match pass.fusion().and_then(|f| f.pending) {
                Some(Pending { absorbed, .. }) => {
                    Err(mismatch(&absorbed[0], "the end of the pass"))
                }
                None => Ok(out),
            }
        })
    }

    /// Each fused layer as `layer + absorbed + ...` (`layer1.0.conv1 + layer1.0.bn1 +
    /// layer1.0.relu`), sorted by name.
    pub fn fusions(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .layers
            .iter()
            .map(|(name, layer)| {
                std::iter::once(name.as_str())
                    .chain(layer.absorbed.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" + ")
            })
            .collect();
        out.sort();
        out
    }
}

/// Adds the fused layers of `module` (named `prefix`) and of every module below it.
fn plan<'a>(
    module: &'a dyn Module,
    prefix: &str,
    layers: &mut HashMap<String, FusedLayer<'a>>,
) -> Result<()> {
    let children = module.children();
    for chain in module.fusable_chains() {
        let members = chain
            .iter()
            .map(|name| {
                let child = children.iter().find(|(n, _)| n == name).ok_or_else(|| {
                    Error::config(
                        "FusedModel",
                        format!(
                            "{} declares a fusable chain through '{name}', which is not one of its children",
                            module.type_name()
                        ),
                    )
                })?;
                Ok((join_name(prefix, name), child.1))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut i = 0;
        while i < members.len() {
            let Some(layer) = fuse(&members[i..])? else {
                i += 1;
                continue;
            };
            let name = members[i].0.clone();
            i += 1 + layer.absorbed.len();
            layers.insert(name, layer);
        }
    }
    for (name, child) in children {
        plan(child, &join_name(prefix, name), layers)?;
    }
    Ok(())
}

/// The fused layer starting at `chain[0]`, if it is a `Conv2d` or `Linear` followed by a batch
/// norm with running statistics and/or an activation layer.
fn fuse<'a>(chain: &[(String, &'a dyn Module)]) -> Result<Option<FusedLayer<'a>>> {
    let first = chain[0].1 as &dyn Any;
    let next = |i: usize| chain.get(i).map(|(_, m)| *m as &dyn Any);
    let (weighted, folded) = if let Some(conv) = first.downcast_ref::<Conv2d>() {
        let packed =
            |conv: &Conv2d| InferenceConv2d::new(conv.weight(), conv.bias(), &conv.config().op());
        match next(1).and_then(|m| tracked::<2>(m)) {
            Some(bn) => (Weighted::Conv(packed(&fold_conv_bn(conv, bn)?)), 1),
            None => (Weighted::Conv(packed(conv)), 0),
        }
    } else if let Some(linear) = first.downcast_ref::<Linear>() {
        match next(1).and_then(|m| tracked::<1>(m)) {
            Some(bn) => (
                Weighted::Linear(Held::Folded(fold_linear_bn(linear, bn)?)),
                1,
            ),
            None => (Weighted::Linear(Held::Model(linear)), 0),
        }
    } else {
        return Ok(None);
    };
    let activation = next(1 + folded)
        .and_then(|m| m.downcast_ref::<ActivationLayer>())
        .map(ActivationLayer::activation);
    let absorbed = folded + usize::from(activation.is_some());
    if absorbed == 0 {
        return Ok(None);
    }
    Ok(Some(FusedLayer {
        weighted,
        activation,
        absorbed: chain[1..=absorbed].iter().map(|(n, _)| n.clone()).collect(),
    }))
}

/// `m` as a batch norm over `D` spatial dims whose eval mode is a fixed map (running statistics).
fn tracked<const D: usize>(m: &dyn Any) -> Option<&BatchNormNd<D>> {
    m.downcast_ref::<BatchNormNd<D>>()
        .filter(|bn| bn.running_mean().is_some())
}

/// Absorbed calls still to come: their names, and the fused output they must receive.
#[derive(Clone, Copy)]
struct Pending<'p> {
    output: usize,
    absorbed: &'p [String],
}

/// The state of one fused forward pass, held by its [`ForwardPass`].
pub(crate) struct FusedCalls<'p> {
    layers: &'p HashMap<String, FusedLayer<'p>>,
    pending: Option<Pending<'p>>,
}

impl FusedCalls<'_> {
    /// The output of the call `path` on `x` when fusion decides it: a fused layer's output, or
    /// `x` itself for an absorbed call. `None`: run the module as usual.
    ///
    /// # Errors
    /// An absorbed call that does not come next or does not receive the fused output.
    pub(crate) fn intercept(&mut self, path: &str, x: &Tensor) -> Result<Option<Tensor>> {
        if let Some(pending) = self.pending {
            let (expected, rest) = pending
                .absorbed
                .split_first()
                .expect("pending calls are never empty");
            if path != expected || x.id() != pending.output {
                return Err(mismatch(expected, &format!("a call of '{path}'")));
            }
            self.pending = (!rest.is_empty()).then_some(Pending {
                absorbed: rest,
                ..pending
            });
            return Ok(Some(x.clone()));
        }
        let Some(layer) = self.layers.get(path) else {
            return Ok(None);
        };
        let out = layer.run(x)?;
        self.pending = Some(Pending {
            output: out.id(),
            absorbed: &layer.absorbed,
        });
        Ok(Some(out))
    }
}

/// A model whose forward did not call `expected` on the fused output next, as its chains declare.
fn mismatch(expected: &str, found: &str) -> Error {
    Error::config(
        "FusedModel",
        format!(
            "'{expected}' was folded into the layer before it, so it must run next on that layer's \
             output, but the forward pass came to {found} instead: a module's fusable_chains() do \
             not describe its forward"
        ),
    )
}
