//! Fused inference (`FusedModel`) against the unfused eval-mode forward: what fuses, equal
//! outputs within 1e-5 of the output's scale, the model left untouched, and the errors of chains
//! that do not describe a forward.
use convkit_nn::fusion::FusedModel;
use convkit_nn::layers::{
    BatchNorm1d, BatchNorm2d, BatchNormConfig, Conv2d, Conv2dConfig, Flatten, Linear, LinearConfig,
    MaxPool2d, MaxPool2dConfig, ReLU, ReLU6, Sequential,
};
use convkit_nn::{ForwardPass, Mode, Module, Result};
use convkit_tensor::{seeded_rng, ConvRng, Tensor};
use rand::Rng;
use std::any::Any;

/// Random affine parameters and running statistics in every batch norm, so that folding has
/// something to fold.
fn randomise_norms(model: &dyn Module, rng: &mut ConvRng) {
    for (_, module) in model.named_modules() {
        let any = module as &dyn Any;
        let tensors = match (
            any.downcast_ref::<BatchNorm2d>(),
            any.downcast_ref::<BatchNorm1d>(),
        ) {
            (Some(bn), _) => [bn.running_mean(), bn.running_var(), bn.weight(), bn.bias()],
            (_, Some(bn)) => [bn.running_mean(), bn.running_var(), bn.weight(), bn.bias()],
            _ => continue,
        };
        for (i, t) in tensors.into_iter().enumerate() {
            let (lo, hi) = if i == 1 { (0.2, 3.0) } else { (-1.0, 1.0) };
            if let Some(t) = t {
                t.data_mut()
                    .iter_mut()
                    .for_each(|v| *v = rng.random_range(lo..hi));
            }
        }
    }
}

fn conv(c_in: usize, c_out: usize, bias: bool, rng: &mut ConvRng) -> Conv2d {
    let config = Conv2dConfig {
        padding: (1, 1),
        bias,
        ..Default::default()
    };
    Conv2d::new(c_in, c_out, (3, 3), config, rng).unwrap()
}

fn bn2(c: usize) -> BatchNorm2d {
    BatchNorm2d::new(c, BatchNormConfig::default()).unwrap()
}

/// Asserts `|fused − unfused| ≤ 1e-5 · max|unfused|` and returns the fused model's fusions.
fn assert_fuses_exactly(model: &dyn Module, x: &Tensor) -> Vec<String> {
    let before: Vec<Vec<f32>> = model
        .named_tensors()
        .iter()
        .map(|(_, t)| t.to_vec())
        .collect();
    let unfused = model.forward(x, Mode::Eval).unwrap().to_vec();
    let fused_model = FusedModel::new(model).unwrap();
    let fused = fused_model.forward(x).unwrap().to_vec();
    let scale = unfused.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0);
    for (i, (a, b)) in fused.iter().zip(&unfused).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * scale,
            "{i}: {a} vs {b} (scale {scale})"
        );
    }
    let after: Vec<Vec<f32>> = model
        .named_tensors()
        .iter()
        .map(|(_, t)| t.to_vec())
        .collect();
    assert!(before == after, "fusion changed the model's tensors");
    fused_model.fusions()
}

#[test]
fn conv_bn_relu_linear_bn_and_bare_activations_fuse() {
    let mut rng = seeded_rng(1);
    let model = Sequential::new(vec![
        Box::new(conv(3, 6, false, &mut rng)),
        Box::new(bn2(6)),
        Box::new(ReLU),
        Box::new(conv(6, 4, true, &mut rng)),
        Box::new(ReLU6),
        Box::new(MaxPool2d::new((2, 2), MaxPool2dConfig::default()).unwrap()),
        Box::new(conv(4, 4, true, &mut rng)),
        Box::new(bn2(4)),
        Box::new(Flatten::default()),
        Box::new(Linear::new(64, 10, LinearConfig { bias: false }, &mut rng).unwrap()),
        Box::new(BatchNorm1d::new(10, BatchNormConfig::default()).unwrap()),
        Box::new(ReLU),
        Box::new(Linear::new(10, 3, LinearConfig::default(), &mut rng).unwrap()),
    ]);
    randomise_norms(&model, &mut rng);
    let x = Tensor::randn([3, 3, 8, 8], &mut rng);
    assert_eq!(
        assert_fuses_exactly(&model, &x),
        ["0 + 1 + 2", "3 + 4", "6 + 7", "9 + 10 + 11"]
    );
    // Batch size 1 and a batch norm that is the last layer.
    let x1 = Tensor::randn([1, 3, 8, 8], &mut rng);
    assert_fuses_exactly(&model, &x1);
}

