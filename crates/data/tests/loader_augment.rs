//! The loader with worker threads, transforms and mixup: reproducible per `(seed, epoch)` and
//! independent of the worker count; plus an ignored throughput measurement.

use std::sync::Arc;
use std::time::Instant;

use convkit_data::transforms::{HorizontalFlip, Pipeline, RandomResizedCrop, Transform};
use convkit_data::{Batch, Cifar10, DataLoader, Dataset, LoaderConfig, Split};

/// `n` random-looking 3×8×8 images with labels `i % 4`.
fn dataset(n: usize) -> Arc<Dataset> {
    let images = (0..n * 192).map(|i| (i * 7919 % 251) as u8).collect();
    let labels = (0..n).map(|i| i % 4).collect();
    let names = ["a", "b", "c", "d"].map(String::from).to_vec();
    Arc::new(Dataset::new(images, labels, [3, 8, 8], names).unwrap())
}

fn loader(ds: &Arc<Dataset>, seed: u64, workers: usize, transforms: &str) -> DataLoader {
    let config = LoaderConfig {
        batch_size: 7,
        shuffle: true,
        seed,
        normalize: Some(convkit_data::Normalize {
            mean: vec![0.5; 3],
            std: vec![0.25; 3],
        }),
        ..Default::default()
    };
    DataLoader::new(Arc::clone(ds), config)
        .unwrap()
        .with_workers(workers)
        .unwrap()
        .with_transforms(Pipeline::parse(transforms).unwrap())
        .unwrap()
}

fn all(loader: &DataLoader, epoch: u64) -> Vec<Batch> {
    loader.epoch(epoch).collect()
}

#[test]
fn augmented_batches_depend_on_seed_and_epoch_not_on_workers() {
    let ds = dataset(40);
    let spec = "crop,flip,jitter,affine,cutout:size=4,randaugment,pca";
    let reference = all(&loader(&ds, 3, 1, spec), 2);
    assert_eq!(reference.len(), 6);
    for workers in [2, 3, 8] {
        assert_eq!(
            all(&loader(&ds, 3, workers, spec), 2),
            reference,
            "{workers} workers"
        );
    }
    assert_ne!(all(&loader(&ds, 3, 2, spec), 3), reference, "epochs differ");
    assert_ne!(all(&loader(&ds, 4, 2, spec), 2), reference, "seeds differ");
    let plain = all(&loader(&ds, 3, 2, ""), 2);
    assert_eq!(
        plain.iter().map(|b| &b.indices).collect::<Vec<_>>(),
        reference.iter().map(|b| &b.indices).collect::<Vec<_>>()
    );
    assert_ne!(plain, reference, "the transforms change the pixels");
}

#[test]
fn an_always_flip_pipeline_mirrors_the_plain_batches_exactly() {
    let ds = dataset(10);
    let flip = Pipeline::new(vec![Transform::HorizontalFlip(HorizontalFlip { p: 1.0 })]).unwrap();
    let flipped = loader(&ds, 0, 2, "").with_transforms(flip).unwrap();
    for (plain, mirrored) in loader(&ds, 0, 1, "").epoch(0).zip(flipped.epoch(0)) {
        let mut back = mirrored.images.clone();
        convkit_data::transforms::flip_horizontal(&mut back, 8);
        assert_eq!(back, plain.images);
        assert_ne!(mirrored.images, plain.images);
    }
}

#[test]
fn resizing_transforms_set_the_batch_shape_and_mixup_gives_soft_targets() {
    let ds = dataset(20);
    let resize = Transform::RandomResizedCrop(RandomResizedCrop {
        size: [5, 6],
        ..Default::default()
    });
    let loader = loader(&ds, 1, 3, "flip")
        .with_transforms(Pipeline::new(vec![resize]).unwrap())
        .unwrap()
        .with_mixup(0.2)
        .unwrap();
    assert_eq!(loader.image_dims(), [3, 5, 6]);
    for batch in loader.epoch(0) {
        let n = batch.labels.len();
        assert_eq!(batch.dims, [n, 3, 5, 6]);
        assert_eq!(batch.images.len(), n * 90);
        let targets = batch.targets.expect("mixup fills the targets");
        assert_eq!(targets.len(), n * 4);
        for row in targets.chunks(4) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
    }
}

