//! Checking that a model runs every module of its tree through `ForwardPass::call` under its
//! name, so that hooks and `convkit summary` see each one.
use convkit_models::ModelSpec;
use convkit_nn::trace::trace;
use convkit_nn::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};
use std::collections::BTreeSet;

/// Traces one eval forward pass of a batch of 1 and asserts that the calls seen are exactly the
/// modules of the tree (`named_modules`), and that every module owning a parameter or buffer ran
/// as a leaf under its name (`layer1.0.conv1` for `layer1.0.conv1.weight`).
pub fn assert_every_layer_traced(model: &dyn Module, spec: &ModelSpec) {
    let (h, w) = spec.input_size;
    let x = Tensor::randn([1, spec.in_channels, h, w], &mut seeded_rng(3));
    let (_, records) = trace(model, &x, Mode::Eval).unwrap();
    let called: BTreeSet<&str> = records.iter().map(|r| r.name.as_str()).collect();
    let tree = model.named_modules();
    let in_tree: BTreeSet<&str> = tree.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(called, in_tree, "traced calls differ from the module tree");
    for (name, _) in model.named_tensors() {
        let owner = name.rsplit_once('.').map_or("", |(owner, _)| owner);
        assert!(
            records.iter().any(|r| r.name == owner && r.is_leaf),
            "{name}: no traced call of layer '{owner}'"
        );
    }
}
