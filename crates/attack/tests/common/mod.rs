//! What the attack test files share: MNIST pixels and a small CNN trained on them in seconds.
#![allow(dead_code)] // each test file uses its own part

use convkit_attack::Classifier;
use convkit_data::{default_mnist_dir, Mnist, Split, MNIST_MEAN, MNIST_STD};
use convkit_nn::layers::{
    Conv2d, Conv2dConfig, Flatten, FlattenConfig, Linear, LinearConfig, ReLU, Sequential,
};
use convkit_nn::optim::{Optimizer, Sgd, SgdConfig};
use convkit_nn::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};
use std::sync::OnceLock;

/// The first `n` images of an MNIST split as `[n, 1, 28, 28]` pixels in [0, 1], and their labels.
pub fn mnist_pixels(split: Split, n: usize) -> (Tensor, Vec<usize>) {
    let data = Mnist::load(&default_mnist_dir(), split).unwrap();
    let n = n.min(data.len());
    let pixels = data.images()[..n * 784]
        .iter()
        .map(|&p| f32::from(p) / 255.0)
        .collect();
    (
        Tensor::from_vec(pixels, [n, 1, 28, 28]).unwrap(),
        data.labels()[..n].to_vec(),
    )
}

/// conv 8 k5 s2 p2, ReLU, conv 16 k3 s2 p1, ReLU, flatten, linear 784 → 10; with `logit_scale`
/// a last linear layer multiplies the logits by it (a model whose softmax saturates: masked
/// gradients, as defensive distillation gives).
pub fn small_cnn(logit_scale: Option<f32>) -> Sequential {
    let rng = &mut seeded_rng(7);
    let conv = |c_in, c_out, k, padding, rng: &mut _| {
        Conv2d::new(
            c_in,
            c_out,
            (k, k),
            Conv2dConfig {
                stride: (2, 2),
                padding: (padding, padding),
                ..Default::default()
            },
            rng,
        )
        .unwrap()
    };
    let mut layers: Vec<(String, Box<dyn Module>)> = vec![
        ("conv1".into(), Box::new(conv(1, 8, 5, 2, rng))),
        ("relu1".into(), Box::new(ReLU)),
        ("conv2".into(), Box::new(conv(8, 16, 3, 1, rng))),
        ("relu2".into(), Box::new(ReLU)),
        (
            "flatten".into(),
            Box::new(Flatten::new(FlattenConfig::default())),
        ),
        (
            "fc".into(),
            Box::new(Linear::new(784, 10, LinearConfig::default(), rng).unwrap()),
        ),
    ];
    if let Some(scale) = logit_scale {
        let amplify = Linear::new(10, 10, LinearConfig::default(), rng).unwrap();
        for (name, t) in amplify.parameters() {
            let mut data = t.data_mut();
            data.fill(0.0);
            if name == "weight" {
                (0..10).for_each(|i| data[i * 10 + i] = scale);
            }
        }
        layers.push(("amplify".into(), Box::new(amplify)));
    }
    Sequential::named(layers).unwrap()
}

/// The weights of the small CNN trained on 3000 MNIST images for 2 epochs (about 90% test
/// accuracy), trained once per test binary.
fn trained_weights() -> &'static [(String, Vec<f32>)] {
    static WEIGHTS: OnceLock<Vec<(String, Vec<f32>)>> = OnceLock::new();
    WEIGHTS.get_or_init(|| {
        let model = small_cnn(None);
        let (images, labels) = mnist_pixels(Split::Train, 3000);
        let normalized = classifier(&model).normalize(&images).unwrap();
        let config = SgdConfig {
            lr: 0.05,
            momentum: 0.9,
            ..Default::default()
        };
        let mut sgd = Sgd::new(model.parameters(), config).unwrap();
        for _ in 0..2 {
            for start in (0..labels.len()).step_by(50) {
                let batch = normalized.narrow(0, start, 50).unwrap();
                let loss = model
                    .forward(&batch, Mode::Train)
                    .unwrap()
                    .cross_entropy(&labels[start..start + 50])
                    .unwrap();
                loss.backward().unwrap();
                sgd.step().unwrap();
                sgd.zero_grad();
            }
        }
        model
            .named_tensors()
            .into_iter()
            .map(|(name, t)| (name, t.to_vec()))
            .collect()
    })
}

/// A copy of the trained CNN of its own: attacks freeze a model's parameters while they run,
/// so tests running in parallel must not share one.
pub fn trained_cnn() -> Sequential {
    with_trained_weights(small_cnn(None))
}

/// The trained CNN's weights behind a logit amplifier of `scale`.
pub fn masked_cnn(scale: f32) -> Sequential {
    with_trained_weights(small_cnn(Some(scale)))
}

fn with_trained_weights(model: Sequential) -> Sequential {
    for (name, t) in model.named_tensors() {
        if let Some((_, source)) = trained_weights().iter().find(|(n, _)| *n == name) {
            t.data_mut().copy_from_slice(source);
        }
    }
    model
}

/// `model` behind MNIST's normalisation.
pub fn classifier(model: &dyn Module) -> Classifier<'_> {
    Classifier::new(model, &[MNIST_MEAN], &[MNIST_STD]).unwrap()
}

/// The fraction of `labels` that `model` gets right on `images` (pixels).
pub fn accuracy(classifier: &Classifier, images: &Tensor, labels: &[usize]) -> f64 {
    let predicted = classifier.predict(images).unwrap().classes;
    let correct = predicted.iter().zip(labels).filter(|(p, y)| p == y).count();
    correct as f64 / labels.len() as f64
}
