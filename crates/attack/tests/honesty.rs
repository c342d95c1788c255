//! The checks that keep attacks honest, on a small CNN trained on MNIST: every adversarial image
//! lies in [0, 1] and within ε; ε = 0 changes nothing; PGD's robust accuracy never rises with ε
//! and PGD is never weaker than FGSM; the minimal attacks fool with small perturbations.
mod common;

use common::{accuracy, classifier, mnist_pixels, trained_cnn};
use convkit_attack::{
    attack_batch, pgd, robust_accuracy, Attack, CarliniWagnerConfig, Classifier, Norm, PgdConfig,
    ATTACK_NAMES,
};
use convkit_data::Split;
use convkit_nn::Module;
use convkit_tensor::ops::loss::{cross_entropy, ClassTarget, CrossEntropyConfig, Reduction};
use convkit_tensor::{seeded_rng, Tensor};

/// The attack called `name` with settings light enough for the default suite.
fn light_attack(name: &str) -> Attack {
    match Attack::from_name(name).unwrap() {
        Attack::Pgd(c) => Attack::Pgd(PgdConfig { steps: 10, ..c }),
        Attack::CarliniWagner(_) => Attack::CarliniWagner(CarliniWagnerConfig {
            binary_search_steps: 4,
            max_iterations: 100,
            learning_rate: 0.1,
            initial_const: 1.0,
            ..Default::default()
        }),
        attack => attack,
    }
}

/// The largest change of any pixel of each image, and each image's L2 change.
fn perturbation_sizes(clean: &Tensor, adversarial: &Tensor) -> (Vec<f32>, Vec<f32>) {
    let (clean, adversarial) = (clean.to_vec(), adversarial.to_vec());
    let deltas: Vec<Vec<f32>> = adversarial
        .chunks(784)
        .zip(clean.chunks(784))
        .map(|(a, c)| a.iter().zip(c).map(|(a, c)| a - c).collect())
        .collect();
    let linf = deltas
        .iter()
        .map(|d| d.iter().fold(0.0f32, |m, v| m.max(v.abs())))
        .collect();
    let l2 = deltas
        .iter()
        .map(|d| d.iter().map(|v| v * v).sum::<f32>().sqrt())
        .collect();
    (linf, l2)
}

#[test]
fn every_attack_stays_in_the_unit_range_and_inside_its_ball() {
    let model = trained_cnn();
    let classifier = classifier(&model);
    let (images, labels) = mnist_pixels(Split::Test, 32);
    for name in ATTACK_NAMES {
        let attack = light_attack(name);
        let eps_list = match attack.norm() {
            Norm::Linf => [0.05, 0.2],
            Norm::L2 => [0.5, 2.0],
        };
        let results = attack_batch(
            &classifier,
            &attack,
            &images,
            &labels,
            &eps_list,
            &mut seeded_rng(1),
        )
        .unwrap();
        for (result, eps) in results.iter().zip(eps_list) {
            let adversarial = result.adversarial.to_vec();
            assert!(
                adversarial.iter().all(|v| (0.0..=1.0).contains(v)),
                "{name} at ε = {eps}: a pixel outside [0, 1]"
            );
            let (linf, l2) = perturbation_sizes(&images, &result.adversarial);
            let sizes = if attack.norm() == Norm::Linf {
                linf
            } else {
                l2
            };
            let largest = sizes.iter().fold(0.0f32, |m, &s| m.max(s));
            assert!(
                largest <= eps + 1e-5,
                "{name} at ε = {eps}: moved {largest}"
            );
            assert!(
                largest > 0.5 * eps,
                "{name} at ε = {eps}: hardly moved ({largest})"
            );
        }
    }
}

