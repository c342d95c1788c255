//! The small CIFAR CNN: shapes, parameter count, and that it can fit a small batch.
use convkit_models::{small_cnn, ModelSpec};
use convkit_nn::optim::{Optimizer, Sgd, SgdConfig};
use convkit_nn::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};

fn cifar_spec() -> ModelSpec {
    ModelSpec {
        in_channels: 3,
        num_classes: 10,
        input_size: (32, 32),
    }
}

#[test]
fn shapes_and_parameter_count() {
    let model = small_cnn(&cifar_spec(), true, &mut seeded_rng(0)).unwrap();
    // Convs 3·32·9 + 32·32·9 + 32·64·9 + 64·64·9 + 64·128·9 + 128·128·9 = 286,560; six batch norms
    // 2·(32+32+64+64+128+128) = 896; fc 128·10 + 10 = 1,290.
    assert_eq!(model.num_parameters(), 288_746);
    let x = Tensor::zeros([2, 3, 32, 32]);
    assert_eq!(model.forward(&x, Mode::Eval).unwrap().dims(), [2, 10]);
    let x = Tensor::zeros([1, 3, 8, 12]);
    assert_eq!(model.forward(&x, Mode::Eval).unwrap().dims(), [1, 10]);
    let tiny = ModelSpec {
        input_size: (4, 4),
        ..cifar_spec()
    };
    let Err(err) = small_cnn(&tiny, true, &mut seeded_rng(0)) else {
        panic!("a 4x4 input must be rejected");
    };
    assert!(err.to_string().contains("smaller than 8x8"), "{err}");
}

#[test]
fn without_batch_norm_the_convolutions_get_biases() {
    let model = small_cnn(&cifar_spec(), false, &mut seeded_rng(0)).unwrap();
    // 286,560 conv weights + 32+32+64+64+128+128 = 448 conv biases + 1,290 (fc).
    assert_eq!(model.num_parameters(), 288_298);
    let names: Vec<String> = model.named_tensors().into_iter().map(|(n, _)| n).collect();
    assert!(names.iter().all(|n| !n.contains("running")), "{names:?}");
    assert!(names.contains(&"stage1.0.bias".to_string()));
    let x = Tensor::zeros([2, 3, 32, 32]);
    assert_eq!(model.forward(&x, Mode::Eval).unwrap().dims(), [2, 10]);
}

#[test]
fn overfits_one_batch() {
    let mut rng = seeded_rng(1);
    let model = small_cnn(&cifar_spec(), true, &mut rng).unwrap();
    let x = Tensor::randn([8, 3, 32, 32], &mut rng);
    let labels = [0, 1, 2, 3, 4, 5, 6, 7];
    let config = SgdConfig {
        lr: 0.05,
        momentum: 0.9,
        ..Default::default()
    };
    let mut opt = Sgd::new(model.parameters(), config).unwrap();
    let mut losses = Vec::new();
    for _ in 0..40 {
        let loss = model
            .forward(&x, Mode::Train)
            .unwrap()
            .cross_entropy(&labels)
            .unwrap();
        losses.push(loss.item());
        opt.zero_grad();
        loss.backward().unwrap();
        opt.step().unwrap();
    }
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(last <= 0.1 * first, "loss {first} -> {last}");
}
