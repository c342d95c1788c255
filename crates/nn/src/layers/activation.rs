//! Stateless activation layers: one [`ActivationLayer`] type over the tensor crate's [`Activation`],
//! with PyTorch's layer names as ready-made values (`ReLU`, `GELU`, `SiLU`, ...), and [`Softmax`].
#![allow(non_upper_case_globals)] // the constants carry PyTorch's layer names

use crate::error::Result;
use crate::forward_pass::ForwardPass;
use crate::module::{py_float, Module};
use convkit_tensor::{Activation, GeluApproximation, Tensor};

/// A point-wise activation as a layer (PyTorch's `nn.ReLU`, `nn.ELU`, `nn.GELU`, ...). No
/// parameters. The constants below are the PyTorch layers with their default arguments; others are
/// built with [`ActivationLayer::new`], e.g. `ActivationLayer::new(Activation::Elu { alpha: 0.5 })`.
///
/// # Shapes
/// any shape → the same shape.
///
/// # Errors
/// None: `forward` always succeeds.
///
/// ```
/// use convkit_nn::layers::{ActivationLayer, ReLU6};
/// use convkit_nn::{Mode, Module};
/// use convkit_tensor::{Activation, Tensor};
/// let x = Tensor::from_vec(vec![-1.0, 3.0, 9.0], [3]).unwrap();
/// assert_eq!(ReLU6.forward(&x, Mode::Eval).unwrap().to_vec(), vec![0.0, 3.0, 6.0]);
/// let leaky = ActivationLayer::new(Activation::LeakyRelu { negative_slope: 0.1 });
/// assert_eq!(leaky.describe(), "LeakyReLU(negative_slope=0.1)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActivationLayer(pub Activation);

impl ActivationLayer {
    pub const fn new(activation: Activation) -> ActivationLayer {
        ActivationLayer(activation)
    }

    pub fn activation(&self) -> Activation {
        self.0
    }
}

pub const Identity: ActivationLayer = ActivationLayer(Activation::Identity);
pub const ReLU: ActivationLayer = ActivationLayer(Activation::Relu);
pub const ReLU6: ActivationLayer = ActivationLayer(Activation::Relu6);
/// Negative slope 0.01.
pub const LeakyReLU: ActivationLayer = ActivationLayer(Activation::LeakyRelu {
    negative_slope: 0.01,
});
/// `alpha` 1.
pub const ELU: ActivationLayer = ActivationLayer(Activation::Elu { alpha: 1.0 });
/// The exact form; the tanh approximation is [`GELUTanh`].
pub const GELU: ActivationLayer = ActivationLayer(Activation::Gelu {
    approximate: GeluApproximation::Exact,
});
/// PyTorch's `nn.GELU(approximate='tanh')`.
pub const GELUTanh: ActivationLayer = ActivationLayer(Activation::Gelu {
    approximate: GeluApproximation::Tanh,
});
pub const SiLU: ActivationLayer = ActivationLayer(Activation::Silu);
pub const Hardswish: ActivationLayer = ActivationLayer(Activation::Hardswish);
/// `beta` 1, `threshold` 20.
pub const Softplus: ActivationLayer = ActivationLayer(Activation::Softplus {
    beta: 1.0,
    threshold: 20.0,
});
pub const Sigmoid: ActivationLayer = ActivationLayer(Activation::Sigmoid);
pub const Tanh: ActivationLayer = ActivationLayer(Activation::Tanh);

