//! FGSM and BIM against PyTorch (tests/fixtures/gen_fgsm.py): the same CNN, weights, MNIST
//! digits and normalisation give the same input gradient and the same adversarial images to 1e-6.
mod common;

use common::{classifier, small_cnn};
use convkit_attack::{fgsm, pgd, Classifier, FgsmConfig, PgdConfig};
use convkit_nn::Module;
use convkit_tensor::{seeded_rng, Tensor};
use convkit_testkit::{assert_close, Case, TensorFile};

fn fixture() -> TensorFile {
    TensorFile::load("fgsm.safetensors").unwrap()
}

fn tensor<'a>(file: &'a TensorFile, name: &str) -> &'a Tensor {
    file.tensors
        .get(name)
        .unwrap_or_else(|| panic!("fixture has no {name}"))
}

/// The CNN with PyTorch's weights.
fn model_with_fixture_weights(file: &TensorFile) -> impl Module {
    let model = small_cnn(None);
    for (name, param) in model.parameters() {
        let reference = tensor(file, &format!("param.{name}"));
        assert_eq!(param.dims(), reference.dims(), "{name}");
        param.data_mut().copy_from_slice(&reference.data());
    }
    model
}

fn labels(file: &TensorFile) -> Vec<usize> {
    tensor(file, "labels")
        .data()
        .iter()
        .map(|&l| l as usize)
        .collect()
}

fn case(file: &TensorFile, name: &str) -> Case {
    file.cases()
        .unwrap()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("fixture has no case {name}"))
}

/// The summed cross-entropy's gradient at `images`, through convkit's autodiff.
fn input_gradient(classifier: &Classifier, images: &Tensor, labels: &[usize]) -> Vec<f32> {
    let x = Tensor::from_vec(images.to_vec(), images.dims())
        .unwrap()
        .with_grad();
    let logits = classifier.logits(&x).unwrap();
    let loss = logits
        .cross_entropy(labels)
        .unwrap()
        .mul_scalar(labels.len() as f32);
    loss.backward().unwrap();
    x.grad().unwrap().to_vec()
}

#[test]
fn fgsm_matches_pytorch() {
    let file = fixture();
    let model = model_with_fixture_weights(&file);
    let classifier = classifier(&model);
    let (images, labels, fgsm_case) = (tensor(&file, "images"), labels(&file), case(&file, "fgsm"));
    let grad = input_gradient(&classifier, images, &labels);
    let expected_grad = fgsm_case.tensor("grad_input").unwrap().to_vec();
    assert_close("input gradient", &grad, &expected_grad, 1e-7, 1e-3).unwrap();
    let eps = fgsm_case.f32("eps").unwrap();
    let adversarial = fgsm(&classifier, images, &labels, &FgsmConfig { eps }).unwrap();
    let expected = fgsm_case.tensor("adversarial").unwrap().to_vec();
    assert_close(
        "fgsm adversarial",
        &adversarial.to_vec(),
        &expected,
        1e-6,
        0.0,
    )
    .unwrap();
    // Not vacuous: most pixels moved by ε, and the clamp to [0, 1] bit on the background.
    let clean = images.to_vec();
    let moved = expected
        .iter()
        .zip(&clean)
        .filter(|(a, c)| (*a - *c).abs() > 0.2)
        .count();
    assert!(moved > expected.len() / 3, "{moved} pixels moved");
    assert!(clean
        .iter()
        .zip(&expected)
        .any(|(&c, &a)| c == 0.0 && a == 0.0));
}

#[test]
fn bim_matches_pytorch_step_for_step() {
    let file = fixture();
    let model = model_with_fixture_weights(&file);
    let classifier = classifier(&model);
    let (images, labels, bim) = (tensor(&file, "images"), labels(&file), case(&file, "bim"));
    let training = PgdConfig {
        eps: bim.f32("eps").unwrap(),
        alpha: bim.f32("alpha"),
        steps: bim.config["steps"].as_u64().unwrap() as usize,
        random_start: false,
        until_fooled: false,
        ..PgdConfig::default()
    };
    let expected = bim.tensor("adversarial").unwrap().to_vec();
    // Every image takes every step and the last iterate comes back, as in PyTorch's loop.
    let last = pgd(&classifier, images, &labels, &training, &mut seeded_rng(0)).unwrap();
    assert_close("bim adversarial", &last.to_vec(), &expected, 1e-6, 0.0).unwrap();

    // For evaluation the last iterate comes back too wherever it fools the model.
    let evaluation = PgdConfig {
        until_fooled: true,
        ..training
    };
    let adversarial = pgd(
        &classifier,
        images,
        &labels,
        &evaluation,
        &mut seeded_rng(0),
    )
    .unwrap();
    let theirs = classifier.predict(&last).unwrap().classes;
    let mut compared = 0;
    for i in (0..labels.len()).filter(|&i| theirs[i] != labels[i]) {
        let range = i * 784..(i + 1) * 784;
        assert_close(
            &format!("bim adversarial image {i} (evaluation)"),
            &adversarial.to_vec()[range.clone()],
            &expected[range],
            1e-6,
            0.0,
        )
        .unwrap();
        compared += 1;
    }
    assert!(compared >= 4, "only {compared} images fooled by BIM");
}
