//! `convkit train --tensorboard` writes event files that TensorBoard's format reader accepts,
//! with the expected tags and steps (the check with TensorBoard's own Python reader is in
//! crates/train/tests/tensorboard_python.rs).
mod common;
use common::{image_folder, ok, only_run, train_on_folder};
use convkit_train::tensorboard::{read_events, EventKind, Value};
use std::collections::BTreeMap;

#[test]
fn tensorboard_logs_scalars_images_and_histograms_per_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    image_folder(&data, 8, 0);
    let out_dir = dir.path().join("runs");
    let out = train_on_folder(
        &data,
        &out_dir,
        &["--epochs", "3", "--batch-size", "2", "--tensorboard"],
    );
    ok(&out);
    let run = only_run(&out_dir);
    let files: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("events.out.tfevents.")
        })
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    // tag → (kind, steps)
    let mut tags: BTreeMap<String, (&str, Vec<i64>)> = BTreeMap::new();
    for event in read_events(&files[0]).unwrap() {
        let EventKind::Summary(values) = &event.what else {
            continue;
        };
        for value in values {
            let kind = match &value.value {
                Value::Scalar(_) => "scalar",
                Value::Image(_) => "image",
                Value::Histogram(_) => "histogram",
                Value::Other => "other",
            };
            tags.entry(value.tag.clone())
                .or_insert((kind, Vec::new()))
                .1
                .push(event.step);
        }
    }
    for tag in [
        "train/loss",
        "train/accuracy",
        "test/loss",
        "test/accuracy",
        "lr",
        "images_per_second",
    ] {
        assert_eq!(tags[tag], ("scalar", vec![1, 2, 3]), "{tag}");
    }
    assert_eq!(tags["curves"], ("image", vec![1, 2, 3]));
    assert_eq!(tags["weights/conv1.weight"].0, "histogram");
    assert_eq!(tags["weights/conv1.weight"].1.len(), 3);
    // Noise images in 3 classes: some test images are misclassified every epoch.
    assert_eq!(tags["test/misclassified"].0, "image");
    // 24 images in batches of 2: 12 steps per epoch, the loss logged at every 10th.
    assert_eq!(tags["train/batch_loss"], ("scalar", vec![10, 22, 34]));
}
