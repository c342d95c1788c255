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

/// Trains `model` on one fixed random batch of `n` images (labels `i % classes`) for up to `steps`
/// steps in train mode and asserts that the loss falls to at most a tenth of the loss before, both
/// measured in `measure` mode (`Mode::Eval` for models whose dropout makes single train-mode losses
/// on so small a batch too noisy to compare), checked every 10 steps and at the end. It passes at
/// the first check that finds it: Adam on a batch it has fitted to a loss near 0 takes steps of
/// about lr whatever the gradient, and AlexNet's eval loss went from 6e-8 back to 0.5 in the last 3
/// of 60 steps.
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
    let mut checked = Vec::new();
    for step in 1..=steps {
        let train_loss = loss(Mode::Train);
        opt.zero_grad();
        train_loss.backward().unwrap();
        opt.step().unwrap();
        if step % 10 == 0 || step == steps {
            let now = loss(measure).item();
            if now <= 0.1 * first {
                return;
            }
            checked.push((step, now));
        }
    }
    panic!(
        "{measure:?} loss {first} did not fall by 90% in {steps} steps: (step, loss) {checked:?}"
    );
}

/// Runs `zero_init_residual` on `model` and checks that it zeroed exactly the weights of the
/// `blocks` norms called `last` inside the stages (`layerK.`) and left every other weight alone.
pub fn assert_zero_inits(model: &dyn Module, last: &str, blocks: usize) {
    let before: Vec<(String, Vec<f32>)> = model
        .parameters()
        .into_iter()
        .map(|(n, t)| (n, t.to_vec()))
        .collect();
    assert_eq!(convkit_models::zero_init_residual(model).unwrap(), blocks);
    let suffix = format!(".{last}.weight");
    let mut zeroed = 0;
    for ((name, now), (_, was)) in model.parameters().into_iter().zip(&before) {
        let now = now.to_vec();
        if name.starts_with("layer") && name.ends_with(&suffix) {
            assert!(was.iter().all(|&v| v == 1.0), "{name} started at 1");
            assert!(now.iter().all(|&v| v == 0.0), "{name} not zeroed");
            zeroed += 1;
        } else {
            assert_eq!(&now, was, "{name} changed");
        }
    }
    assert_eq!(zeroed, blocks);
}
