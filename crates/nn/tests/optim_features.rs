//! Parameter groups, gradient clipping and resuming every optimiser from a checkpoint.
use convkit_nn::checkpoint::{self, Checkpoint, CheckpointMeta};
use convkit_nn::layers::{Linear, LinearConfig, ReLU, Sequential};
use convkit_nn::optim::{
    clip_grad_norm, clip_grad_value, no_decay_on_biases_and_norms, Adagrad, AdagradConfig, Adam,
    AdamConfig, Optimizer, ParamGroup, RmsProp, RmsPropConfig, Sgd, SgdConfig,
};
use convkit_nn::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};

fn tensor(values: &[f32]) -> Tensor {
    Tensor::from_vec(values.to_vec(), [values.len()])
        .unwrap()
        .with_grad()
}

/// Gives each parameter the gradient `g` (d(sum(p·g))/dp = g).
fn set_grad(p: &Tensor, g: &[f32]) {
    p.zero_grad();
    p.mul(&Tensor::from_vec(g.to_vec(), p.dims()).unwrap())
        .unwrap()
        .sum()
        .backward()
        .unwrap();
}

#[test]
fn groups_scale_the_learning_rate_and_override_weight_decay() {
    let (backbone, head) = (tensor(&[1.0, 2.0]), tensor(&[1.0, 2.0]));
    let groups = vec![
        ParamGroup::new(vec![("backbone".into(), backbone.clone())])
            .lr_scale(0.1)
            .weight_decay(0.0),
        ParamGroup::new(vec![("head".into(), head.clone())]),
    ];
    let config = SgdConfig {
        lr: 0.5,
        weight_decay: 0.1,
        ..Default::default()
    };
    let mut sgd = Sgd::with_groups(groups, config).unwrap();
    set_grad(&backbone, &[1.0, 1.0]);
    set_grad(&head, &[1.0, 1.0]);
    sgd.step().unwrap();
    // backbone: p − 0.05·g; head: p − 0.5·(g + 0.1·p).
    assert_eq!(backbone.to_vec(), vec![0.95, 1.95]);
    let head = head.to_vec();
    assert!(
        (head[0] - 0.45).abs() < 1e-6 && (head[1] - 1.4).abs() < 1e-6,
        "{head:?}"
    );
    // A schedule setting the optimiser's lr moves both groups.
    sgd.set_lr(1.0);
    set_grad(&backbone, &[1.0, 1.0]);
    sgd.step().unwrap();
    assert!((backbone.to_vec()[0] - 0.85).abs() < 1e-6);

    let bad = vec![ParamGroup::new(vec![("x".into(), tensor(&[1.0]))]).lr_scale(-1.0)];
    let err = Sgd::with_groups(bad, config).err().unwrap().to_string();
    assert!(err.contains("parameter group 0: lr_scale"), "{err}");
    let x = tensor(&[1.0]);
    let twice = vec![
        ParamGroup::new(vec![("x".into(), x.clone())]),
        ParamGroup::new(vec![("x".into(), x)]),
    ];
    assert!(Sgd::with_groups(twice, config)
        .err()
        .unwrap()
        .to_string()
        .contains("listed twice"));
}

#[test]
fn no_decay_split_puts_vectors_apart() {
    let mut rng = seeded_rng(0);
    let model = Linear::new(3, 2, LinearConfig::default(), &mut rng).unwrap();
    let groups = no_decay_on_biases_and_norms(model.parameters());
    let names: Vec<Vec<&str>> = groups
        .iter()
        .map(|g| g.params.iter().map(|(n, _)| n.as_str()).collect())
        .collect();
    assert_eq!(names, [vec!["weight"], vec!["bias"]]);
    assert_eq!(
        (groups[0].weight_decay, groups[1].weight_decay),
        (None, Some(0.0))
    );
}

