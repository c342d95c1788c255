//! A LeNet-5 trained for a few seconds on the embedded MNIST, and MNIST images as tensors, for the
//! tests that need a model that has learnt something.
#![allow(dead_code)] // each test binary uses part of this
use convkit_data::{default_mnist_dir, Dataset, Mnist, Split, MNIST_MEAN, MNIST_STD};
use convkit_models::{lenet5, ModelSpec};
use convkit_nn::layers::Sequential;
use convkit_nn::optim::{Optimizer, Sgd, SgdConfig};
use convkit_nn::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};
use rand::seq::SliceRandom;
use std::sync::OnceLock;

pub fn mnist_spec() -> ModelSpec {
    ModelSpec {
        in_channels: 1,
        num_classes: 10,
        input_size: (28, 28),
    }
}

/// Images `indices` of `data`, normalised as for training, `[N, 1, 28, 28]`, with their labels.
pub fn mnist_batch(data: &Dataset, indices: &[usize]) -> (Tensor, Vec<usize>) {
    let mut pixels = Vec::with_capacity(indices.len() * 784);
    let mut labels = Vec::with_capacity(indices.len());
    for &i in indices {
        let sample = data.get(i).expect("index in range");
        pixels.extend(
            sample
                .image
                .iter()
                .map(|&p| (p as f32 / 255.0 - MNIST_MEAN) / MNIST_STD),
        );
        labels.push(sample.label);
    }
    let images = Tensor::from_vec(pixels, [indices.len(), 1, 28, 28]).unwrap();
    (images, labels)
}

/// One normalised `[1, 28, 28]` test image and its label.
pub fn mnist_image(data: &Dataset, i: usize) -> (Tensor, usize) {
    let (batch, labels) = mnist_batch(data, &[i]);
    (batch.reshape(&[1, 28, 28]).unwrap(), labels[0])
}

pub fn mnist(split: Split) -> Dataset {
    Mnist::load(&default_mnist_dir(), split).unwrap()
}

/// A copy of a LeNet-5 trained for 150 steps (see [`train_lenet5`]), trained once per test binary
/// (about 96% test accuracy).
pub fn trained_lenet5() -> Sequential {
    static TRAINED: OnceLock<Sequential> = OnceLock::new();
    let trained = TRAINED.get_or_init(|| train_lenet5(150));
    let copy = lenet5(&mnist_spec(), &mut seeded_rng(0)).unwrap();
    for ((_, to), (_, from)) in copy.named_tensors().iter().zip(trained.named_tensors()) {
        to.data_mut().copy_from_slice(&from.data());
    }
    copy
}

/// LeNet-5 after `steps` SGD steps (batch 64, lr 0.05, momentum 0.9) on shuffled MNIST training
/// images, seeded.
pub fn train_lenet5(steps: usize) -> Sequential {
    let train = mnist(Split::Train);
    let model = lenet5(&mnist_spec(), &mut seeded_rng(7)).unwrap();
    let config = SgdConfig {
        lr: 0.05,
        momentum: 0.9,
        ..Default::default()
    };
    let mut opt = Sgd::new(model.parameters(), config).unwrap();
    let mut order: Vec<usize> = (0..train.len()).collect();
    order.shuffle(&mut seeded_rng(8));
    let batches = order.chunks(64).take(steps).map(|b| mnist_batch(&train, b));
    train_on(&model, &mut opt, batches);
    model
}

/// One optimiser step on the cross-entropy of each batch of images and labels, in train mode.
pub fn train_on(
    model: &dyn Module,
    opt: &mut dyn Optimizer,
    batches: impl Iterator<Item = (Tensor, Vec<usize>)>,
) {
    for (x, y) in batches {
        let loss = model
            .forward(&x, Mode::Train)
            .unwrap()
            .cross_entropy(&y)
            .unwrap();
        opt.zero_grad();
        loss.backward().unwrap();
        opt.step().unwrap();
    }
}

/// The fraction of `n` test images the model classifies correctly.
pub fn accuracy(model: &dyn Module, test: &Dataset, n: usize) -> f32 {
    let indices: Vec<usize> = (0..n).collect();
    let (x, y) = mnist_batch(test, &indices);
    let logits = model.forward(&x, Mode::Eval).unwrap();
    let predicted = logits.argmax(1).unwrap();
    predicted.iter().zip(&y).filter(|(p, y)| p == y).count() as f32 / n as f32
}
