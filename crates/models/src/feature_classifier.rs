//! The layout torchvision's DenseNet and MobileNets share: a convolutional trunk named `features`,
//! global average pooling (a function, so no module of its own) and a head named `classifier`.
use crate::custom_block::{visit_children, Children};
use crate::parts::describe_children;
use convkit_nn::layers::Sequential;
use convkit_nn::trace::call;
use convkit_nn::{Mode, Module, TensorKind};
use convkit_tensor::ops::pool::global_avg_pool2d;
use convkit_tensor::Tensor;

/// `features` → (ReLU, for DenseNet) → global average pooling → flatten → `classifier`, printed as
/// the PyTorch class it stands for (`DenseNet`, `MobileNetV2`).
///
/// # Shapes
/// input `[N, in_channels, H, W]` → logits `[N, num_classes]`.
///
/// # Errors
/// An input with the wrong channel count or too small for the trunk.
pub struct FeatureClassifier {
    type_name: &'static str,
    features: Sequential,
    relu_before_pool: bool,
    classifier: Box<dyn Module>,
}

impl FeatureClassifier {
    pub(crate) fn new(
        type_name: &'static str,
        features: Sequential,
        relu_before_pool: bool,
        classifier: Box<dyn Module>,
    ) -> FeatureClassifier {
        FeatureClassifier {
            type_name,
            features,
            relu_before_pool,
            classifier,
        }
    }

    fn children(&self) -> Children<'_> {
        vec![
            ("features", &self.features),
            ("classifier", self.classifier.as_ref()),
        ]
    }
}

impl Module for FeatureClassifier {
    fn forward(&self, x: &Tensor, mode: Mode) -> convkit_nn::Result<Tensor> {
        let mut x = call("features", &self.features, x, mode)?;
        if self.relu_before_pool {
            x = x.relu();
        }
        let x = global_avg_pool2d(&x)?.flatten(1)?;
        call("classifier", self.classifier.as_ref(), &x, mode)
    }

    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        visit_children(&self.children(), prefix, visitor);
    }

    fn describe(&self) -> String {
        describe_children(self.type_name, &self.children())
    }
}