impl Module for ActivationLayer {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(x.activation(self.0))
    }

    /// PyTorch's repr: `ReLU()`, `ELU(alpha=1.0)`, `GELU(approximate='tanh')`, ...
    fn describe(&self) -> String {
        match self.0 {
            Activation::Identity => "Identity()".into(),
            Activation::Relu => "ReLU()".into(),
            Activation::Relu6 => "ReLU6()".into(),
            Activation::LeakyRelu { negative_slope } => {
                format!("LeakyReLU(negative_slope={})", py_float(negative_slope))
            }
            Activation::Elu { alpha } => format!("ELU(alpha={})", py_float(alpha)),
            Activation::Gelu { approximate } => {
                let name = match approximate {
                    GeluApproximation::Exact => "none",
                    GeluApproximation::Tanh => "tanh",
                };
                format!("GELU(approximate='{name}')")
            }
            Activation::Silu => "SiLU()".into(),
            Activation::Hardswish => "Hardswish()".into(),
            Activation::Softplus { beta, threshold } => format!(
                "Softplus(beta={}, threshold={})",
                py_float(beta),
                py_float(threshold)
            ),
            Activation::Sigmoid => "Sigmoid()".into(),
            Activation::Tanh => "Tanh()".into(),
        }
    }
}

/// Softmax over a dim (PyTorch's `nn.Softmax(dim)`), or log-softmax (`nn.LogSoftmax(dim)`) when
/// built with [`Softmax::log`].
///
/// # Shapes
/// any shape with more than `dim` dims → the same shape.
///
/// # Errors
/// `forward`: an input with `dim` out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Softmax {
    dim: usize,
    log: bool,
}

impl Softmax {
    pub fn new(dim: usize) -> Softmax {
        Softmax { dim, log: false }
    }

    /// Log-softmax over `dim`.
    pub fn log(dim: usize) -> Softmax {
        Softmax { dim, log: true }
    }
}

impl Module for Softmax {
    fn forward_in(&self, x: &Tensor, _pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        Ok(if self.log {
            x.log_softmax(self.dim)?
        } else {
            x.softmax(self.dim)?
        })
    }

    fn describe(&self) -> String {
        let name = if self.log { "LogSoftmax" } else { "Softmax" };
        format!("{name}(dim={})", self.dim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::assert_close;
    use crate::Mode;

    #[test]
    fn layers_apply_their_activation_and_describe_like_pytorch() {
        let x = Tensor::from_vec(vec![-2.0, -0.5, 0.0, 1.5, 7.0], [5]).unwrap();
        let cases = [
            (ReLU, "ReLU()"),
            (ReLU6, "ReLU6()"),
            (LeakyReLU, "LeakyReLU(negative_slope=0.01)"),
            (ELU, "ELU(alpha=1.0)"),
            (GELU, "GELU(approximate='none')"),
            (GELUTanh, "GELU(approximate='tanh')"),
            (SiLU, "SiLU()"),
            (Hardswish, "Hardswish()"),
            (Softplus, "Softplus(beta=1.0, threshold=20.0)"),
            (Sigmoid, "Sigmoid()"),
            (Tanh, "Tanh()"),
            (Identity, "Identity()"),
        ];
        for (layer, repr) in cases {
            assert_eq!(layer.describe(), repr);
            assert!(layer.named_tensors().is_empty());
            let y = layer.forward(&x, Mode::Train).unwrap();
            assert_close(&y.to_vec(), &x.activation(layer.activation()).to_vec());
        }
        assert_eq!(
            ReLU.forward(&x, Mode::Eval).unwrap().to_vec(),
            vec![0.0, 0.0, 0.0, 1.5, 7.0]
        );
    }

    #[test]
    fn softmax_layers() {
        let x = Tensor::from_vec(vec![0.0, 2f32.ln(), 1.0, 1.0], [2, 2]).unwrap();
        let y = Softmax::new(1).forward(&x, Mode::Eval).unwrap();
        assert_close(&y.to_vec(), &[1.0 / 3.0, 2.0 / 3.0, 0.5, 0.5]);
        let log = Softmax::log(0).forward(&x, Mode::Eval).unwrap();
        assert_close(&log.to_vec(), &x.log_softmax(0).unwrap().to_vec());
        assert_eq!(Softmax::log(1).describe(), "LogSoftmax(dim=1)");
        assert!(Softmax::new(2).forward(&x, Mode::Eval).is_err());
    }
}
