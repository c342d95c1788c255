//! Building a model by name.
use crate::error::{Error, Result};
use convkit_nn::Module;
use convkit_tensor::limits;
use convkit_tensor::ConvRng;
use serde::{Deserialize, Serialize};

/// What a model must fit: its input and its number of classes. Stored in checkpoints, so that a
/// saved model can be rebuilt before its weights are loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub in_channels: usize,
    pub num_classes: usize,
    /// (height, width) of the input images.
    pub input_size: (usize, usize),
}

impl ModelSpec {
    /// 1×28×28 digits in 10 classes (MNIST): LeNet-5's input.
    pub const MNIST: ModelSpec = ModelSpec {
        in_channels: 1,
        num_classes: 10,
        input_size: (28, 28),
    };
    /// 3×32×32 images in 10 classes (CIFAR-10).
    pub const CIFAR: ModelSpec = ModelSpec {
        in_channels: 3,
        num_classes: 10,
        input_size: (32, 32),
    };
    /// 3×224×224 images in 1000 classes (ImageNet).
    pub const IMAGENET: ModelSpec = ModelSpec {
        in_channels: 3,
        num_classes: 1000,
        input_size: (224, 224),
    };

    /// Checks the sizes against convkit's limits ([`convkit_tensor::limits`]) before a model is
    /// built for them: a spec read from checkpoint metadata or given by flags could otherwise ask
    /// for terabytes.
    ///
    /// # Errors
    /// [`Error::Limit`] naming the size, the limit and how to raise it; [`Error::Spec`] for a zero
    /// size.
    pub fn check(&self) -> Result<()> {
        let (h, w) = self.input_size;
        if self.in_channels == 0 || self.num_classes == 0 || h == 0 || w == 0 {
            return Err(Error::Spec(format!(
                "channels, classes, height and width must be at least 1, got {} channels, {} classes, {h}×{w}",
                self.in_channels, self.num_classes
            )));
        }
        limits::CLASSES.check("model spec", self.num_classes as u64)?;
        limits::INPUT_CHANNELS.check("model spec", self.in_channels as u64)?;
        limits::INPUT_PIXELS.check_product(
            format_args!("model spec: input {h}×{w}"),
            &[h as u64, w as u64],
        )?;
        limits::check_tensor("model spec: one input image", &[self.in_channels, h, w])?;
        Ok(())
    }
}

/// Builds one of the models a family knows by name.
type FamilyBuilder = fn(&str, &ModelSpec, &mut ConvRng) -> Result<Box<dyn Module>>;

/// The input and classes a family's model (by name) was designed for.
type NaturalSpec = fn(&str) -> ModelSpec;

/// Every architecture family: the names it answers to, its builder and its natural input and
/// classes. One line per family file.
const FAMILIES: &[(&[&str], FamilyBuilder, NaturalSpec)] = &[
    (crate::lenet5::NAMES, crate::lenet5::build, |_| {
        ModelSpec::MNIST
    }),
    (
        crate::lenet5_classic::NAMES,
        crate::lenet5_classic::build,
        |_| ModelSpec::MNIST,
    ),
    (crate::alexnet::NAMES, crate::alexnet::build, |_| {
        ModelSpec::IMAGENET
    }),
    (crate::vgg::NAMES, crate::vgg::build, |_| {
        ModelSpec::IMAGENET
    }),
    (crate::nin::NAMES, crate::nin::build, |name| match name {
        "nin-cifar" => ModelSpec::CIFAR,
        _ => ModelSpec::IMAGENET,
    }),
    (crate::googlenet::NAMES, crate::googlenet::build, |_| {
        ModelSpec::IMAGENET
    }),
    (crate::resnet::NAMES, crate::resnet::build, |name| {
        if name.ends_with("-cifar") {
            ModelSpec::CIFAR
        } else {
            ModelSpec::IMAGENET
        }
    }),
    (
        crate::cifar_resnet::NAMES,
        crate::cifar_resnet::build,
        |_| ModelSpec::CIFAR,
    ),
    (crate::densenet::NAMES, crate::densenet::build, |_| {
        ModelSpec::IMAGENET
    }),
    (
        crate::mobilenet_v1::NAMES,
        crate::mobilenet_v1::build,
        |_| ModelSpec::IMAGENET,
    ),
    (
        crate::mobilenet_v2::NAMES,
        crate::mobilenet_v2::build,
        |_| ModelSpec::IMAGENET,
    ),
    (crate::small_cnn::NAMES, crate::small_cnn::build, |_| {
        ModelSpec::CIFAR
    }),
    (crate::airbench::NAMES, crate::airbench::build, |_| {
        ModelSpec::CIFAR
    }),
    (crate::mlp::NAMES, crate::mlp::build, |_| ModelSpec::MNIST),
    (crate::mnist_net::NAMES, crate::mnist_net::build, |_| {
        ModelSpec::MNIST
    }),
];

