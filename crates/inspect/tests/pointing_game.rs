//! Localisation, the "pointing game": on a synthetic dataset of MNIST digits pasted at random places
//! on a blank 64×64 canvas, a small CNN trained for it should point — with the peak of its Grad-CAM
//! map, and of its occlusion map — inside the digit's bounding box for at least 85% of test images.
//! Training (two epochs of 10,000 images) takes minutes on two loaded cores, so the test is ignored by default:
//! `cargo test --release -p convkit-inspect --test pointing_game -- --ignored --nocapture`.
mod common;

use common::{mnist, train_on};
use convkit_data::{Dataset, Split, MNIST_MEAN, MNIST_STD};
use convkit_inspect::saliency::{grad_cam, occlusion, upsample_bilinear, OcclusionConfig};
use convkit_nn::layers::{
    AdaptiveAvgPool2d, BatchNorm2d, BatchNormConfig, Conv2d, Conv2dConfig, Flatten, FlattenConfig,
    Linear, LinearConfig, MaxPool2d, MaxPool2dConfig, ReLU, Sequential,
};
use convkit_nn::optim::{Adam, AdamConfig};
use convkit_nn::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};
use rand::Rng;

const CANVAS: usize = 64;

/// A digit pasted on the canvas: the normalised image `[1, 64, 64]`, its label and the bounding
/// box of its ink `(top, left, bottom, right)`, inclusive.
struct Placed {
    image: Vec<f32>,
    label: usize,
    bbox: (usize, usize, usize, usize),
}

fn place(data: &Dataset, i: usize, rng: &mut impl Rng) -> Placed {
    let sample = data.get(i).unwrap();
    let (top, left) = (
        rng.random_range(0..=CANVAS - 28),
        rng.random_range(0..=CANVAS - 28),
    );
    let mut pixels = vec![0u8; CANVAS * CANVAS];
    let mut bbox = (CANVAS, CANVAS, 0, 0);
    for y in 0..28 {
        for x in 0..28 {
            let p = sample.image[y * 28 + x];
            pixels[(top + y) * CANVAS + left + x] = p;
            if p > 0 {
                bbox = (
                    bbox.0.min(top + y),
                    bbox.1.min(left + x),
                    bbox.2.max(top + y),
                    bbox.3.max(left + x),
                );
            }
        }
    }
    let image = pixels
        .iter()
        .map(|&p| (f32::from(p) / 255.0 - MNIST_MEAN) / MNIST_STD)
        .collect();
    Placed {
        image,
        label: sample.label,
        bbox,
    }
}

/// conv 16 5×5 → pool → conv 32 3×3 → pool → conv 64 3×3 → conv 64 3×3 → global average →
/// linear 10, each conv followed by batch norm and ReLU.
fn small_cnn() -> Sequential {
    let mut rng = seeded_rng(11);
    let conv = |c_in, c_out, k: usize, rng: &mut _| {
        let config = Conv2dConfig {
            padding: (k / 2, k / 2),
            ..Default::default()
        };
        Box::new(Conv2d::new(c_in, c_out, (k, k), config, rng).unwrap()) as Box<dyn Module>
    };
    let pool = || Box::new(MaxPool2d::new((2, 2), MaxPool2dConfig::default()).unwrap());
    let bn = |c| Box::new(BatchNorm2d::new(c, BatchNormConfig::default()).unwrap());
    let layers: Vec<(String, Box<dyn Module>)> = vec![
        ("conv1".into(), conv(1, 16, 5, &mut rng)),
        ("bn1".into(), bn(16)),
        ("relu1".into(), Box::new(ReLU)),
        ("pool1".into(), pool()),
        ("conv2".into(), conv(16, 32, 3, &mut rng)),
        ("bn2".into(), bn(32)),
        ("relu2".into(), Box::new(ReLU)),
        ("pool2".into(), pool()),
        ("conv3".into(), conv(32, 64, 3, &mut rng)),
        ("bn3".into(), bn(64)),
        ("relu3".into(), Box::new(ReLU)),
        ("conv4".into(), conv(64, 64, 3, &mut rng)),
        ("bn4".into(), bn(64)),
        ("relu4".into(), Box::new(ReLU)),
        (
            "gap".into(),
            Box::new(AdaptiveAvgPool2d::new((1, 1)).unwrap()),
        ),
        (
            "flatten".into(),
            Box::new(Flatten::new(FlattenConfig::default())),
        ),
        (
            "fc".into(),
            Box::new(Linear::new(64, 10, LinearConfig::default(), &mut rng).unwrap()),
        ),
    ];
    Sequential::named(layers).unwrap()
}

