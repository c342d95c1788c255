//! The torchvision layout shared by AlexNet and VGG: `features`, an adaptive average pool, a flatten
//! in `forward`, then `classifier`.
use convkit_nn::layers::{AdaptiveAvgPool2d, Sequential};
use convkit_nn::trace::call;
use convkit_nn::{join_name, Mode, Module, Result, TensorKind};
use convkit_tensor::Tensor;

/// `features → avgpool → flatten → classifier`, torchvision's `AlexNet` and `VGG` modules: the
/// `state_dict` names are `features.N.*` and `classifier.N.*` (the pool and flatten hold no
/// tensors), and `describe` prints as torchvision's model does.
///
/// # Shapes
/// input `[N, C, H, W]` → `[N, classes]`; the adaptive pool fixes the classifier's input size
/// whatever the features' output size.
///
/// # Errors
/// `forward`: an input the features cannot take (too small, wrong channels).
pub struct PooledClassifier {
    /// The printed type name, `AlexNet` or `VGG`.
    type_name: &'static str,
    features: Sequential,
    avgpool: AdaptiveAvgPool2d,
    classifier: Sequential,
}

impl PooledClassifier {
    pub(crate) fn new(
        type_name: &'static str,
        features: Sequential,
        avgpool: AdaptiveAvgPool2d,
        classifier: Sequential,
    ) -> PooledClassifier {
        PooledClassifier {
            type_name,
            features,
            avgpool,
            classifier,
        }
    }

    /// The convolutional part, `features`.
    pub fn features(&self) -> &Sequential {
        &self.features
    }

    /// The fully connected head, `classifier`.
    pub fn classifier(&self) -> &Sequential {
        &self.classifier
    }
}

impl Module for PooledClassifier {
    fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let x = call("features", &self.features, x, mode)?;
        let x = call("avgpool", &self.avgpool, &x, mode)?;
        call("classifier", &self.classifier, &x.flatten(1)?, mode)
    }

    fn visit(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
        self.features.visit(&join_name(prefix, "features"), visitor);
        self.classifier
            .visit(&join_name(prefix, "classifier"), visitor);
    }

    fn describe(&self) -> String {
        let children: [(&str, &dyn Module); 3] = [
            ("features", &self.features),
            ("avgpool", &self.avgpool),
            ("classifier", &self.classifier),
        ];
        crate::parts::describe_children(self.type_name, &children)
    }
}
