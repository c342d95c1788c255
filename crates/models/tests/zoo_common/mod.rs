//! Helpers the model-zoo tests share: specs, one eval forward, and the overfit-one-batch check.
#![allow(dead_code)] // each test file uses its own subset

use convkit_models::ModelSpec;
use convkit_nn::optim::Optimizer;
use convkit_nn::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};

/// A spec for `in_channels`×`size`×`size` inputs and `num_classes` classes.
pub fn spec(in_channels: usize, size: usize, num_classes: usize) -> ModelSpec {
    ModelSpec {
        in_channels,
        num_classes,
        input_size: (size, size),
    }
}

/// A seeded random batch of `n` inputs fitting `spec`.
pub fn batch(n: usize, spec: &ModelSpec) -> Tensor {
    let (h, w) = spec.input_size;
    Tensor::randn([n, spec.in_channels, h, w], &mut seeded_rng(7))
}

/// The output dims of one eval forward pass over a batch of `n`.
pub fn output_dims(model: &dyn Module, n: usize, spec: &ModelSpec) -> Vec<usize> {
    model
        .forward(&batch(n, spec), Mode::Eval)
        .unwrap()
        .dims()
        .to_vec()
}

/// Trains `model` on one fixed random batch of `n` images (labels `i % classes`) for `steps` steps
/// in train mode and asserts that the last loss is at most a tenth of the first.
pub fn assert_overfits(
    model: &dyn Module,
    opt: &mut dyn Optimizer,
    spec: &ModelSpec,
    n: usize,
    steps: usize,
) {
    let x = batch(n, spec);
    let targets: Vec<usize> = (0..n).map(|i| i % spec.num_classes).collect();
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        let loss = model
            .forward(&x, Mode::Train)
            .unwrap()
            .cross_entropy(&targets)
            .unwrap();
        losses.push(loss.item());
        opt.zero_grad();
        loss.backward().unwrap();
        opt.step().unwrap();
    }
    let (first, last) = (losses[0], losses[steps - 1]);
    assert!(
        last <= 0.1 * first,
        "loss {first} → {last} did not fall by 90%: {losses:?}"
    );
}
