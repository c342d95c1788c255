//! The training-side parts of the airbench94 recipe, each a general option: a parameter group
//! that trains for its first epochs only, the patch-whitening initialisation of a first layer, a
//! final test evaluation with TTA, and the recipe itself running end to end (on MNIST: its
//! network takes 25- to 48-pixel images).
use convkit_data::transforms::{patch_whitening_filters, Tta};
use convkit_train::callback::EpochEnd;
use convkit_train::config::{ParamGroupConfig, TtaName, WhiteningConfig};
use convkit_train::eval::{eval_loader, evaluate, evaluate_tta, EVAL_BATCH};
use convkit_train::recipe::airbench94;
use convkit_train::{Callback, Control, DatasetName, TrainConfig, Trainer};
use std::sync::{Arc, Mutex};

/// LeNet-5 on 120 MNIST training images.
fn small_run(out: &std::path::Path, epochs: usize) -> TrainConfig {
    let mut config = TrainConfig {
        epochs,
        batch_size: Some(20),
        seed: 3,
        out_dir: out.to_path_buf(),
        evaluate_test: false,
        ..TrainConfig::default()
    };
    config.data.train_limit = Some(120);
    config
}

/// Records one parameter's values at the end of every epoch.
struct Watch {
    name: &'static str,
    seen: Arc<Mutex<Vec<Vec<f32>>>>,
}

impl Callback for Watch {
    fn on_epoch_end(&mut self, e: &EpochEnd) -> convkit_train::Result<Control> {
        let (_, t) = e
            .model
            .parameters()
            .into_iter()
            .find(|(n, _)| n == self.name)
            .unwrap();
        self.seen.lock().unwrap().push(t.to_vec());
        Ok(Control::Continue)
    }
}

#[test]
fn a_group_trains_for_its_epochs_then_stays() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_run(dir.path(), 3);
    config.optimizer.groups = vec![ParamGroupConfig {
        params: "conv1.bias".into(),
        epochs: Some(1),
        ..Default::default()
    }];
    let mut trainer = Trainer::new(config).unwrap();
    let start = trainer.model().module("conv1").unwrap().parameters()[1]
        .1
        .to_vec();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let watch = |name| Watch {
        name,
        seen: seen.clone(),
    };
    trainer.add_callback(watch("conv1.bias"));
    trainer.fit().unwrap();
    let seen = seen.lock().unwrap();
    assert_ne!(seen[0], start, "trained in epoch 1");
    assert_eq!(seen[1], seen[0], "frozen from epoch 2");
    assert_eq!(seen[2], seen[0]);

    let mut bad = small_run(dir.path(), 1);
    bad.optimizer.groups = vec![ParamGroupConfig {
        params: "conv1.bias".into(),
        epochs: Some(0),
        ..Default::default()
    }];
    let err = Trainer::new(bad).err().unwrap().to_string();
    assert!(err.starts_with("optimizer.groups[0].epochs"), "{err}");
}

#[test]
fn whitening_sets_the_first_layer_from_the_first_training_images() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_run(dir.path(), 1);
    config.model = "airbench94".into();
    config.whitening = Some(WhiteningConfig {
        images: 50,
        ..Default::default()
    });
    let trainer = Trainer::new(config).unwrap();
    let data = trainer.data();
    let batch = eval_loader(data.train.clone(), data.normalize.clone(), 50)
        .unwrap()
        .epoch(0)
        .next()
        .unwrap();
    let expected = patch_whitening_filters(&batch.images, [50, 1, 28, 28], 2, 5e-4).unwrap();
    let weight = trainer.model().module("0").unwrap().parameters()[0]
        .1
        .clone();
    assert_eq!(weight.dims(), [8, 1, 2, 2]);
    assert_eq!(weight.to_vec(), expected);
    assert!(!weight.requires_grad(), "airbench94 keeps it frozen");

    // LeNet-5's first convolution has 20 filters of 5×5: no whitening layer.
    let mut lenet = small_run(dir.path(), 1);
    lenet.whitening = Some(WhiteningConfig {
        layer: "conv1".into(),
        ..Default::default()
    });
    let err = Trainer::new(lenet).err().unwrap().to_string();
    assert!(err.contains("'conv1' has weight [20, 1, 5, 5]"), "{err}");
    let mut missing = small_run(dir.path(), 1);
    missing.whitening = Some(WhiteningConfig {
        layer: "stem".into(),
        ..Default::default()
    });
    let err = Trainer::new(missing).err().unwrap().to_string();
    assert!(err.starts_with("whitening.layer"), "{err}");
}

#[test]
fn the_run_ends_with_a_tta_evaluation_of_the_test_set() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_run(dir.path(), 1);
    config.evaluate_test = true;
    config.tta = TtaName::Mirror;
    let mut trainer = Trainer::new(config).unwrap();
    let outcome = trainer.fit().unwrap();
    let data = trainer.data();
    let test = data.test.clone().unwrap();
    let mirror = evaluate_tta(
        trainer.model(),
        test.clone(),
        data.normalize.clone(),
        EVAL_BATCH,
        Tta::Mirror,
    )
    .unwrap();
    assert_eq!(outcome.tta_test, Some((mirror.loss, mirror.accuracy())));
    let plain = evaluate(trainer.model(), test, data.normalize.clone(), EVAL_BATCH).unwrap();
    assert_eq!(outcome.last().test, Some((plain.loss, plain.accuracy())));
    assert_ne!(
        mirror.loss, plain.loss,
        "the mirror images change the logits"
    );
}

#[test]
fn the_airbench94_recipe_trains_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = airbench94();
    config.data.dataset = DatasetName::Mnist;
    config.data.train_limit = Some(1200);
    config.data.val_fraction = 1.0 / 6.0;
    config.batch_size = Some(200);
    config.epochs = 4;
    config.evaluate_test = false;
    config.tta = TtaName::None;
    config.out_dir = dir.path().to_path_buf();
    let mut trainer = Trainer::new(config).unwrap();
    let outcome = trainer.fit().unwrap();
    let (_, accuracy) = outcome.last().validation.unwrap();
    assert!(accuracy > 0.8, "validation accuracy {accuracy}");
}
