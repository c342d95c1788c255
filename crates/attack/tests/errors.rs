//! Bad input gets a clear error that names what is wrong, never a panic.
mod common;

use common::{classifier, mnist_pixels, small_cnn};
use convkit_attack::{attack_batch, fgsm, pgd, Attack, Classifier, Error, FgsmConfig, PgdConfig};
use convkit_data::Split;
use convkit_tensor::{seeded_rng, Tensor};

#[test]
fn a_negative_or_nan_eps_is_refused() {
    let model = small_cnn(None);
    let classifier = classifier(&model);
    let (images, labels) = mnist_pixels(Split::Test, 2);
    let err = fgsm(&classifier, &images, &labels, &FgsmConfig { eps: -0.1 }).unwrap_err();
    assert!(matches!(err, Error::InvalidEpsilon { .. }));
    assert!(
        err.to_string()
            .contains("ε must be a finite number ≥ 0, got -0.1"),
        "{err}"
    );
    let err = attack_batch(
        &classifier,
        &Attack::Fgsm,
        &images,
        &labels,
        &[0.1, f32::NAN],
        &mut seeded_rng(0),
    )
    .unwrap_err();
    assert!(err.to_string().contains("got NaN"), "{err}");
}

#[test]
fn normalised_images_are_refused_with_a_hint() {
    let model = small_cnn(None);
    let classifier = classifier(&model);
    let (images, labels) = mnist_pixels(Split::Test, 2);
    let normalized = classifier.normalize(&images).unwrap();
    let err = pgd(
        &classifier,
        &normalized,
        &labels,
        &PgdConfig::default(),
        &mut seeded_rng(0),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("pixels in [0, 1]") && err.contains("pixels_from_normalized"),
        "{err}"
    );
    let back = classifier.pixels_from_normalized(&normalized).unwrap();
    let worst = back
        .to_vec()
        .iter()
        .zip(images.to_vec())
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(worst < 1e-6, "normalise then undo moved a pixel by {worst}");
}

#[test]
fn a_model_without_normalisation_or_with_the_wrong_channels_is_refused() {
    let model = small_cnn(None);
    let err = Classifier::new(&model, &[], &[]).err().unwrap();
    assert!(
        err.to_string().contains("no normalisation metadata"),
        "{err}"
    );
    let err = Classifier::new(&model, &[0.5], &[0.0]).err().unwrap();
    assert!(
        err.to_string().contains("std 0 is not a positive number"),
        "{err}"
    );
    let rgb = Classifier::new(&model, &[0.5; 3], &[0.25; 3]).unwrap();
    let gray = Tensor::zeros([1, 1, 28, 28]);
    let err = rgb.predict(&gray).unwrap_err().to_string();
    assert!(
        err.contains("[N, 3, H, W]") && err.contains("[1, 1, 28, 28]"),
        "{err}"
    );
}

#[test]
fn labels_that_dont_fit_and_impossible_settings_are_refused() {
    let model = small_cnn(None);
    let classifier = classifier(&model);
    let (images, _) = mnist_pixels(Split::Test, 2);
    let err = fgsm(&classifier, &images, &[1], &FgsmConfig::default()).unwrap_err();
    assert!(err.to_string().contains("one label each"), "{err}");
    let no_steps = PgdConfig {
        steps: 0,
        ..PgdConfig::default()
    };
    let err = pgd(&classifier, &images, &[1, 2], &no_steps, &mut seeded_rng(0)).unwrap_err();
    assert!(
        err.to_string().contains("steps: must be at least 1"),
        "{err}"
    );
    let err = Attack::from_name("jsma").unwrap_err().to_string();
    assert!(
        err.contains("unknown attack 'jsma'") && err.contains("fgsm, fgsm-rs, bim"),
        "{err}"
    );
}
