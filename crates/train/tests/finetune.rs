//! Fine-tuning: frozen parameters and the body's batch-norm statistics stay byte-identical (also
//! after unfreezing), `train_bn` trains them, frozen layers get no gradient work, the head follows
//! the class count, a linear probe equals fine-tuning with a frozen body, and bad input is named.
use convkit_models::{build_model, ModelSpec};
use convkit_nn::io::write_safetensors;
use convkit_nn::{ForwardPass, Mode, ModuleCall};
use convkit_tensor::seeded_rng;
use convkit_train::callback::EpochEnd;
use convkit_train::config::FinetuneConfig;
use convkit_train::{Callback, Control, TrainConfig, Trainer};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

type Bits = Vec<(String, Vec<u32>)>;

fn bits(tensors: &[(String, convkit_tensor::Tensor)]) -> Bits {
    tensors
        .iter()
        .map(|(n, t)| (n.clone(), t.to_vec().iter().map(|x| x.to_bits()).collect()))
        .collect()
}

/// A "pretrained" small CNN for MNIST's 10 classes, with batch-norm statistics of its own (small
/// means, variances above 1, a batch count), saved as a PyTorch-style safetensors state_dict.
fn pretrained(dir: &Path) -> (PathBuf, Bits) {
    let model = build_model("smallcnn", &ModelSpec::MNIST, &mut seeded_rng(1)).unwrap();
    for (name, t) in model.buffers() {
        let values: Vec<f32> = (0..t.numel())
            .map(|i| match name.rsplit('.').next() {
                Some("running_mean") => 0.01 * (i % 5) as f32 - 0.02,
                Some("running_var") => 1.0 + 0.1 * (i % 3) as f32,
                _ => 7.0,
            })
            .collect();
        t.data_mut().copy_from_slice(&values);
    }
    let path = dir.join("pretrained.safetensors");
    write_safetensors(&path, &model.named_tensors(), HashMap::new()).unwrap();
    (path, bits(&model.named_tensors()))
}

/// Fine-tuning the small CNN on 200 MNIST images of digits 5-9.
fn run(dir: &Path, from: &Path, finetune: FinetuneConfig, epochs: usize) -> TrainConfig {
    let mut config = TrainConfig {
        model: "smallcnn".into(),
        epochs,
        batch_size: Some(25),
        seed: 3,
        out_dir: dir.to_path_buf(),
        evaluate_test: false,
        finetune: Some(FinetuneConfig {
            from: from.to_path_buf(),
            ..finetune
        }),
        ..TrainConfig::default()
    };
    config.data.classes = Some(vec![5, 6, 7, 8, 9]);
    config.data.train_limit = Some(200);
    config
}

/// The model's tensors at the end of each epoch.
struct Snapshots(Arc<Mutex<Vec<Bits>>>);

impl Callback for Snapshots {
    fn on_epoch_end(&mut self, e: &EpochEnd) -> convkit_train::Result<Control> {
        self.0.lock().unwrap().push(bits(&e.model.named_tensors()));
        Ok(Control::Continue)
    }
}

/// Fits `config` and returns the tensors after each epoch.
fn fit(config: TrainConfig) -> Vec<Bits> {
    let snapshots = Arc::new(Mutex::new(Vec::new()));
    let mut trainer = Trainer::new(config).unwrap();
    trainer.add_callback(Snapshots(snapshots.clone()));
    trainer.fit().unwrap();
    let taken = snapshots.lock().unwrap().clone();
    taken
}

fn tensor<'a>(all: &'a Bits, name: &str) -> &'a [u32] {
    &all.iter().find(|(n, _)| n == name).unwrap().1
}

fn is_running_stat(name: &str) -> bool {
    name.contains("running_") || name.ends_with("num_batches_tracked")
}

