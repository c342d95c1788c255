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
/// in train mode and asserts that the loss after training is at most a tenth of the loss before,
/// both measured in `measure` mode: `Mode::Eval` for models whose dropout makes single train-mode
/// losses on so small a batch too noisy to compare.
pub fn assert_overfits(
    model: &dyn Module,
    opt: &mut dyn Optimizer,
    spec: &ModelSpec,
    (n, steps): (usize, usize),
    measure: Mode,
) {
    let x = batch(n, spec);
    let targets: Vec<usize> = (0..n).map(|i| i % spec.num_classes).collect();
    let loss = |mode| {
        model
            .forward(&x, mode)
            .unwrap()
            .cross_entropy(&targets)
            .unwrap()
    };
    let first = loss(measure).item();
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        let loss = loss(Mode::Train);
        losses.push(loss.item());
        opt.zero_grad();
        loss.backward().unwrap();
        opt.step().unwrap();
    }
    let last = loss(measure).item();
    assert!(
        last <= 0.1 * first,
        "{measure:?} loss {first} → {last} did not fall by 90%; training losses {losses:?}"
    );
}