/// Every name [`build_model`] accepts, in the zoo's order.
pub fn model_names() -> Vec<&'static str> {
    FAMILIES
        .iter()
        .flat_map(|(names, _, _)| names.iter().copied())
        .collect()
}

fn family(name: &str) -> Result<&'static (&'static [&'static str], FamilyBuilder, NaturalSpec)> {
    FAMILIES
        .iter()
        .find(|(names, _, _)| names.contains(&name))
        .ok_or_else(|| Error::UnknownModel {
            name: name.to_string(),
            available: model_names(),
        })
}

/// The input and classes the named model was designed for: LeNet-5 1×28×28 and 10 classes, the
/// CIFAR models 3×32×32 and 10, the ImageNet models 3×224×224 and 1000.
///
/// # Errors
/// An unknown name (the message lists the known ones).
pub fn natural_spec(name: &str) -> Result<ModelSpec> {
    let (_, _, natural) = family(name)?;
    Ok(natural(name))
}

/// Builds the named model with freshly initialised weights.
///
/// # Errors
/// An unknown name (the message lists the known ones), a spec above convkit's limits (see
/// [`ModelSpec::check`]), or a spec the architecture cannot take.
pub fn build_model(name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    let (_, build, _) = family(name)?;
    spec.check()?;
    build(name, spec, rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_tensor::seeded_rng;

    #[test]
    fn every_model_builds_for_its_natural_spec() {
        assert_eq!(natural_spec("lenet5").unwrap(), ModelSpec::MNIST);
        assert_eq!(natural_spec("nin-cifar").unwrap(), ModelSpec::CIFAR);
        assert_eq!(natural_spec("nin").unwrap(), ModelSpec::IMAGENET);
        assert_eq!(natural_spec("resnet20").unwrap(), ModelSpec::CIFAR);
        assert!(natural_spec("lenet6").is_err());
        // The small ones only: the ImageNet models are built by their own tests.
        for name in [
            "lenet5",
            "lenet5-classic",
            "nin-cifar",
            "resnet20",
            "smallcnn",
            "smallcnn-nobn",
            "mlp10",
            "mnistnet",
        ] {
            let spec = natural_spec(name).unwrap();
            build_model(name, &spec, &mut seeded_rng(0))
                .unwrap_or_else(|e| panic!("{name} at {spec:?}: {e}"));
        }
    }

    #[test]
    fn absurd_specs_are_refused_before_allocation() {
        let cases = [
            (
                ModelSpec {
                    num_classes: 1_000_000_000_000,
                    ..ModelSpec::MNIST
                },
                "1000000000000 classes is above convkit's limit",
            ),
            (
                ModelSpec {
                    input_size: (100_000, 100_000),
                    ..ModelSpec::MNIST
                },
                "10000000000 input pixels (height × width) is above convkit's limit",
            ),
            (
                ModelSpec {
                    in_channels: 1 << 40,
                    ..ModelSpec::MNIST
                },
                "input channels is above convkit's limit",
            ),
            (
                ModelSpec {
                    num_classes: 0,
                    ..ModelSpec::MNIST
                },
                "must be at least 1",
            ),
        ];
        for (spec, message) in cases {
            let err = build_model("lenet5", &spec, &mut seeded_rng(0))
                .err()
                .unwrap();
            assert!(err.to_string().contains(message), "{spec:?}: {err}");
        }
        // Within the spec limits, a layer that would still be too large is refused by nn's
        // tensor limit: LeNet-5's first linear layer grows with the input area.
        let spec = ModelSpec {
            input_size: (2048, 2048),
            ..ModelSpec::MNIST
        };
        let err = build_model("lenet5", &spec, &mut seeded_rng(0))
            .err()
            .unwrap();
        assert!(err.to_string().contains("bytes in one tensor"), "{err}");
    }
}