#[test]
fn eps_zero_changes_nothing() {
    let model = trained_cnn();
    let classifier = classifier(&model);
    let (images, labels) = mnist_pixels(Split::Test, 16);
    for name in ATTACK_NAMES {
        let attack = light_attack(name);
        let results = attack_batch(
            &classifier,
            &attack,
            &images,
            &labels,
            &[0.0],
            &mut seeded_rng(2),
        )
        .unwrap();
        assert_eq!(
            results[0].adversarial.to_vec(),
            images.to_vec(),
            "{name} at ε = 0 changed the images"
        );
        if !attack.is_minimal() {
            let direct = attack
                .run(&classifier, &images, &labels, 0.0, &mut seeded_rng(2))
                .unwrap();
            assert_eq!(direct.to_vec(), images.to_vec(), "{name}.run at ε = 0");
        }
    }
}

#[test]
fn pgd_accuracy_falls_with_eps_and_pgd_is_never_weaker_than_fgsm() {
    let model = trained_cnn();
    let classifier = classifier(&model);
    let (images, labels) = mnist_pixels(Split::Test, 200);
    let clean = accuracy(&classifier, &images, &labels);
    assert!(clean > 0.85, "the test model is too weak: {clean}");
    let eps = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3];
    let rng = &mut seeded_rng(3);
    let pgd = Attack::Pgd(PgdConfig {
        steps: 20,
        ..PgdConfig::linf(0.0)
    });
    let pgd_curve = robust_accuracy(&classifier, &pgd, &images, &labels, &eps, 100, rng).unwrap();
    let fgsm_curve =
        robust_accuracy(&classifier, &Attack::Fgsm, &images, &labels, &eps, 100, rng).unwrap();
    let (pgd_acc, fgsm_acc) = (pgd_curve.accuracies(), fgsm_curve.accuracies());
    assert_eq!(pgd_acc[0], clean, "ε = 0 is the clean accuracy");
    assert_eq!(fgsm_acc[0], clean);
    for i in 1..eps.len() {
        assert!(
            pgd_acc[i] <= pgd_acc[i - 1],
            "PGD accuracy rose from ε {} to {}: {pgd_acc:?}",
            eps[i - 1],
            eps[i]
        );
        assert!(
            fgsm_acc[i] <= clean,
            "FGSM above clean accuracy: {fgsm_acc:?}"
        );
        assert!(
            pgd_acc[i] <= fgsm_acc[i],
            "PGD weaker than FGSM at ε = {}: {pgd_acc:?} vs {fgsm_acc:?}",
            eps[i]
        );
    }
    assert!(pgd_acc[6] < 0.05, "PGD-20 at ε = 0.3 leaves {pgd_acc:?}");
    assert!(
        fgsm_acc[6] < 0.6 * clean,
        "FGSM at ε = 0.3 barely hurts: {fgsm_acc:?}"
    );
}

#[test]
fn restarts_only_add_fooled_images() {
    let model = trained_cnn();
    let classifier = classifier(&model);
    let (images, labels) = mnist_pixels(Split::Test, 100);
    let eps = [0.1];
    let single = Attack::Pgd(PgdConfig {
        steps: 2,
        ..PgdConfig::linf(0.0)
    });
    let restarted = Attack::Pgd(PgdConfig {
        steps: 2,
        restarts: 4,
        ..PgdConfig::linf(0.0)
    });
    // The same seed: the first run of the restarted attack is the single run.
    let one = robust_accuracy(
        &classifier,
        &single,
        &images,
        &labels,
        &eps,
        100,
        &mut seeded_rng(4),
    );
    let four = robust_accuracy(
        &classifier,
        &restarted,
        &images,
        &labels,
        &eps,
        100,
        &mut seeded_rng(4),
    );
    let (one, four) = (one.unwrap(), four.unwrap());
    assert_eq!(four.attack, "pgd-2x4");
    assert!(four.correct[0] < one.correct[0], "{four:?} vs {one:?}");
}

