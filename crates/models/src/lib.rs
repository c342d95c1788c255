//! convkit-models: the model zoo. Every model is built by name from a [`ModelSpec`] (input
//! channels, input size, number of classes) and is an ordinary [`convkit_nn::Module`] whose
//! parameter names match the PyTorch reference implementation's `state_dict`. [`summarize`]
//! describes what a model does layer by layer.
mod airbench;
mod alexnet;
mod cifar_resnet;
mod conv_bn;
mod dense_block;
mod densenet;
mod error;
mod feature_classifier;
mod googlenet;
mod lenet5;
mod lenet5_classic;
mod mlp;
mod mnist_net;
mod mobilenet_v1;
mod mobilenet_v2;
mod nin;
mod parts;
mod registry;
mod resnet;
mod resnet_blocks;
mod small_cnn;
mod summary;
mod summary_table;
pub mod transfer;
mod vgg;

pub use airbench::{airbench, airbench94, AIRBENCH94_WIDTHS, WHITENING_KERNEL, WHITENING_LAYER};
pub use alexnet::{alexnet, alexnet_torchvision};
pub use cifar_resnet::{cifar_resnet, CifarResNetConfig};
pub use convkit_tensor::receptive_field::{receptive_field, Window};
pub use dense_block::{DenseBlock, DenseLayer};
pub use densenet::{densenet, DenseNet, DenseNetConfig};
pub use error::{Error, Result};
pub use feature_classifier::FeatureClassifier;
pub use googlenet::{googlenet, BasicConv2d, GoogLeNet, Inception};
pub use lenet5::lenet5;
pub use lenet5_classic::lenet5_classic;
pub use mlp::mlp;
pub use mnist_net::mnist_net;
pub use mobilenet_v1::{mobilenet_v1, MobileNetV1};
pub use mobilenet_v2::{
    make_divisible, mobilenet_v2, InvertedResidual, MobileNetV2, MobileNetV2Config,
};
pub use nin::{nin, NinConfig};
pub use registry::{build_model, model_names, natural_spec, ModelSpec};
pub use resnet::{resnet, ResNet, ResNetBlock, ResNetConfig, ResNetStem};
pub use resnet_blocks::{
    zero_init_residual, BasicBlock, Bottleneck, ShortcutKind, ZeroPadShortcut,
};
pub use small_cnn::small_cnn;
pub use summary::{summarize, LastConvField, LayerRow, Summary};
pub use summary_table::{bytes, si, thousands};
pub use vgg::{vgg, VggConfig};