#[test]
fn batch_norms_without_running_statistics_stay_unfolded() {
    let mut rng = seeded_rng(2);
    let untracked = BatchNormConfig {
        track_running_stats: false,
        ..Default::default()
    };
    let model = Sequential::new(vec![
        Box::new(conv(2, 3, true, &mut rng)),
        Box::new(BatchNorm2d::new(3, untracked).unwrap()),
        Box::new(ReLU),
        Box::new(conv(3, 3, true, &mut rng)),
    ]);
    let x = Tensor::randn([4, 2, 5, 5], &mut rng);
    assert!(assert_fuses_exactly(&model, &x).is_empty());
}

/// A residual block like ResNet's bottleneck: one ReLU called three times under one name, the
/// last time on the sum, which is not a fused output.
struct Residual {
    conv1: Conv2d,
    bn1: BatchNorm2d,
    conv2: Conv2d,
    bn2: BatchNorm2d,
    chains: Vec<Vec<&'static str>>,
}

impl Module for Residual {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> Result<Tensor> {
        let out = pass.call("conv1", &self.conv1, x)?;
        let out = pass.call("bn1", &self.bn1, &out)?;
        let out = pass.call("relu", &ReLU, &out)?;
        let out = pass.call("conv2", &self.conv2, &out)?;
        let out = pass.call("bn2", &self.bn2, &out)?;
        let out = pass.call("relu", &ReLU, &out)?;
        pass.call("relu", &ReLU, &out.add(x)?)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        vec![
            ("conv1", &self.conv1),
            ("bn1", &self.bn1),
            ("conv2", &self.conv2),
            ("bn2", &self.bn2),
            ("relu", &ReLU),
        ]
    }

    fn fusable_chains(&self) -> Vec<Vec<&str>> {
        self.chains.clone()
    }
}

fn residual(chains: &[&[&'static str]], rng: &mut ConvRng) -> Sequential {
    let block = Residual {
        conv1: conv(4, 4, false, rng),
        bn1: bn2(4),
        conv2: conv(4, 4, false, rng),
        bn2: bn2(4),
        chains: chains.iter().map(|c| c.to_vec()).collect(),
    };
    let model = Sequential::named(vec![("block".into(), Box::new(block) as Box<dyn Module>)]);
    let model = model.unwrap();
    randomise_norms(&model, rng);
    model
}

#[test]
fn a_block_fuses_what_its_chains_declare() {
    let mut rng = seeded_rng(3);
    let x = Tensor::randn([2, 4, 6, 6], &mut rng);
    let chain: &[&str] = &["conv1", "bn1", "relu", "conv2", "bn2", "relu"];
    let model = residual(&[chain], &mut rng);
    assert_eq!(
        assert_fuses_exactly(&model, &x),
        [
            "block.conv1 + block.bn1 + block.relu",
            "block.conv2 + block.bn2 + block.relu"
        ]
    );
    // Without a declaration nothing inside the block fuses.
    assert!(assert_fuses_exactly(&residual(&[], &mut rng), &x).is_empty());
}

#[test]
fn chains_that_do_not_describe_the_forward_are_errors() {
    let mut rng = seeded_rng(4);
    let x = Tensor::randn([1, 4, 5, 5], &mut rng);
    // bn1 declared right after conv2: the forward calls bn2 on conv2's output instead.
    let wrong: &[&str] = &["conv2", "bn1"];
    let err = FusedModel::new(&residual(&[wrong], &mut rng))
        .unwrap()
        .forward(&x)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'block.bn1' was folded") && err.contains("'block.bn2'"),
        "{err}"
    );
    let unknown: &[&str] = &["conv1", "norm1"];
    let err = FusedModel::new(&residual(&[unknown], &mut rng))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("'norm1', which is not one of its children"),
        "{err}"
    );
}
