//! Freezing parameters by name: a pattern, or every parameter before a layer.
use crate::error::{Error, Result};
use convkit_nn::Module;
use convkit_tensor::Tensor;

/// Whether `name` matches `pattern`, where `*` stands for any run of characters (`layer4.*`,
/// `*.bias`, `fc.weight`).
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty(); // no `*`: an exact name
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Freezes (switches off the gradient of) every parameter of `model` whose name matches
/// `pattern` (see [`matches_pattern`]); returns their names.
///
/// # Errors
/// [`Error::NoMatch`] when the pattern matches no parameter.
pub fn freeze(model: &dyn Module, pattern: &str) -> Result<Vec<String>> {
    let names: Vec<String> = model
        .parameters()
        .into_iter()
        .filter(|(name, _)| matches_pattern(pattern, name))
        .map(|(name, _)| name)
        .collect();
    if names.is_empty() {
        return Err(Error::NoMatch {
            pattern: pattern.to_string(),
        });
    }
    set_trainable(model, &names, false);
    Ok(names)
}

/// Sets whether the parameters of `model` named in `names` train.
pub fn set_trainable(model: &dyn Module, names: &[String], trainable: bool) {
    for (name, t) in model.parameters() {
        if names.contains(&name) {
            t.set_requires_grad(trainable);
        }
    }
}

/// The names of `model`'s parameters registered before the first parameter of the layer `layer`
/// (a dotted module name such as `layer3` or `features.10`): the prefix that `--freeze-until
/// layer3` freezes, leaving `layer3` and what follows it trainable.
///
/// # Errors
/// [`Error::UnknownLayer`] when no module of that name holds parameters, listing those that do
/// (down to two levels).
pub fn params_before(model: &dyn Module, layer: &str) -> Result<Vec<String>> {
    let params = model.parameters();
    let inside = |name: &str| {
        name.strip_prefix(layer)
            .is_some_and(|rest| rest.starts_with('.'))
    };
    let first = params
        .iter()
        .position(|(name, _)| inside(name))
        .ok_or_else(|| Error::UnknownLayer {
            name: layer.to_string(),
            known: layers_with_parameters(&params, 2),
        })?;
    Ok(params[..first].iter().map(|(n, _)| n.clone()).collect())
}

/// The module names (down to `depth` dotted levels) that hold parameters, in order.
pub fn layers_with_parameters(params: &[(String, Tensor)], depth: usize) -> Vec<String> {
    let mut layers: Vec<String> = Vec::new();
    for (name, _) in params {
        let segments: Vec<&str> = name.split('.').collect();
        // The tensor's own name is the last segment; its modules are the prefixes before it.
        for level in 1..segments.len().min(depth + 1) {
            let module = segments[..level].join(".");
            if !layers.contains(&module) {
                layers.push(module);
            }
        }
    }
    layers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{build_model, ModelSpec};
    use convkit_tensor::seeded_rng;

    #[test]
    fn patterns_match_names_with_wildcards() {
        assert!(matches_pattern("fc.weight", "fc.weight"));
        assert!(!matches_pattern("fc.weight", "fc.weight2"));
        assert!(matches_pattern("layer4.*", "layer4.1.conv2.weight"));
        assert!(!matches_pattern("layer4.*", "layer3.1.conv2.weight"));
        assert!(matches_pattern("*.bias", "layer1.0.bn1.bias"));
        assert!(matches_pattern("*bn*.weight", "layer1.0.bn1.weight"));
        assert!(!matches_pattern("*bn*.weight", "layer1.0.conv1.weight"));
        assert!(matches_pattern("*", "anything"));
    }

    #[test]
    fn freezing_by_pattern_and_up_to_a_layer() {
        let model = build_model("lenet5", &ModelSpec::MNIST, &mut seeded_rng(0)).unwrap();
        let frozen = freeze(model.as_ref(), "conv*").unwrap();
        assert_eq!(
            frozen,
            ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"]
        );
        let trains = |name: &str| {
            model
                .parameters()
                .into_iter()
                .find(|(n, _)| n == name)
                .unwrap()
                .1
                .requires_grad()
        };
        assert!(!trains("conv2.bias") && trains("fc1.weight"));
        let err = freeze(model.as_ref(), "conv3*").unwrap_err().to_string();
        assert_eq!(err, "'conv3*' matches no parameter of the model");
        assert_eq!(params_before(model.as_ref(), "fc1").unwrap(), frozen);
        assert!(params_before(model.as_ref(), "conv1").unwrap().is_empty());
    }

    #[test]
    fn an_unknown_layer_lists_the_valid_ones() {
        let model = build_model("resnet20", &ModelSpec::CIFAR, &mut seeded_rng(0)).unwrap();
        assert_eq!(
            params_before(model.as_ref(), "layer3").unwrap().len(),
            3 + 2 * 3 * 6
        );
        for bad in ["layer9", "relu", "layer3.0.conv1.weight"] {
            let err = params_before(model.as_ref(), bad).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(
                    "the model has no layer '{bad}' with parameters; layers with parameters: \
                     conv1, bn1, layer1, layer1.0, layer1.1, layer1.2, layer2,"
                )),
                "{err}"
            );
            assert!(
                err.contains("layer3.2, fc (and the layers inside them)"),
                "{err}"
            );
        }
    }
}
