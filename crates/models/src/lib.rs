//! convkit-models: the model zoo. Every model is built by name from a [`ModelSpec`] (input
//! channels, input size, number of classes) and is an ordinary [`convkit_nn::Module`] whose
//! parameter names match the PyTorch reference implementation's `state_dict`.
mod alexnet;
mod cifar_resnet;
mod conv_bn;
mod custom_block;
mod dense_block;
mod densenet;
mod error;
mod feature_classifier;
mod lenet5;
mod lenet5_classic;
mod mobilenet_v1;
mod mobilenet_v2;
mod parts;
mod pooled_classifier;
mod receptive_field;
mod registry;
mod resnet;
mod resnet_blocks;
mod small_cnn;

pub use alexnet::{alexnet, alexnet_torchvision};
pub use cifar_resnet::{cifar_resnet, CifarResNetConfig};
pub use dense_block::{DenseBlock, DenseLayer};
pub use densenet::{densenet, DenseNet, DenseNetConfig};
pub use error::{Error, Result};
pub use feature_classifier::FeatureClassifier;
pub use lenet5::lenet5;
pub use lenet5_classic::lenet5_classic;
pub use mobilenet_v1::{mobilenet_v1, MobileNetV1};
pub use mobilenet_v2::{
    make_divisible, mobilenet_v2, InvertedResidual, MobileNetV2, MobileNetV2Config,
};
pub use pooled_classifier::PooledClassifier;
pub use receptive_field::{receptive_field, Window};
pub use registry::{build_model, model_names, ModelSpec};
pub use resnet::{resnet, ResNet, ResNetBlock, ResNetConfig};
pub use resnet_blocks::{BasicBlock, Bottleneck, ShortcutKind, ZeroPadShortcut};
pub use small_cnn::small_cnn;
