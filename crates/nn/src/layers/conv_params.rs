//! What the convolution layers (`ConvNd`, `ConvTransposeNd`) share: checked construction of
//! their weight and bias with PyTorch's layout and default init, state_dict naming, and PyTorch's
//! `print(module)` format.
use crate::error::{Error, Result};
use crate::init::default_layer_init;
use crate::module::{join_name, parameter, TensorKind};
use convkit_tensor::{Error as TensorError, Tensor};
use rand::Rng;

/// A convolution layer's shape and learnable tensors.
pub(crate) struct ConvParams {
    pub shape: ConvShape,
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

/// The channel and kernel settings of a convolution layer.
pub(crate) struct ConvShape {
    pub layer: &'static str,
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: Vec<usize>,
    pub groups: usize,
    /// Transposed convolution: weight `[in, out/groups, k...]` instead of `[out, in/groups, k...]`.
    pub transposed: bool,
}

impl ConvShape {
    /// Checks the settings (`validate` is the op config's own check, its errors renamed to the
    /// layer) and builds the parameters with PyTorch's default init: Kaiming-uniform (a = √5) weight
    /// and bias from U(−1/√fan_in, 1/√fan_in), where fan_in = `weight.shape[1] · Πkernel`.
    ///
    /// # Errors
    /// Zero channels or kernel sizes, channels not divisible by groups, or what `validate` rejects.
    pub fn build(
        self,
        validate: convkit_tensor::Result<()>,
        bias: bool,
        rng: &mut impl Rng,
    ) -> Result<ConvParams> {
        let (layer, cin, cout, groups) =
            (self.layer, self.in_channels, self.out_channels, self.groups);
        if cin == 0 || cout == 0 || self.kernel.contains(&0) {
            return Err(Error::config(
                layer,
                format!(
                    "channels and kernel size must be positive, got {cin} → {cout}, kernel {:?}",
                    self.kernel
                ),
            ));
        }
        validate.map_err(|e| match e {
            TensorError::Config { msg, .. } => Error::config(layer, msg),
            other => other.into(),
        })?;
        if cin % groups != 0 || cout % groups != 0 {
            return Err(Error::config(
                layer,
                format!(
                    "in_channels ({cin}) and out_channels ({cout}) must be divisible by groups ({groups})"
                ),
            ));
        }
        let lead = if self.transposed {
            [cin, cout / groups]
        } else {
            [cout, cin / groups]
        };
        let weight = parameter(layer, &[&lead[..], &self.kernel].concat())?;
        let bias = if bias {
            Some(parameter(layer, &[cout])?)
        } else {
            None
        };
        default_layer_init(&weight, bias.as_ref(), rng)?;
        Ok(ConvParams {
            shape: self,
            weight,
            bias,
        })
    }
}

impl ConvParams {
    /// `weight`, then `bias` if any: PyTorch's state_dict names.
    pub fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        visitor(
            &join_name(prefix, "weight"),
            &self.weight,
            TensorKind::Parameter,
        );
        if let Some(bias) = &self.bias {
            visitor(&join_name(prefix, "bias"), bias, TensorKind::Parameter);
        }
    }

    /// Multiply-adds of one call, bias not counted: every element of `dims` (the output of a
    /// convolution, the input of a transposed one) meets `weight.numel() / weight.dims()[0]`
    /// weights, i.e. `in_channels/groups · Πkernel` (convolution) or `out_channels/groups · Πkernel`
    /// (transposed: each input element is scattered to that many outputs).
    pub fn macs(&self, dims: &[usize]) -> u64 {
        let per_element = self.weight.numel() / self.weight.dims()[0];
        (dims.iter().product::<usize>() * per_element) as u64
    }

    /// PyTorch's description of the layer: stride always, the others (`(name, value, default)`)
    /// only when not at their default, then `bias=False` when there is no bias.
    pub fn describe(&self, stride: &[usize], optional: &[(&str, &[usize], usize)]) -> String {
        let shape = &self.shape;
        let mut out = format!(
            "{}({}, {}, kernel_size={}, stride={}",
            shape.layer,
            shape.in_channels,
            shape.out_channels,
            py_tuple(&shape.kernel),
            py_tuple(stride)
        );
        for (name, value, default) in optional {
            if value.iter().any(|v| v != default) {
                out += &format!(", {name}={}", py_tuple(value));
            }
        }
        if shape.groups != 1 {
            out += &format!(", groups={}", shape.groups);
        }
        if self.bias.is_none() {
            out += ", bias=False";
        }
        out + ")"
    }
}

/// A Python tuple: `(3,)`, `(2, 2)`.
pub(crate) fn py_tuple(v: &[usize]) -> String {
    match v {
        [x] => format!("({x},)"),
        _ => format!(
            "({})",
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
