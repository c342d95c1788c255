//! convkit-inspect: looking inside a trained CNN, from Rust (the `convkit inspect` subcommands are
//! a thin layer over this crate).
//!
//! Layers are picked by their `state_dict` names (`layer3.1.conv2`, `conv1`), found through the
//! module tree ([`convkit_nn::Module::module`]; an unknown name gives an error listing the valid
//! ones). Images are normalised `[C, H, W]` tensors, as the model was trained on.
//! - [`probe`]: a layer's output for an input ([`probe::layer_output`], [`probe::feature_maps`]).
//! - [`saliency`]: vanilla gradient, SmoothGrad, integrated gradients (with the completeness gap),
//!   guided backpropagation, Grad-CAM, Grad-CAM++ and occlusion.
//! - [`filters`]: a conv layer's filters as a picture (colour, per input channel, or averaged).
//! - [`render`]: colour maps, de-normalised images, overlays, captioned grids, colour bars, PNG.
//! - [`maximize`]: activation maximisation for classes or channels (jitter, L2, TV, blur).
//! - [`dataset`]: dataset images as the model sees them; logits and features over many images.
//! - [`tsne`]: 2-D Barnes-Hut t-SNE of features; [`neighbors`]: nearest neighbours (L2, cosine).
//! - [`top_losses`]: the images with the largest losses and the most confused class pairs.
//! - [`stats`]: Spearman's rank correlation, for comparing maps.
//!
//! ```
//! use convkit_inspect::saliency::{grad_cam, vanilla_gradient};
//! use convkit_models::{lenet5, ModelSpec};
//! use convkit_tensor::{seeded_rng, Tensor};
//! let spec = ModelSpec { in_channels: 1, num_classes: 10, input_size: (28, 28) };
//! let model = lenet5(&spec, &mut seeded_rng(0)).unwrap();
//! let image = Tensor::randn([1, 28, 28], &mut seeded_rng(1));
//! let gradient = vanilla_gradient(&model, &image, Some(3)).unwrap();
//! assert_eq!(gradient.values.dims(), [1, 28, 28]);
//! let cam = grad_cam(&model, &image, "relu2", Some(3)).unwrap();
//! assert_eq!(cam.values.dims(), [14, 14]);
//! assert!(grad_cam(&model, &image, "fc1", None).is_err()); // no spatial output
//! ```
pub mod dataset;
mod error;
pub mod filters;
pub mod maximize;
pub mod neighbors;
mod pca;
pub mod probe;
pub mod render;
pub mod saliency;
pub mod stats;
pub mod top_losses;
pub mod tsne;

pub use error::{Error, Result};
