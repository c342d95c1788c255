//! The embedded MNIST files: sizes, label counts, statistics, and a pass of the loader over them.

use std::sync::Arc;

use convkit_data::{
    default_mnist_dir, DataLoader, LoaderConfig, Mnist, Split, MNIST_MEAN, MNIST_STD,
};

/// How many images of each digit a dataset holds.
fn label_counts(labels: &[usize]) -> [usize; 10] {
    let mut counts = [0; 10];
    labels.iter().for_each(|&l| counts[l] += 1);
    counts
}

#[test]
fn train_split_has_the_published_size_label_counts_and_statistics() {
    let ds = Mnist::load(&default_mnist_dir(), Split::Train).unwrap();
    assert_eq!(
        (ds.len(), ds.channels(), ds.height(), ds.width()),
        (60_000, 1, 28, 28)
    );
    assert_eq!(
        label_counts(ds.labels()),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    let (mean, std) = ds.mean_std();
    assert!(
        (mean[0] - MNIST_MEAN).abs() < 5e-5 && (std[0] - MNIST_STD).abs() < 5e-5,
        "{mean:?} {std:?}"
    );
}

#[test]
fn test_split_has_the_published_size_and_label_counts() {
    let ds = Mnist::load(&default_mnist_dir(), Split::Test).unwrap();
    assert_eq!(
        (ds.len(), ds.channels(), ds.height(), ds.width()),
        (10_000, 1, 28, 28)
    );
    assert_eq!(
        label_counts(ds.labels()),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(
        ds.class_names(),
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
    );
}

#[test]
fn loader_covers_the_test_split_with_normalised_batches() {
    let ds = Arc::new(Mnist::load(&default_mnist_dir(), Split::Test).unwrap());
    let config = LoaderConfig {
        batch_size: 64,
        shuffle: true,
        seed: 1,
        normalize: Some(Mnist::normalize()),
        ..Default::default()
    };
    let loader = DataLoader::new(Arc::clone(&ds), config).unwrap();
    assert_eq!(loader.num_batches(), 157); // 156 full batches and one of 16
    let (mut count, mut sum, mut sum_sq) = (0usize, 0f64, 0f64);
    let mut labels = Vec::new();
    for batch in loader.epoch(0) {
        assert_eq!(batch.dims[1..], [1, 28, 28]);
        count += batch.images.len();
        sum += batch.images.iter().map(|&x| f64::from(x)).sum::<f64>();
        sum_sq += batch
            .images
            .iter()
            .map(|&x| f64::from(x).powi(2))
            .sum::<f64>();
        labels.extend(batch.labels);
    }
    assert_eq!(count, 10_000 * 784);
    assert_eq!(label_counts(&labels), label_counts(ds.labels()));
    // Normalised with the training statistics, the test set has mean ≈ 0 and std ≈ 1.
    let mean = sum / count as f64;
    let std = (sum_sq / count as f64 - mean * mean).sqrt();
    assert!(
        mean.abs() < 0.02 && (std - 1.0).abs() < 0.02,
        "mean {mean}, std {std}"
    );
}
