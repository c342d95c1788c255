//! Checking that a model runs every layer through `convkit_nn::trace::call` under its
//! `state_dict` name, so that `convkit summary` sees each one.
use convkit_models::ModelSpec;
use convkit_nn::trace::trace;
use convkit_nn::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};

/// Traces one eval forward pass of a batch of 1 and asserts that every module owning a parameter
/// or buffer was recorded under its name (`layer1.0.conv1` for `layer1.0.conv1.weight`).
pub fn assert_every_layer_traced(model: &dyn Module, spec: &ModelSpec) {
    let (h, w) = spec.input_size;
    let x = Tensor::randn([1, spec.in_channels, h, w], &mut seeded_rng(3));
    let (_, records) = trace(model, &x, Mode::Eval).unwrap();
    for (name, _) in model.named_tensors() {
        let owner = name.rsplit_once('.').map_or("", |(owner, _)| owner);
        assert!(
            records.iter().any(|r| r.name == owner && r.is_leaf),
            "{name}: no traced call of layer '{owner}'"
        );
    }
}
