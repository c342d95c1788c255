//! The gradient-masking checks: quiet on an honestly trained model, loud on the same model with
//! its logits amplified until the softmax saturates (masked gradients, as defensive distillation
//! gives: the model predicts exactly as before, but gradient attacks go blind).
mod common;

use common::{accuracy, classifier, masked_cnn, mnist_pixels, trained_cnn};
use convkit_attack::{
    robust_accuracy, Attack, MaskingChecks, MaskingConfig, MaskingReport, Norm, PgdConfig,
};
use convkit_data::Split;
use convkit_nn::Module;
use convkit_tensor::seeded_rng;

const EPS: [f32; 3] = [0.0, 0.1, 0.2];

/// The masking report of `model` on 100 test images next to PGD-10's curve.
fn checks(model: &dyn Module) -> MaskingReport {
    let classifier = classifier(model);
    let (images, labels) = mnist_pixels(Split::Test, 100);
    let rng = &mut seeded_rng(11);
    let pgd = Attack::Pgd(PgdConfig {
        steps: 10,
        ..PgdConfig::linf(0.0)
    });
    let curve = robust_accuracy(&classifier, &pgd, &images, &labels, &EPS, 100, rng).unwrap();
    let mut checks =
        MaskingChecks::new(MaskingConfig::default(), &[(Norm::Linf, EPS.to_vec())]).unwrap();
    checks
        .add_batch(&classifier, &images, &labels, rng)
        .unwrap();
    checks.report(&[curve])
}

#[test]
fn an_honest_model_shows_no_sign_of_masking() {
    let report = checks(&trained_cnn());
    assert_eq!(report.images, 100);
    assert!(report.signs.is_empty(), "{report}");
    assert_eq!((report.zero_gradient, report.nonfinite_gradient), (0, 0));
    assert_eq!(report.large_eps_correct, 0, "{report}");
    assert!(report.to_string().contains("no sign of gradient masking"));
}

#[test]
fn saturated_logits_are_flagged_on_every_check() {
    let (honest, masked) = (trained_cnn(), masked_cnn(1e4));
    let (images, labels) = mnist_pixels(Split::Test, 100);
    assert_eq!(
        accuracy(&classifier(&honest), &images, &labels),
        accuracy(&classifier(&masked), &images, &labels),
        "the amplifier must not change a prediction"
    );
    let report = checks(&masked);
    let text = report.to_string();
    assert!(report.zero_gradient > 50, "{text}");
    assert!(text.contains("all-zero input gradient"), "{text}");
    assert!(
        text.contains("random noise (10 draws) beats pgd-10"),
        "{text}"
    );
    assert!(report.large_eps_correct > 0, "{text}");
    assert!(text.contains("SIGNS OF GRADIENT MASKING"), "{text}");
}