#[test]
fn clipping_by_norm_and_by_value() {
    let (a, b, none) = (tensor(&[3.0, 0.0]), tensor(&[0.0, 4.0]), tensor(&[9.0]));
    set_grad(&a, &[3.0, 0.0]);
    set_grad(&b, &[0.0, -4.0]);
    let params = vec![
        ("a".into(), a.clone()),
        ("b".into(), b.clone()),
        ("n".into(), none),
    ];
    let total = clip_grad_norm(&params, 1.0, 2.0).unwrap();
    assert_eq!(total, 5.0);
    let (ga, gb) = (a.grad().unwrap().to_vec(), b.grad().unwrap().to_vec());
    let norm = (ga[0] * ga[0] + gb[1] * gb[1]).sqrt();
    assert!(
        (norm - 1.0).abs() < 1e-5 && ga[0] > 0.0 && gb[1] < 0.0,
        "{ga:?} {gb:?}"
    );
    // Below the threshold nothing changes; the max-norm is the largest |g|.
    assert!((clip_grad_norm(&params, 10.0, f32::INFINITY).unwrap() - 0.8).abs() < 1e-5);
    assert!((a.grad().unwrap().to_vec()[0] - 0.6).abs() < 1e-5);
    set_grad(&a, &[0.5, -3.0]);
    clip_grad_value(&params, 1.0).unwrap();
    assert_eq!(a.grad().unwrap().to_vec(), vec![0.5, -1.0]);
    assert!(clip_grad_value(&params, -1.0).is_err());
    set_grad(&a, &[f32::NAN, 0.0]);
    let err = clip_grad_norm(&params, 1.0, 2.0).unwrap_err().to_string();
    assert!(
        err.contains("clip_grad_norm") && err.contains("NaN"),
        "{err}"
    );
}

type MakeOptimizer = fn(Vec<(String, Tensor)>) -> Box<dyn Optimizer>;

fn model(seed: u64) -> Sequential {
    let mut rng = seeded_rng(seed);
    Sequential::new(vec![
        Box::new(Linear::new(4, 6, LinearConfig::default(), &mut rng).unwrap()),
        Box::new(ReLU),
        Box::new(Linear::new(6, 3, LinearConfig::default(), &mut rng).unwrap()),
    ])
}

fn train_step(model: &Sequential, opt: &mut dyn Optimizer, step: u64) -> f32 {
    let x = Tensor::randn([5, 4], &mut seeded_rng(100 + step));
    let loss = model
        .forward(&x, Mode::Train)
        .unwrap()
        .cross_entropy(&[0, 1, 2, 1, 0])
        .unwrap();
    opt.zero_grad();
    loss.backward().unwrap();
    opt.step().unwrap();
    loss.item()
}

/// Train k steps, save, load into a fresh model and optimiser, continue: identical to uninterrupted.
#[test]
fn every_optimizer_resumes_exactly_from_a_checkpoint() {
    let makers: [(&str, MakeOptimizer); 5] = [
        ("sgd", |p| {
            let c = SgdConfig {
                lr: 0.1,
                momentum: 0.9,
                nesterov: true,
                weight_decay: 1e-3,
                ..Default::default()
            };
            Box::new(Sgd::with_groups(no_decay_on_biases_and_norms(p), c).unwrap())
        }),
        ("adam", |p| {
            let c = AdamConfig {
                lr: 0.01,
                amsgrad: true,
                ..Default::default()
            };
            Box::new(Adam::new(p, c).unwrap())
        }),
        ("adamw", |p| {
            Box::new(Adam::new(p, AdamConfig::adamw()).unwrap())
        }),
        ("rmsprop", |p| {
            let c = RmsPropConfig {
                momentum: 0.5,
                centered: true,
                ..Default::default()
            };
            Box::new(RmsProp::new(p, c).unwrap())
        }),
        ("adagrad", |p| {
            let c = AdagradConfig {
                lr_decay: 0.1,
                initial_accumulator_value: 0.1,
                ..Default::default()
            };
            Box::new(Adagrad::new(p, c).unwrap())
        }),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, make) in makers {
        let (k, total) = (3, 6);
        let straight = model(1);
        let mut opt = make(straight.parameters());
        let losses: Vec<f32> = (0..total)
            .map(|s| train_step(&straight, opt.as_mut(), s))
            .collect();

        let first = model(1);
        let mut opt = make(first.parameters());
        (0..k).for_each(|s| {
            train_step(&first, opt.as_mut(), s);
        });
        let path = dir.path().join(format!("{name}.safetensors"));
        checkpoint::save(
            &path,
            &first,
            &CheckpointMeta::new("mlp"),
            Some(opt.as_ref()),
        )
        .unwrap();

        let resumed = model(2);
        let mut opt = make(resumed.parameters());
        let ckpt = Checkpoint::load(&path).unwrap();
        ckpt.load_into(&resumed).unwrap();
        ckpt.load_optimizer(opt.as_mut()).unwrap();
        let rest: Vec<f32> = (k..total)
            .map(|s| train_step(&resumed, opt.as_mut(), s))
            .collect();
        assert_eq!(rest, losses[k as usize..], "{name}: resumed losses differ");
        for ((n, a), (_, b)) in straight.parameters().iter().zip(resumed.parameters()) {
            assert_eq!(a.to_vec(), b.to_vec(), "{name}: parameter {n} differs");
        }
    }
}
