//! The `Module` trait every layer and container implements, and how parameters are named.
use crate::error::{Error, Result};
use crate::forward_pass::ForwardPass;
use convkit_tensor::Tensor;
use std::any::Any;

/// Whether a forward pass trains (batch statistics, dropout on) or evaluates (running statistics,
/// dropout off). Passed explicitly to every `forward`: there is no hidden global flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
}

impl Mode {
    pub fn is_train(self) -> bool {
        self == Mode::Train
    }
}

/// What a named tensor of a module is: a trainable parameter, or a buffer (state that is saved in
/// checkpoints but not trained, such as BatchNorm's running statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorKind {
    Parameter,
    Buffer,
}

/// A layer or a container of layers: a tree of named modules, like PyTorch's `nn.Module`.
///
/// Tensors are named by dotted paths exactly as in PyTorch's `state_dict`: a container's tensors
/// are its children's under `child.` (`features.3.weight`, `bn1.running_mean`), so checkpoints map
/// one to one onto PyTorch's.
///
/// An implementation writes [`Module::forward_in`] and, for a container, [`Module::children`];
/// visiting tensors, describing, finding a module by name and tracing derive from the children.
/// A layer that holds tensors writes [`Module::visit`] and [`Module::describe`].
///
/// `Any` as a supertrait lets code that walks the tree recognise the layer behind a
/// `&dyn Module` (`(m as &dyn Any).downcast_ref::<Conv2d>()`), as inference fusion does.
pub trait Module: Any + Send + Sync {
    /// Runs the module on `x` within a forward pass. A layer computes its output (reading
    /// `pass.mode()`); a container runs each child through [`ForwardPass::call`] under the name
    /// it has in [`Module::children`], so that hooks and traces see the call.
    ///
    /// # Errors
    /// When `x` has a shape the module cannot take; the message names the op and the shapes.
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> Result<Tensor>;

    /// Runs the module on `x` in a pass of its own, without hooks.
    ///
    /// # Errors
    /// When `x` has a shape the module cannot take; the message names the op and the shapes.
    fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        self.forward_in(x, &mut ForwardPass::new(mode))
    }

    /// The direct children with their name segments, in registration order (PyTorch's
    /// `named_children`). None for a layer.
    fn children(&self) -> Vec<(&str, &dyn Module)> {
        Vec::new()
    }

    /// Chains of children, by name, that `forward_in` runs one after the other, each on the output
    /// of the one before, with nothing else reading those intermediate outputs (`["conv1", "bn1",
    /// "relu"]`; a name may repeat, as a ReLU called twice). Inference fusion
    /// ([`crate::fusion::FusedModel`]) folds a batch norm into the convolution or linear layer
    /// before it and applies the activation after it in place only inside such a chain. None by
    /// default: a module that declares nothing has its children run unfused.
    fn fusable_chains(&self) -> Vec<Vec<&str>> {
        Vec::new()
    }

    /// Calls `visitor` with the full name, the tensor and its kind for every parameter and buffer,
    /// in registration order, names prefixed by `prefix` (empty at the root). By default: every
    /// child's tensors under `prefix.child`.
    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        for (name, child) in self.children() {
            child.visit(&join_name(prefix, name), visitor);
        }
    }

    /// The type name `describe` prints (`ResNet`, `BasicBlock`); by default the Rust type's.
    fn type_name(&self) -> &str {
        short_type_name(std::any::type_name::<Self>())
    }

    /// A one-line (containers: multi-line) description in PyTorch's `print(module)` format, e.g.
    /// `Conv2d(1, 20, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))`. By default:
    /// `Type(` then one `(name): child` line per child, nested ones indented, then `)`.
    fn describe(&self) -> String {
        let children = self.children();
        if children.is_empty() {
            return format!("{}()", self.type_name());
        }
        let mut out = format!("{}(\n", self.type_name());
        for (name, child) in children {
            let body = child.describe().replace('\n', "\n  ");
            out.push_str(&format!("  ({name}): {body}\n"));
        }
        out.push(')');
        out
    }

    /// Multiply-adds of one call that took `input` and gave `output` (conv and linear layers count
    /// theirs; element-wise layers, norms and pools count 0, as the published model tables do).
    fn macs(&self, _input: &[usize], _output: &[usize]) -> u64 {
        0
    }

    /// Every module below this one with its dotted name, parents before children (PyTorch's
    /// `named_modules`, without the root itself).
    fn named_modules(&self) -> Vec<(String, &dyn Module)> {
        let mut out = Vec::new();
        for (name, child) in self.children() {
            out.push((name.to_string(), child));
            for (sub, module) in child.named_modules() {
                out.push((join_name(name, &sub), module));
            }
        }
        out
    }

    /// The module at a dotted name (`layer1.0.conv1`).
    ///
    /// # Errors
    /// [`Error::UnknownModule`] listing the names there are.
    fn module(&self, name: &str) -> Result<&dyn Module> {
        let unknown = || Error::UnknownModule {
            name: name.to_string(),
            known: self.named_modules().into_iter().map(|(n, _)| n).collect(),
        };
        let mut found: Option<&dyn Module> = None;
        for segment in name.split('.') {
            let children = found.map_or_else(|| self.children(), |m| m.children());
            let child = children.into_iter().find(|(n, _)| *n == segment);
            found = Some(child.ok_or_else(unknown)?.1);
        }
        found.ok_or_else(unknown)
    }

    /// Trainable parameters with their `state_dict` names.
    fn parameters(&self) -> Vec<(String, Tensor)> {
        self.collect(Some(TensorKind::Parameter))
    }

    /// Buffers (non-trainable state) with their `state_dict` names.
    fn buffers(&self) -> Vec<(String, Tensor)> {
        self.collect(Some(TensorKind::Buffer))
    }

    /// Parameters and buffers in registration order: the `state_dict`.
    fn named_tensors(&self) -> Vec<(String, Tensor)> {
        self.collect(None)
    }

    /// Total number of scalar parameters.
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(|(_, t)| t.numel()).sum()
    }

    /// The tensors of one kind (all with `None`), named; the helper behind the methods above.
    fn collect(&self, kind: Option<TensorKind>) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        self.visit("", &mut |name, t, k| {
            if kind.is_none_or(|kind| kind == k) {
                out.push((name.to_string(), t.clone()));
            }
        });
        out
    }
}