#[test]
fn frozen_parameters_and_body_statistics_stay_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (from, original) = pretrained(dir.path());
    let finetune = FinetuneConfig {
        freeze_epochs: Some(1),
        freeze_until: Some("stage3".into()),
        lr_mult: Some(10.0),
        ..Default::default()
    };
    let epochs = fit(run(dir.path(), &from, finetune, 2));
    let (frozen_phase, unfrozen) = (&epochs[0], &epochs[1]);
    for (name, values) in &original {
        let head = name.starts_with("fc.");
        if head {
            continue;
        }
        // The whole body after the head-only epoch; the part before stage3 and every batch
        // norm's statistics (Keras's inference mode) after the unfrozen one too.
        assert_eq!(tensor(frozen_phase, name), &values[..], "epoch 1: {name}");
        if !name.starts_with("stage3") || is_running_stat(name) {
            assert_eq!(tensor(unfrozen, name), &values[..], "epoch 2: {name}");
        } else {
            assert_ne!(tensor(unfrozen, name), &values[..], "epoch 2 trains {name}");
        }
    }
    // The head was re-made for the five classes and trained.
    assert_eq!(tensor(unfrozen, "fc.weight").len(), 5 * 128);
    assert_ne!(tensor(frozen_phase, "fc.bias"), tensor(unfrozen, "fc.bias"));
}

#[test]
fn train_bn_trains_the_statistics_and_affine_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let (from, original) = pretrained(dir.path());
    let finetune = FinetuneConfig {
        freeze_epochs: Some(1),
        freeze_until: Some("stage3".into()),
        train_bn: true,
        ..Default::default()
    };
    let epochs = fit(run(dir.path(), &from, finetune, 1));
    let after = &epochs[0];
    // stage1.1 is a batch norm inside the frozen prefix: with train_bn it trains all the same.
    for name in [
        "stage1.1.running_mean",
        "stage1.1.running_var",
        "stage1.1.weight",
    ] {
        assert_ne!(tensor(after, name), tensor(&original, name), "{name}");
    }
    assert_eq!(
        tensor(after, "stage1.0.weight"),
        tensor(&original, "stage1.0.weight")
    );
}

#[test]
fn frozen_layers_get_no_gradient_work() {
    let dir = tempfile::tempdir().unwrap();
    let (from, _) = pretrained(dir.path());
    for (freeze_until, first_trained) in [(None, "fc"), (Some("stage3"), "stage3")] {
        let finetune = FinetuneConfig {
            freeze_until: freeze_until.map(String::from),
            ..Default::default()
        };
        let trainer = Trainer::new(run(dir.path(), &from, finetune, 2)).unwrap();
        let model = trainer.model();
        let plan = trainer.finetune_plan().unwrap();
        // Epoch 1 freezes the body; epoch 2 only the part before freeze_until.
        let epoch = if freeze_until.is_some() { 2 } else { 1 };
        plan.apply_epoch(model, epoch, &[]);
        let x = convkit_tensor::Tensor::from_vec(
            (0..4 * 28 * 28).map(|i| (i % 11) as f32 / 11.0).collect(),
            [4, 1, 28, 28],
        )
        .unwrap();
        let mut recorded = Vec::new();
        let mut hook = |call: &ModuleCall<'_>| {
            if call.depth == 0 {
                recorded.push((call.name.to_string(), call.output.requires_grad()));
            }
            Ok(None)
        };
        let logits = ForwardPass::new(Mode::Train)
            .with_hook(&mut hook)
            .run(model, &x)
            .unwrap();
        // No graph is recorded below the first trained layer: backward cannot go there.
        let first = recorded
            .iter()
            .position(|(n, _)| n == first_trained)
            .unwrap();
        for (i, (name, graph)) in recorded.iter().enumerate() {
            assert_eq!(*graph, i >= first, "{name}");
        }
        logits
            .cross_entropy(&[0, 1, 2, 3])
            .unwrap()
            .backward()
            .unwrap();
        for (name, t) in model.parameters() {
            let trained = name.starts_with(first_trained) || name.starts_with("fc");
            assert_eq!(t.grad().is_some(), trained, "{name}");
        }
    }
}