fn batch(placed: &[Placed]) -> (Tensor, Vec<usize>) {
    let pixels = placed.iter().flat_map(|p| p.image.clone()).collect();
    let images = Tensor::from_vec(pixels, [placed.len(), 1, CANVAS, CANVAS]).unwrap();
    (images, placed.iter().map(|p| p.label).collect())
}

/// The position of a map's largest value (the first, row-major, on ties).
fn peak(map: &Tensor) -> (usize, usize) {
    let w = map.dims()[1];
    let data = map.data();
    let at = (0..data.len()).fold(0, |best, i| if data[i] > data[best] { i } else { best });
    (at / w, at % w)
}

fn inside(
    (y, x): (usize, usize),
    (top, left, bottom, right): (usize, usize, usize, usize),
) -> bool {
    (top..=bottom).contains(&y) && (left..=right).contains(&x)
}

#[test]
#[ignore = "trains a CNN on 64×64 images for minutes"]
fn grad_cam_and_occlusion_point_at_the_digit() {
    let (train, test) = (mnist(Split::Train), mnist(Split::Test));
    let mut rng = seeded_rng(12);
    let training: Vec<Placed> = (0..10_000).map(|i| place(&train, i, &mut rng)).collect();
    let model = small_cnn();
    let config = AdamConfig {
        lr: 1e-3,
        ..Default::default()
    };
    let mut opt = Adam::new(model.parameters(), config).unwrap();
    let two_epochs = training.chunks(64).chain(training.chunks(64)).map(batch);
    train_on(&model, &mut opt, two_epochs);
    let testing: Vec<Placed> = (0..200).map(|i| place(&test, i, &mut rng)).collect();
    let (x, y) = batch(&testing);
    let predicted = model.forward(&x, Mode::Eval).unwrap().argmax(1).unwrap();
    let accuracy = predicted.iter().zip(&y).filter(|(p, y)| p == y).count() as f32 / 200.0;
    let occlusion_config = OcclusionConfig {
        window: 12,
        stride: 4,
        ..Default::default()
    };
    let (mut cam_hits, mut occlusion_hits) = (0, 0);
    for p in &testing {
        let image = Tensor::from_vec(p.image.clone(), [1, CANVAS, CANVAS]).unwrap();
        let cam = grad_cam(&model, &image, "relu4", Some(p.label)).unwrap();
        let cam = upsample_bilinear(&cam.values, (CANVAS, CANVAS)).unwrap();
        cam_hits += usize::from(inside(peak(&cam), p.bbox));
        let occluded = occlusion(&model, &image, Some(p.label), &occlusion_config).unwrap();
        occlusion_hits += usize::from(inside(peak(&occluded.values), p.bbox));
    }
    let (cam_rate, occlusion_rate) = (cam_hits as f32 / 200.0, occlusion_hits as f32 / 200.0);
    println!(
        "test accuracy {accuracy:.3}; pointing game (peak inside the digit's box): \
         Grad-CAM {cam_rate:.3}, occlusion {occlusion_rate:.3}"
    );
    assert!(
        accuracy > 0.8,
        "the model must have learnt the task: {accuracy}"
    );
    assert!(cam_rate >= 0.85, "Grad-CAM {cam_rate}");
    assert!(occlusion_rate >= 0.85, "occlusion {occlusion_rate}");
}
