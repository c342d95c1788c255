//! A 2-D convolution prepared for repeated inference (fused eval paths): its weights are packed
//! for the direct kernel once instead of on every call, and the bias and an activation run in the
//! kernel's epilogue, so the activation costs no pass of its own. No graph is recorded.

use super::{conv_nd, geometry, Conv2dConfig};
use crate::error::Result;
use crate::kernels::direct_conv::{applies, direct_forward_uninit, fills_blocks, PackedFilter};
use crate::ops::activation::Activation;
use crate::tensor::Tensor;
use crate::{no_grad, Shape};

/// `activation(conv2d(x, weight, bias))` with the weights packed once ([`InferenceConv2d::new`]).
///
/// ```
/// use convkit_tensor::ops::conv::{conv2d, Conv2dConfig, InferenceConv2d};
/// use convkit_tensor::{seeded_rng, Activation, Tensor};
/// let mut rng = seeded_rng(0);
/// let (x, w, b) = (Tensor::randn([2, 3, 8, 8], &mut rng), Tensor::randn([4, 3, 3, 3], &mut rng), Tensor::randn([4], &mut rng));
/// let config = Conv2dConfig { padding: (1, 1), ..Default::default() };
/// let conv = InferenceConv2d::new(&w, Some(&b), &config);
/// let fused = conv.forward(&x, Some(Activation::Relu)).unwrap();
/// let plain = conv2d(&x, &w, Some(&b), &config).unwrap().relu();
/// assert!(fused.to_vec().iter().zip(plain.to_vec()).all(|(a, b)| (a - b).abs() < 1e-5));
/// ```
pub struct InferenceConv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    config: Conv2dConfig,
    /// The packed weights, for convolutions the direct kernel runs.
    filter: Option<PackedFilter>,
}

impl InferenceConv2d {
    /// Packs `weight` (`[C_out, C_in/groups, kH, kW]`) when the direct kernel runs it (dense, not
    /// a plain 1×1 stride-1 unpadded convolution, enough output channels to fill its vector
    /// blocks); the tensors are shared, not copied.
    pub fn new(weight: &Tensor, bias: Option<&Tensor>, config: &Conv2dConfig) -> InferenceConv2d {
        let dims = weight.dims();
        let pointwise = dims.len() == 4
            && dims[2..] == [1, 1]
            && config.stride == (1, 1)
            && config.padding == (0, 0);
        let arch = pulp::Arch::new();
        let dense = dims.len() == 4 && config.groups == 1 && !pointwise;
        let filter = (dense && fills_blocks(dims[0], arch)).then(|| {
            let w = weight.data();
            PackedFilter::forward(&w, [dims[0], dims[1], dims[2] * dims[3]], arch).with_winograd()
        });
        InferenceConv2d {
            weight: weight.clone(),
            bias: bias.cloned(),
            config: *config,
            filter,
        }
    }

    /// The convolution of `input` followed by `activation`, without a graph.
    ///
    /// # Errors
    /// As [`conv2d`](super::conv2d) for an input the weights do not fit.
    pub fn forward(&self, input: &Tensor, activation: Option<Activation>) -> Result<Tensor> {
        let g = geometry(input, &self.weight, self.bias.as_ref(), &self.config)?;
        let Some(filter) = self.filter.as_ref().filter(|_| applies(&g)) else {
            let out = no_grad(|| conv_nd(input, &self.weight, self.bias.as_ref(), &self.config))?;
            if let Some(a) = activation {
                out.activation_(a)?;
            }
            return Ok(out);
        };
        let len = g.output_len();
        let mut out = Vec::with_capacity(len);
        let bias = self.bias.as_ref().map(|b| b.data());
        direct_forward_uninit(
            &g,
            &input.data(),
            filter,
            bias.as_deref().map(|b| b.as_slice()),
            activation,
            &mut out.spare_capacity_mut()[..len],
        );
        // SAFETY: `direct_forward_uninit` initialises all `len` elements.
        unsafe { out.set_len(len) };
        let [oh, ow] = g.out_size();
        Tensor::from_vec(out, Shape::new(&[g.n, g.c_out, oh, ow]))
    }
}
