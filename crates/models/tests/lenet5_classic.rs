//! Classic LeNet-5 (tanh / sigmoid, average pooling): shapes, parameters, overfitting one batch.
mod zoo_common;

use convkit_models::{build_model, lenet5_classic};
use convkit_nn::optim::{Adam, AdamConfig};
use convkit_nn::Module;
use convkit_tensor::{seeded_rng, Activation};
use zoo_common::{assert_overfits, output_dims, spec};

#[test]
fn mnist_geometry_and_parameters() {
    let spec = spec(1, 28, 10);
    let model = build_model("lenet5-classic", &spec, &mut seeded_rng(0)).unwrap();
    assert_eq!(output_dims(model.as_ref(), 2, &spec), [2, 10]);
    // d2l's LeNet in PyTorch: 156 + 2,416 + 48,120 + 10,164 + 850.
    assert_eq!(model.num_parameters(), 61_706);
    let names: Vec<_> = model.parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names[0], "conv1.weight");
    assert_eq!(names[9], "fc3.bias");
    // 16·5·5 features reach fc1, the paper's 32×32 geometry.
    assert_eq!(model.parameters()[4].1.dims(), [120, 400]);
}

#[test]
fn cifar_input_and_too_small_input() {
    let spec32 = spec(3, 32, 10);
    let model = build_model("lenet5-classic-sigmoid", &spec32, &mut seeded_rng(0)).unwrap();
    assert_eq!(output_dims(model.as_ref(), 1, &spec32), [1, 10]);
    assert_eq!(model.parameters()[4].1.dims(), [120, 16 * 6 * 6]);
    assert!(model.describe().contains("Sigmoid"), "{}", model.describe());
    let err = build_model("lenet5-classic", &spec(1, 11, 10), &mut seeded_rng(0))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "lenet5-classic: input 11x11 is too small: the minimum is 12x12"
    );
}

#[test]
fn overfits_one_batch() {
    for activation in [Activation::Tanh, Activation::Sigmoid] {
        let spec = spec(1, 28, 4);
        let model = lenet5_classic(activation, &spec, &mut seeded_rng(1)).unwrap();
        let config = AdamConfig {
            lr: 0.005,
            ..Default::default()
        };
        let mut opt = Adam::new(model.parameters(), config).unwrap();
        assert_overfits(&model, &mut opt, &spec, 8, 60);
    }
}