#[test]
fn minimal_attacks_fool_the_model_with_small_l2_perturbations() {
    let model = trained_cnn();
    let classifier = classifier(&model);
    let (images, labels) = mnist_pixels(Split::Test, 32);
    let correct = classifier.predict(&images).unwrap().classes;
    for name in ["deepfool", "cw"] {
        let attack = light_attack(name);
        let adversarial = attack
            .run(&classifier, &images, &labels, 0.0, &mut seeded_rng(5))
            .unwrap();
        let predicted = classifier.predict(&adversarial).unwrap().classes;
        let (_, l2) = perturbation_sizes(&images, &adversarial);
        let mut fooled_norms = Vec::new();
        for i in 0..labels.len() {
            if correct[i] == labels[i] && predicted[i] != labels[i] {
                fooled_norms.push(l2[i]);
            }
        }
        let attacked = correct.iter().zip(&labels).filter(|(p, y)| p == y).count();
        assert!(
            fooled_norms.len() as f64 >= 0.9 * attacked as f64,
            "{name} fooled {} of {attacked}",
            fooled_norms.len()
        );
        // A typical MNIST digit has an L2 norm near 9; a minimal perturbation is far smaller.
        fooled_norms.sort_by(f32::total_cmp);
        let median = fooled_norms[fooled_norms.len() / 2];
        assert!(median < 3.0, "{name}: median L2 perturbation {median}");
    }
}

#[test]
fn attacks_leave_the_models_parameters_trainable_and_without_gradients() {
    let model = trained_cnn();
    let classifier = classifier(&model);
    let (images, labels) = mnist_pixels(Split::Test, 8);
    for name in ATTACK_NAMES {
        light_attack(name)
            .run(&classifier, &images, &labels, 0.1, &mut seeded_rng(6))
            .unwrap();
        for (param, t) in model.parameters() {
            assert!(t.requires_grad(), "{name} left {param} frozen");
            assert!(t.grad().is_none(), "{name} left a gradient in {param}");
        }
    }
}

/// The cross-entropy of each image.
fn losses(classifier: &Classifier, images: &Tensor, labels: &[usize]) -> Vec<f32> {
    let logits = classifier.logits(images).unwrap();
    let config = CrossEntropyConfig {
        reduction: Reduction::None,
        ..Default::default()
    };
    cross_entropy(&logits, ClassTarget::Indices(labels), &config)
        .unwrap()
        .to_vec()
}

#[test]
fn pgd_for_training_climbs_every_images_loss_and_restarts_keep_the_highest() {
    let model = trained_cnn();
    let classifier = classifier(&model);
    let (images, labels) = mnist_pixels(Split::Test, 100);
    let clean_losses = losses(&classifier, &images, &labels);
    let wrong: Vec<usize> = (0..labels.len())
        .filter(|&i| classifier.predict(&images).unwrap().classes[i] != labels[i])
        .collect();
    assert!(!wrong.is_empty(), "the test needs a misclassified image");
    let training = PgdConfig {
        steps: 5,
        until_fooled: false,
        ..PgdConfig::linf(0.1)
    };
    let once = pgd(&classifier, &images, &labels, &training, &mut seeded_rng(8)).unwrap();
    let once_losses = losses(&classifier, &once, &labels);
    for i in 0..labels.len() {
        assert!(
            once_losses[i] > clean_losses[i],
            "image {i}: {} → {}",
            clean_losses[i],
            once_losses[i]
        );
    }
    // Evaluation leaves an image the model already gets wrong as it is; training attacks it.
    let evaluation = PgdConfig {
        until_fooled: true,
        ..training
    };
    let kept = pgd(
        &classifier,
        &images,
        &labels,
        &evaluation,
        &mut seeded_rng(8),
    )
    .unwrap();
    let (kept, clean) = (kept.to_vec(), images.to_vec());
    for &i in &wrong {
        assert_eq!(kept[i * 784..(i + 1) * 784], clean[i * 784..(i + 1) * 784]);
    }
    // The same seed: the first of four runs is the single run, so no loss can fall.
    let restarted = PgdConfig {
        restarts: 4,
        ..training
    };
    let best = pgd(
        &classifier,
        &images,
        &labels,
        &restarted,
        &mut seeded_rng(8),
    )
    .unwrap();
    let best_losses = losses(&classifier, &best, &labels);
    assert!(best_losses.iter().zip(&once_losses).all(|(b, o)| b >= o));
    assert!(best_losses.iter().zip(&once_losses).any(|(b, o)| b > o));
}