#[test]
fn linear_probe_equals_finetuning_with_a_frozen_body() {
    let dir = tempfile::tempdir().unwrap();
    let (from, _) = pretrained(dir.path());
    let frozen = FinetuneConfig {
        freeze_epochs: Some(2),
        ..Default::default()
    };
    let probe = FinetuneConfig {
        linear_probe: true,
        ..Default::default()
    };
    let tuned = fit(run(dir.path(), &from, frozen, 2));
    let probed = fit(run(dir.path(), &from, probe, 2));
    for name in ["fc.weight", "fc.bias"] {
        let (a, b) = (tensor(&tuned[1], name), tensor(&probed[1], name));
        for (&a, &b) in a.iter().zip(b) {
            let (a, b) = (f32::from_bits(a), f32::from_bits(b));
            // Features computed in other batches round differently: equal up to that.
            assert!((a - b).abs() <= 1e-4 + 1e-3 * b.abs(), "{name}: {a} vs {b}");
        }
        assert_ne!(
            tensor(&tuned[0], name),
            tensor(&tuned[1], name),
            "{name} trained"
        );
    }
    assert_eq!(
        tuned[1]
            .iter()
            .filter(|(n, _)| !n.starts_with("fc."))
            .count(),
        36
    );
    for ((name, a), (_, b)) in tuned[1]
        .iter()
        .zip(&probed[1])
        .filter(|((n, _), _)| !n.starts_with("fc."))
    {
        assert_eq!(a, b, "the body of both is the pretrained one: {name}");
    }
}

fn error(config: TrainConfig) -> String {
    Trainer::new(config).err().unwrap().to_string()
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (from, _) = pretrained(dir.path());
    let until = |layer: &str| FinetuneConfig {
        freeze_until: Some(layer.into()),
        ..Default::default()
    };
    let err = error(run(dir.path(), &from, until("stage9"), 2));
    assert!(
        err.starts_with("finetune.freeze_until: the model has no layer 'stage9' with parameters; layers with parameters: stage1, stage1.0, stage1.1,"),
        "{err}"
    );
    assert!(err.contains("stage3.4, fc"), "{err}");

    let missing = dir.path().join("nowhere/weights.pth");
    let err = error(run(dir.path(), &missing, FinetuneConfig::default(), 2));
    assert!(err.contains("nowhere/weights.pth"), "{err}");

    // Ten-class weights into a five-class run without fine-tuning: the head is named.
    let mut plain = run(dir.path(), &from, FinetuneConfig::default(), 1);
    plain.finetune = None;
    plain.init_from = Some(from.clone());
    let err = error(plain);
    assert!(
        err.contains("fc.weight") && err.contains("[10, 128]"),
        "{err}"
    );

    let mut classes = run(dir.path(), &from, FinetuneConfig::default(), 1);
    classes.data.classes = Some(vec![3, 12]);
    let err = error(classes);
    assert!(
        err.starts_with(
            "data.classes: class selection: there is no class 12: the dataset has 10 classes"
        ),
        "{err}"
    );

    let lenet = build_model("lenet5", &ModelSpec::MNIST, &mut seeded_rng(0)).unwrap();
    let other = dir.path().join("lenet.safetensors");
    write_safetensors(&other, &lenet.named_tensors(), HashMap::new()).unwrap();
    let err = error(run(dir.path(), &other, FinetuneConfig::default(), 1));
    assert!(
        err.contains("lenet.safetensors") && err.contains("stage1.0.weight"),
        "{err}"
    );

    for (finetune, epochs, message) in [
        (
            FinetuneConfig {
                lr_mult: Some(0.5),
                ..Default::default()
            },
            2,
            "finetune.lr_mult: must be at least 1",
        ),
        (
            FinetuneConfig {
                freeze_epochs: Some(3),
                ..Default::default()
            },
            2,
            "finetune.freeze_epochs: 3 frozen epochs is more than the run's 2 epochs",
        ),
        (
            FinetuneConfig {
                linear_probe: true,
                train_bn: true,
                ..Default::default()
            },
            2,
            "finetune.train_bn: a linear probe never trains the body",
        ),
    ] {
        let err = error(run(dir.path(), &from, finetune, epochs));
        assert!(err.starts_with(message), "{err}");
    }
}
