//! The `Module` trait every layer and container implements, and how parameters are named.
use crate::error::Result;
use convkit_tensor::Tensor;

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

/// A layer or a container of layers.
///
/// Tensors are named by dotted paths exactly as in PyTorch's `state_dict`: a container passes
/// `prefix.child` down to each child (`features.3.weight`, `bn1.running_mean`), so checkpoints map one
/// to one onto PyTorch's.
pub trait Module: Send + Sync {
    /// Runs the layer on `x`.
    ///
    /// # Errors
    /// When `x` has a shape the layer cannot take; the message names the op and the shapes.
    fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor>;

    /// Calls `visitor` with the full name, the tensor and its kind for every parameter and buffer,
    /// in registration order, names prefixed by `prefix` (empty at the root).
    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind));

    /// A one-line (containers: multi-line) description in PyTorch's `print(module)` format, e.g.
    /// `Conv2d(1, 20, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))`.
    fn describe(&self) -> String;

    /// Multiply-adds of one call that took `input` and gave `output` (conv and linear layers count
    /// theirs; element-wise layers, norms and pools count 0, as the published model tables do).
    fn macs(&self, _input: &[usize], _output: &[usize]) -> u64 {
        0
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

    #[test]
    fn python_float_repr() {
        assert_eq!(py_float(1e-5), "1e-05");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(0.001), "0.001");
        assert_eq!(py_float(2.5e-7), "2.5e-07");
        assert_eq!(join_name("", "weight"), "weight");
        assert_eq!(join_name("features.3", "bias"), "features.3.bias");
    }
}
