//! The head of every zoo family and a model for a new class count with a pretrained body.
use crate::error::{Error, Result};
use crate::registry::{build_model, model_names, ModelSpec};
use convkit_nn::torch::import_state_dict;
use convkit_nn::Module;
use convkit_tensor::{ConvRng, Tensor};

/// The dotted name of the named model's head: the module whose outputs are the classes, re-made
/// for a new class count when a model is fine-tuned (`fc` for the ResNets, `classifier.6` for VGG,
/// NiN's last mlpconv block, whose three convolutions have one channel per class in the ImageNet
/// form).
///
/// # Errors
/// An unknown model (the message lists the known ones).
pub fn head_name(model: &str) -> Result<&'static str> {
    let is = |names: &[&str]| names.contains(&model);
    Ok(match model {
        "lenet5" => "fc2",
        "nin" => "7",
        "nin-cifar" => "6",
        "alexnet" => "fc3",
        "alexnet-torchvision" => "classifier.6",
        // Flatten, then a linear layer and a ReLU per hidden layer: the classifier is 1 + 2·hidden.
        "mlp5" => "11",
        "mlp10" => "21",
        "mlp20" => "41",
        "mnistnet" => "7",
        "airbench94" => "7",
        _ if is(crate::lenet5_classic::NAMES) => "fc3",
        _ if is(crate::vgg::NAMES) => "classifier.6",
        _ if is(crate::mobilenet_v2::NAMES) => "classifier.1",
        _ if is(crate::densenet::NAMES) || is(crate::mobilenet_v1::NAMES) => "classifier",
        _ if is(crate::resnet::NAMES)
            || is(crate::cifar_resnet::NAMES)
            || is(crate::googlenet::NAMES)
            || is(crate::small_cnn::NAMES) =>
        {
            "fc"
        }
        _ => {
            return Err(Error::UnknownModel {
                name: model.to_string(),
                available: model_names(),
            })
        }
    })
}

/// Whether the tensor `name` belongs to the module `head` (`fc.weight` to `fc`, not `fc2.weight`).
pub fn is_head_tensor(head: &str, name: &str) -> bool {
    name.strip_prefix(head)
        .is_some_and(|rest| rest.starts_with('.'))
}

/// The zoo model `model` for `spec` (its head freshly initialised from `rng` for
/// `spec.num_classes` classes, as [`build_model`] would) with every other tensor loaded from
/// `pretrained`, a state_dict of the same architecture (a convkit checkpoint's tensors, or a
/// PyTorch `state_dict`) for any number of classes: the pretrained head is left out.
/// `source` names the weights in errors.
///
/// # Errors
/// An unknown model or unsupported spec; [`convkit_nn::Error::StateMismatch`] naming `source` and
/// every body tensor that is missing, unexpected or of another shape (weights of another
/// architecture, or for images with another channel count).
pub fn with_new_head(
    model: &str,
    spec: &ModelSpec,
    pretrained: &[(String, Tensor)],
    source: &str,
    rng: &mut ConvRng,
) -> Result<Box<dyn Module>> {
    let head = head_name(model)?;
    let built = build_model(model, spec, rng)?;
    let mut tensors: Vec<(String, Tensor)> = pretrained
        .iter()
        .filter(|(name, _)| !is_head_tensor(head, name))
        .cloned()
        .collect();
    // The new head keeps its initialisation: loaded from copies of itself.
    for (name, t) in built.named_tensors() {
        if is_head_tensor(head, &name) {
            tensors.push((
                name,
                Tensor::from_vec(t.to_vec(), t.dims()).map_err(convkit_nn::Error::from)?,
            ));
        }
    }
    import_state_dict(built.as_ref(), &tensors, source)?;
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::natural_spec;
    use convkit_tensor::seeded_rng;

    /// A class count no zoo architecture uses as a size of its own.
    const CLASSES: usize = 13;

    /// Deeper members of a family share its head and are left out to keep the test short.
    fn representatives() -> Vec<&'static str> {
        let deeper = [
            "vgg13",
            "vgg13-bn",
            "vgg16",
            "vgg16-bn",
            "vgg19",
            "vgg19-bn",
            "resnet34",
            "resnet101",
            "resnet152",
            "densenet169",
        ];
        let names = model_names();
        assert!(deeper.iter().all(|m| names.contains(m)));
        names.into_iter().filter(|m| !deeper.contains(m)).collect()
    }

    #[test]
    fn every_family_has_a_head_that_follows_the_class_count() {
        for model in representatives() {
            let head = head_name(model).unwrap();
            let natural = natural_spec(model).unwrap();
            let spec = ModelSpec {
                num_classes: CLASSES,
                input_size: match natural.input_size {
                    (224, 224) => (72, 72), // small, and large enough for every ImageNet model
                    size => size,
                },
                ..natural
            };
            let built = build_model(model, &spec, &mut seeded_rng(0)).unwrap();
            let tensors = built.named_tensors();
            let (in_head, body): (Vec<_>, Vec<_>) =
                tensors.iter().partition(|(n, _)| is_head_tensor(head, n));
            let last_weight = in_head
                .iter()
                .rfind(|(n, _)| n.ends_with(".weight"))
                .unwrap_or_else(|| panic!("{model}: head '{head}' holds no weight"));
            assert_eq!(
                last_weight.1.dims()[0],
                CLASSES,
                "{model}: {}",
                last_weight.0
            );
            for (name, t) in body {
                assert!(
                    !t.dims().contains(&CLASSES),
                    "{model}: body tensor {name} {:?} follows the class count",
                    t.dims()
                );
            }
        }
    }

    #[test]
    fn a_new_head_keeps_the_body_and_is_freshly_initialised() {
        let spec = ModelSpec::CIFAR;
        let pretrained = build_model("resnet20", &spec, &mut seeded_rng(1)).unwrap();
        let five = ModelSpec {
            num_classes: 5,
            ..spec.clone()
        };
        let tensors = pretrained.named_tensors();
        let tuned = with_new_head(
            "resnet20",
            &five,
            &tensors,
            "pretrained",
            &mut seeded_rng(2),
        )
        .unwrap();
        let fresh = build_model("resnet20", &five, &mut seeded_rng(2)).unwrap();
        for ((name, got), (_, fresh)) in tuned.named_tensors().iter().zip(fresh.named_tensors()) {
            let want = if is_head_tensor("fc", name) {
                fresh.to_vec()
            } else {
                tensors.iter().find(|(n, _)| n == name).unwrap().1.to_vec()
            };
            assert_eq!(got.to_vec(), want, "{name}");
        }
        assert_eq!(
            tuned.module("fc").unwrap().parameters()[0].1.dims(),
            [5, 64]
        );
    }

    #[test]
    fn weights_of_another_architecture_are_named() {
        let pretrained = build_model("lenet5", &ModelSpec::MNIST, &mut seeded_rng(1)).unwrap();
        let err = with_new_head(
            "smallcnn",
            &ModelSpec::MNIST,
            &pretrained.named_tensors(),
            "lenet.pth",
            &mut seeded_rng(2),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("lenet.pth"), "{err}");
        assert!(err.contains("stage1.0.weight"), "{err}");
        // Images with another channel count: the first convolution's shape is named.
        let rgb = build_model(
            "lenet5",
            &ModelSpec {
                in_channels: 3,
                ..ModelSpec::MNIST
            },
            &mut seeded_rng(1),
        )
        .unwrap();
        let err = with_new_head(
            "lenet5",
            &ModelSpec::MNIST,
            &rgb.named_tensors(),
            "rgb",
            &mut seeded_rng(2),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("conv1.weight"), "{err}");
    }
}