#[test]
fn label_smoothing_softens_one_hot_and_mixed_targets() {
    let ds = dataset(20);
    let smoothed = loader(&ds, 1, 1, "none").with_label_smoothing(0.2).unwrap();
    for batch in smoothed.epoch(0) {
        let targets = batch.targets.expect("label smoothing fills the targets");
        for (row, &label) in targets.chunks(4).zip(&batch.labels) {
            for (class, &t) in row.iter().enumerate() {
                let want = if class == label { 0.85 } else { 0.05 };
                assert!((t - want).abs() < 1e-6, "{row:?} for label {label}");
            }
        }
    }
    // With mixup, the mixed targets of the same batches are smoothed.
    let mixed = loader(&ds, 1, 1, "none").with_mixup(0.4).unwrap();
    let both = mixed.clone().with_label_smoothing(0.2).unwrap();
    for (m, b) in mixed.epoch(2).zip(both.epoch(2)) {
        assert_eq!(m.images, b.images);
        let (m, b) = (m.targets.unwrap(), b.targets.unwrap());
        for (m, b) in m.iter().zip(&b) {
            assert!((0.8 * m + 0.05 - b).abs() < 1e-6);
        }
    }
    assert!(loader(&ds, 1, 1, "none")
        .with_label_smoothing(1.5)
        .unwrap_err()
        .to_string()
        .contains("[0, 1]"));
}

#[test]
fn invalid_loader_settings_are_rejected_at_start_up() {
    let ds = dataset(3);
    let base = || DataLoader::new(Arc::clone(&ds), LoaderConfig::default()).unwrap();
    assert!(base()
        .with_workers(0)
        .unwrap_err()
        .to_string()
        .contains("at least 1 worker"));
    assert!(base()
        .with_mixup(0.0)
        .unwrap_err()
        .to_string()
        .contains("alpha"));
    let bad = Transform::HorizontalFlip(HorizontalFlip { p: 2.0 });
    assert!(Pipeline::new(vec![bad.clone()]).is_err());
    let err = Pipeline::parse("crop,spin").unwrap_err().to_string();
    assert!(
        err.contains("unknown transform 'spin'") && err.contains("randaugment"),
        "{err}"
    );
    assert!(Pipeline::parse("none").unwrap().is_empty());
    assert_eq!(Pipeline::parse("none,flip").unwrap().transforms().len(), 1);
}

/// Images/s of one epoch over CIFAR-10's test set (or a synthetic stand-in), with and without
/// crop + flip, for 1 and 2 workers. Run with
/// `cargo test --release -p convkit-data --test loader_augment -- --ignored --nocapture`.
#[test]
#[ignore = "throughput measurement; prints images/s"]
fn throughput_with_and_without_augmentation() {
    let dir = std::path::Path::new("/work/shared/datasets/cifar-10/jpeg-derived");
    let ds = match Cifar10::load(dir, Split::Test) {
        Ok(ds) => Arc::new(ds),
        Err(err) => {
            println!("CIFAR-10 not available ({err}); using synthetic 3×32×32 images");
            let images = (0..10_000 * 3072).map(|i| (i * 31 % 256) as u8).collect();
            Arc::new(Dataset::new(images, vec![0; 10_000], [3, 32, 32], vec!["x".into()]).unwrap())
        }
    };
    for spec in ["", "crop,flip", "crop,flip,jitter", "randaugment"] {
        for workers in [1, 2] {
            let config = LoaderConfig {
                batch_size: 128,
                shuffle: true,
                normalize: Some(Cifar10::normalize()),
                ..Default::default()
            };
            let loader = DataLoader::new(Arc::clone(&ds), config)
                .unwrap()
                .with_workers(workers)
                .unwrap()
                .with_transforms(Pipeline::parse(spec).unwrap())
                .unwrap();
            let start = Instant::now();
            let images: usize = loader.epoch(0).map(|b| b.dims[0]).sum();
            let rate = images as f64 / start.elapsed().as_secs_f64();
            println!("transforms [{spec}] workers {workers}: {rate:.0} images/s");
        }
    }
}