/// `BasicBlock` from `convkit_models::resnet_blocks::BasicBlock`, `DropConnect` from
/// `...::DropConnect<...::Linear>`.
fn short_type_name(full: &str) -> &str {
    let path = full.split('<').next().unwrap_or(full);
    path.rsplit("::").next().unwrap_or(path)
}

/// `prefix.name`, or `name` at the root: how child and tensor names are built.
pub fn join_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A new trainable parameter of `layer` with the given shape, zero-filled until an initialiser
/// writes it.
///
/// # Errors
/// A shape above [`convkit_tensor::limits::TENSOR_BYTES`] (sizes can come from checkpoint
/// metadata or flags), checked before anything is allocated.
pub(crate) fn parameter(layer: &str, dims: &[usize]) -> crate::Result<Tensor> {
    convkit_tensor::limits::check_tensor(format_args!("{layer} parameter"), dims)?;
    Ok(Tensor::zeros(dims).with_grad())
}

/// An f32 as Python's `repr` prints it (`0.1`, `1.0`, `1e-05`), for PyTorch-style descriptions.
pub(crate) fn py_float(x: f32) -> String {
    let abs = x.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        let s = format!("{x:e}");
        let (mantissa, exp) = s.split_once('e').expect("{:e} has an exponent");
        let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
        format!("{mantissa}e{sign}{digits:0>2}")
    } else if x.fract() == 0.0 {
        format!("{x:.1}")
    } else {
        x.to_string()
    }
}

/// A pair as PyTorch prints a layer's tuple argument: `(5, 5)`.
pub(crate) fn py_pair((a, b): (usize, usize)) -> String {
    format!("({a}, {b})")
}

/// A pooling size as PyTorch prints it when given as an int (square) or a tuple: `2`, `(2, 3)`.
pub(crate) fn py_size((a, b): (usize, usize)) -> String {
    if a == b {
        a.to_string()
    } else {
        py_pair((a, b))
    }
}

/// A bool as Python prints it.
pub(crate) fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Linear, LinearConfig, ReLU, Sequential};
    use convkit_tensor::seeded_rng;

    /// `features: Sequential(0: Linear, 1: ReLU), head: Linear`.
    fn tree() -> Sequential {
        let mut rng = seeded_rng(0);
        let features = Sequential::new(vec![
            Box::new(Linear::new(4, 3, LinearConfig::default(), &mut rng).unwrap()),
            Box::new(ReLU),
        ]);
        let head = Linear::new(3, 2, LinearConfig::default(), &mut rng).unwrap();
        Sequential::named(vec![
            ("features".into(), Box::new(features) as Box<dyn Module>),
            ("head".into(), Box::new(head)),
        ])
        .unwrap()
    }

    #[test]
    fn the_tree_gives_names_lookup_and_tensors() {
        let model = tree();
        let names: Vec<_> = model.named_modules().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["features", "features.0", "features.1", "head"]);
        assert_eq!(
            model.module("features.0").unwrap().describe(),
            "Linear(in_features=4, out_features=3, bias=True)"
        );
        assert_eq!(model.module("head").unwrap().num_parameters(), 8);
        let tensors: Vec<_> = model.named_tensors().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            tensors,
            [
                "features.0.weight",
                "features.0.bias",
                "head.weight",
                "head.bias"
            ]
        );
        for bad in ["features.2", "feature", "", "head.weight"] {
            let err = model.module(bad).err().unwrap().to_string();
            assert_eq!(
                err,
                format!(
                    "the model has no module named '{bad}'; its modules are: \
                     features, features.0, features.1, head"
                )
            );
        }
    }

    #[test]
    fn the_default_description_lists_the_children() {
        struct Block(Sequential);
        impl Module for Block {
            fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> Result<Tensor> {
                pass.call("inner", &self.0, x)
            }
            fn children(&self) -> Vec<(&str, &dyn Module)> {
                vec![("inner", &self.0)]
            }
        }
        let block = Block(Sequential::new(vec![Box::new(ReLU)]));
        assert_eq!(
            block.describe(),
            "Block(\n  (inner): Sequential(\n    (0): ReLU()\n  )\n)"
        );
        assert_eq!(Sequential::default().describe(), "Sequential()");
        assert_eq!(block.module("inner.0").unwrap().describe(), "ReLU()");
    }

    #[test]
    fn python_float_repr() {
        assert_eq!(py_float(1e-5), "1e-05");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(0.001), "0.001");
        assert_eq!(py_float(2.5e-7), "2.5e-07");
        assert_eq!(join_name("", "weight"), "weight");
        assert_eq!(join_name("features.3", "bias"), "features.3.bias");
        assert_eq!(short_type_name("a::b::BasicBlock"), "BasicBlock");
        assert_eq!(
            short_type_name("a::DropConnect<a::b::Linear>"),
            "DropConnect"
        );
    }
}
