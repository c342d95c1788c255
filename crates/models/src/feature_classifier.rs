//! The torchvision layout of AlexNet, VGG, DenseNet and the MobileNets: a convolutional trunk named
//! `features`, a pooling down to a fixed size, a flatten in `forward`, then a head named
//! `classifier`.
use convkit_nn::layers::{AdaptiveAvgPool2d, Sequential};
use convkit_nn::{ForwardPass, Module, Result};
use convkit_tensor::ops::pool::global_avg_pool2d;
use convkit_tensor::Tensor;

/// How the features are pooled before the flatten.
pub(crate) enum Pooling {
    /// A global average as a function, no module of its own (DenseNet, the MobileNets), after a
    /// ReLU when `relu_first` (DenseNet's `F.relu`).
    Global { relu_first: bool },
    /// An adaptive average pool to a fixed size, registered as `avgpool` (AlexNet, VGG), so the
    /// head's input size does not depend on the image size.
    Adaptive(AdaptiveAvgPool2d),
}

/// `features → pooling → flatten → classifier`, printed as the PyTorch class it stands for
/// (`AlexNet`, `VGG`, `DenseNet`, `MobileNetV2`). The `state_dict` names are `features.*` and
/// `classifier.*` (the pools hold no tensors).
///
/// # Shapes
/// input `[N, in_channels, H, W]` → logits `[N, num_classes]`.
///
/// # Errors
/// `forward`: an input the features cannot take (wrong channel count, too small).
pub struct FeatureClassifier {
    type_name: &'static str,
    features: Sequential,
    pooling: Pooling,
    classifier: Box<dyn Module>,
}

impl FeatureClassifier {
    pub(crate) fn new(
        type_name: &'static str,
        features: Sequential,
        pooling: Pooling,
        classifier: Box<dyn Module>,
    ) -> FeatureClassifier {
        FeatureClassifier {
            type_name,
            features,
            pooling,
            classifier,
        }
    }

    /// The convolutional trunk, `features`.
    pub fn features(&self) -> &Sequential {
        &self.features
    }

    /// The head, `classifier`.
    pub fn classifier(&self) -> &dyn Module {
        self.classifier.as_ref()
    }
}

impl Module for FeatureClassifier {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        let x = pass.call("features", &self.features, x)?;
        let x = match &self.pooling {
            Pooling::Global { relu_first } => {
                let x = if *relu_first { x.relu() } else { x };
                global_avg_pool2d(&x)?
            }
            Pooling::Adaptive(avgpool) => pass.call("avgpool", avgpool, &x)?,
        };
        pass.call("classifier", self.classifier.as_ref(), &x.flatten(1)?)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        let mut children: Vec<(&str, &dyn Module)> = vec![("features", &self.features)];
        if let Pooling::Adaptive(avgpool) = &self.pooling {
            children.push(("avgpool", avgpool));
        }
        children.push(("classifier", self.classifier.as_ref()));
        children
    }

    fn type_name(&self) -> &str {
        self.type_name
    }
}
