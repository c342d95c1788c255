//! The CIFAR ResNets of He et al. §4.2 (option A and B shortcuts) and their plain counterparts:
//! exact parameter counts, option A's parameter-free shortcut, shapes, overfitting a small batch.
mod traced;
mod zoo_common;

use convkit_models::{build_model, cifar_resnet, CifarResNetConfig, ShortcutKind};
use convkit_nn::optim::{Adam, AdamConfig};
use convkit_nn::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};
use zoo_common::{assert_overfits, assert_zero_inits, output_dims, spec};

fn build(name: &str, classes: usize) -> Box<dyn Module> {
    build_model(name, &spec(3, 32, classes), &mut seeded_rng(0)).unwrap()
}

fn names(model: &dyn Module) -> Vec<String> {
    model.parameters().into_iter().map(|(n, _)| n).collect()
}

#[test]
fn parameter_counts_match_pytorch() {
    // Counted with PyTorch (torch 2.15) on the same networks: option A has no shortcut
    // parameters, so the plain networks count the same; option B adds two 1×1 projections + BN.
    let expected = [
        (20, 269_722, 272_474),
        (32, 464_154, 466_906),
        (44, 658_586, 661_338),
        (56, 853_018, 855_770),
        (110, 1_727_962, 1_730_714),
    ];
    for (depth, a, b) in expected {
        assert_eq!(build(&format!("resnet{depth}"), 10).num_parameters(), a);
        assert_eq!(build(&format!("plain{depth}"), 10).num_parameters(), a);
        assert_eq!(build(&format!("resnet{depth}-b"), 10).num_parameters(), b);
    }
}

#[test]
fn zero_init_residual_zeroes_the_last_norm_of_each_block() {
    assert_zero_inits(build("resnet20", 10).as_ref(), "bn2", 9);
    assert_zero_inits(build("resnet56-b", 10).as_ref(), "bn2", 27);
    // A plain network's blocks have no shortcut to start as.
    let err = convkit_models::zero_init_residual(build("plain20", 10).as_ref()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "zero_init_residual: the model has no residual block with a shortcut and an affine batch norm"
    );
}

#[test]
fn output_shapes() {
    for name in ["resnet20", "resnet20-b", "plain20", "resnet56"] {
        assert_eq!(
            output_dims(build(name, 10).as_ref(), 2, &spec(3, 32, 10)),
            [2, 10]
        );
    }
    let s = spec(3, 224, 100);
    let model = build_model("resnet20", &s, &mut seeded_rng(0)).unwrap();
    assert_eq!(output_dims(model.as_ref(), 1, &s), [1, 100]);
}

#[test]
fn shortcuts_by_option() {
    let a = names(build("resnet20", 10).as_ref());
    assert!(!a.iter().any(|n| n.contains("downsample")));
    assert_eq!(a[0], "conv1.weight");
    assert!(a.contains(&"layer3.2.bn2.bias".to_string()));
    let b = build("resnet20-b", 10);
    let projections: Vec<_> = b
        .parameters()
        .into_iter()
        .filter(|(n, _)| n.contains("downsample.0"))
        .map(|(n, t)| (n, t.dims().to_vec()))
        .collect();
    assert_eq!(
        projections,
        [
            (
                "layer2.0.downsample.0.weight".to_string(),
                vec![32, 16, 1, 1]
            ),
            (
                "layer3.0.downsample.0.weight".to_string(),
                vec![64, 32, 1, 1]
            ),
        ]
    );
    let text = build("resnet20", 10).describe();
    assert!(
        text.contains("(downsample): ZeroPadShortcut(stride=2, in_channels=16, out_channels=32)"),
        "{text}"
    );
    assert!(!build("plain20", 10).describe().contains("downsample"));
}

#[test]
fn option_a_shortcut_subsamples_and_zero_pads() {
    // Zero every weight of the first block of layer2: its residual branch gives 0, so after the
    // final ReLU the block returns relu(shortcut(x)) = the stride-2 samples of x, then zeros.
    let model = cifar_resnet(
        &CifarResNetConfig {
            depth: 8,
            shortcut: ShortcutKind::ZeroPad,
        },
        &spec(3, 8, 10),
        &mut seeded_rng(0),
    )
    .unwrap();
    for (name, t) in model.parameters() {
        if name.starts_with("layer2.0.") {
            t.data_mut().fill(0.0);
        }
    }
    let x = Tensor::randn([1, 3, 8, 8], &mut seeded_rng(1));
    let (_, records) = convkit_nn::trace::trace(&model, &x, Mode::Eval).unwrap();
    let output = |name: &str| {
        records
            .iter()
            .find(|r| r.name == name)
            .unwrap()
            .output
            .clone()
    };
    let input = output("layer1").to_vec(); // [1, 16, 8, 8], non-negative after ReLU
    let block = output("layer2.0");
    assert_eq!(block.dims(), [1, 32, 4, 4]);
    let y = block.to_vec();
    for c in 0..32 {
        for i in 0..4 {
            for j in 0..4 {
                let expected = if c < 16 {
                    input[c * 64 + 2 * i * 8 + 2 * j]
                } else {
                    0.0
                };
                assert_eq!(y[c * 16 + i * 4 + j], expected, "channel {c} ({i}, {j})");
            }
        }
    }
}

#[test]
fn he_init_and_bad_depths() {
    let model = build("resnet56", 10);
    let w = model
        .parameters()
        .into_iter()
        .find(|(n, _)| n == "layer3.4.conv1.weight");
    let w = w.unwrap().1.to_vec(); // fan_in = 64·9
    let std = (w.iter().map(|x| x * x).sum::<f32>() / w.len() as f32).sqrt();
    let expected = (2.0f32 / 576.0).sqrt();
    assert!(
        (std / expected - 1.0).abs() < 0.03,
        "std {std} vs {expected}"
    );
    for depth in [0, 2, 21] {
        let config = CifarResNetConfig {
            depth,
            shortcut: ShortcutKind::ZeroPad,
        };
        let err = cifar_resnet(&config, &spec(3, 32, 10), &mut seeded_rng(0))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("depth must be 6n + 2 with n ≥ 1"), "{err}");
    }
}

#[test]
fn overfit_a_small_batch() {
    for name in ["resnet20", "resnet20-b", "plain20"] {
        let s = spec(3, 32, 4);
        let model = build(name, 4);
        let mut opt = Adam::new(model.parameters(), AdamConfig::default()).unwrap();
        assert_overfits(model.as_ref(), &mut opt, &s, (4, 40), Mode::Train);
    }
}

#[test]
fn every_layer_is_traced() {
    for name in ["resnet20", "resnet20-b", "plain20"] {
        traced::assert_every_layer_traced(build(name, 10).as_ref(), &spec(3, 32, 10));
    }
}
