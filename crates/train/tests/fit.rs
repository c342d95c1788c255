//! The training loop as a library: callbacks see the run and can stop it, a stopped run resumes
//! exactly, frozen parameter groups stay untouched and get no gradient, gradient hooks see the
//! trained parameters, the per-batch step is replaceable, and a caller's model must match the zoo.
use convkit_nn::Module;
use convkit_tensor::Tensor;
use convkit_train::callback::{BatchEnd, EpochEnd, RunEndReason, RunStart};
use convkit_train::callbacks::StopAfter;
use convkit_train::checkpoint::SavedRun;
use convkit_train::config::ParamGroupConfig;
use convkit_train::{
    Callback, Control, GradientHook, StepBatch, StepOutput, TrainConfig, TrainStep, Trainer,
};
use std::sync::{Arc, Mutex};

/// LeNet-5 on 160 MNIST training images, 40 of them held out for validation, no test set.
fn small_run(out: &std::path::Path, epochs: usize) -> TrainConfig {
    let mut config = TrainConfig {
        epochs,
        batch_size: Some(20),
        seed: 9,
        out_dir: out.to_path_buf(),
        evaluate_test: false,
        ..TrainConfig::default()
    };
    config.data.train_limit = Some(160);
    config.data.val_fraction = 0.25;
    config
}

fn bits(model: &dyn Module) -> Vec<(String, Vec<u32>)> {
    model
        .named_tensors()
        .into_iter()
        .map(|(n, t)| (n, t.to_vec().iter().map(|x| x.to_bits()).collect()))
        .collect()
}

/// Counts events into shared counters and stops the run at the end of epoch `stop_at`.
struct Recorder {
    log: Arc<Mutex<Vec<String>>>,
    stop_at: usize,
}

impl Callback for Recorder {
    fn on_run_start(&mut self, e: &RunStart) -> convkit_train::Result<()> {
        self.log
            .lock()
            .unwrap()
            .push(format!("start {}", e.first_epoch));
        Ok(())
    }
    fn on_batch_end(&mut self, e: &BatchEnd) -> convkit_train::Result<Control> {
        self.log
            .lock()
            .unwrap()
            .push(format!("batch {}.{}", e.epoch, e.step));
        Ok(Control::Continue)
    }
    fn on_epoch_end(&mut self, e: &EpochEnd) -> convkit_train::Result<Control> {
        self.log
            .lock()
            .unwrap()
            .push(format!("epoch {}", e.metrics.epoch));
        Ok(if e.metrics.epoch == self.stop_at {
            Control::Stop {
                reason: "enough".into(),
            }
        } else {
            Control::Continue
        })
    }
}

#[test]
fn a_callback_stops_the_run_and_the_run_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut straight = Trainer::new(small_run(&dir.path().join("a"), 3)).unwrap();
    let done = straight.fit().unwrap();
    assert_eq!(done.reason, RunEndReason::Completed);

    let log = Arc::new(Mutex::new(Vec::new()));
    let mut first = Trainer::new(small_run(&dir.path().join("b"), 3)).unwrap();
    first.add_callback(Recorder {
        log: log.clone(),
        stop_at: 2,
    });
    let stopped = first.fit().unwrap();
    assert_eq!(stopped.reason, RunEndReason::Stopped("enough".into()));
    assert_eq!(stopped.history.len(), 2);
    let log = log.lock().unwrap().clone();
    // 120 training images in batches of 20: 6 steps per epoch.
    assert_eq!(log.first().unwrap(), "start 1");
    assert_eq!(log.iter().filter(|l| l.starts_with("batch")).count(), 12);
    assert_eq!(log.last().unwrap(), "epoch 2");
    for file in [
        "config.toml",
        "metrics.csv",
        "curves.png",
        "last.safetensors",
        "best.safetensors",
    ] {
        assert!(stopped.run_dir.join(file).is_file(), "{file}");
    }

    let saved = SavedRun::load(&stopped.run_dir).unwrap();
    assert_eq!(saved.state.epoch, 2);
    let config = saved.state.config.clone();
    let mut resumed = Trainer::resume(saved, config).unwrap();
    let outcome = resumed.fit().unwrap();
    assert_eq!(
        outcome.history,
        done.history
            .iter()
            .map(|m| {
                let mut m = m.clone();
                let same = &outcome.history[m.epoch - 1];
                (m.images_per_second, m.seconds) = (same.images_per_second, same.seconds);
                m
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(bits(resumed.model()), bits(straight.model()));
}

/// Records the names of the parameters it is given, and checks each has a gradient.
struct SeenByHook(Arc<Mutex<Vec<String>>>);

impl GradientHook for SeenByHook {
    fn after_backward(&mut self, params: &[(String, Tensor)]) -> convkit_train::Result<()> {
        let mut seen = self.0.lock().unwrap();
        seen.clear();
        for (name, t) in params {
            assert!(t.grad().is_some(), "{name} has no gradient");
            seen.push(name.clone());
        }
        Ok(())
    }
}

#[test]
fn frozen_groups_stay_untouched_and_hooks_see_the_trained_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_run(dir.path(), 1);
    config.optimizer.groups = vec![ParamGroupConfig {
        params: "conv*".into(),
        frozen: true,
        ..Default::default()
    }];
    let mut trainer = Trainer::new(config).unwrap();
    let before = bits(trainer.model());
    let seen = Arc::new(Mutex::new(Vec::new()));
    trainer.add_gradient_hook(SeenByHook(seen.clone()));
    trainer.fit().unwrap();
    let after = bits(trainer.model());
    for ((name, a), (_, b)) in before.iter().zip(&after) {
        if name.starts_with("conv") {
            assert_eq!(a, b, "frozen {name} changed");
            let param = trainer
                .model()
                .parameters()
                .into_iter()
                .find(|(n, _)| n == name)
                .unwrap()
                .1;
            assert!(param.grad().is_none(), "frozen {name} got a gradient");
        } else {
            assert_ne!(a, b, "trained {name} did not change");
        }
    }
    let seen = seen.lock().unwrap();
    assert_eq!(*seen, ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
}

/// A step that computes the loss but never calls backward: nothing can learn.
struct ForwardOnly;

impl TrainStep for ForwardOnly {
    fn forward_backward(
        &mut self,
        model: &dyn Module,
        batch: &StepBatch,
    ) -> convkit_train::Result<StepOutput> {
        let logits = model.forward(&batch.images, convkit_nn::Mode::Train)?;
        let loss = logits.cross_entropy(&batch.labels)?.item();
        Ok(StepOutput { loss, logits })
    }
}

#[test]
fn the_step_is_replaceable() {
    let dir = tempfile::tempdir().unwrap();
    let mut trainer = Trainer::new(small_run(dir.path(), 1)).unwrap();
    let before = bits(trainer.model());
    trainer
        .set_step(ForwardOnly)
        .add_callback(StopAfter { epoch: 1 });
    trainer.fit().unwrap();
    assert_eq!(bits(trainer.model()), before, "no gradient, no change");
}

/// Checks each batch's training loss against PyTorch's `CrossEntropyLoss(label_smoothing=0.1)`
/// on the labels, then trains on it; counts the batches.
struct SmoothedAsPyTorch(Arc<Mutex<usize>>);

impl TrainStep for SmoothedAsPyTorch {
    fn forward_backward(
        &mut self,
        model: &dyn Module,
        batch: &StepBatch,
    ) -> convkit_train::Result<StepOutput> {
        use convkit_tensor::ops::loss::{cross_entropy, ClassTarget, CrossEntropyConfig};
        let logits = model.forward(&batch.images, convkit_nn::Mode::Train)?;
        let ours = convkit_train::step::training_loss(&logits, batch)?.item();
        let config = CrossEntropyConfig {
            label_smoothing: 0.1,
            ..Default::default()
        };
        let torch = cross_entropy(&logits, ClassTarget::Indices(&batch.labels), &config)?.item();
        assert!((ours - torch).abs() < 1e-5, "{ours} vs PyTorch's {torch}");
        *self.0.lock().unwrap() += 1;
        convkit_train::StandardStep.forward_backward(model, batch)
    }
}

#[test]
fn label_smoothing_trains_on_pytorchs_smoothed_cross_entropy() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_run(dir.path(), 1);
    config.data.label_smoothing = Some(0.1);
    let mut trainer = Trainer::new(config).unwrap();
    let batches = Arc::new(Mutex::new(0));
    trainer.set_step(SmoothedAsPyTorch(Arc::clone(&batches)));
    trainer.fit().unwrap();
    assert_eq!(
        *batches.lock().unwrap(),
        6,
        "120 training images in batches of 20"
    );
}

#[test]
fn a_callers_model_must_be_the_zoo_models_twin() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_run(dir.path(), 1);
    let spec = convkit_models::ModelSpec {
        in_channels: 1,
        num_classes: 10,
        input_size: (28, 28),
    };
    let mut rng = convkit_tensor::seeded_rng(1);
    let same = convkit_models::build_model("lenet5", &spec, &mut rng).unwrap();
    Trainer::with_model(config.clone(), same).unwrap();
    let other = convkit_models::build_model("lenet5-classic", &spec, &mut rng).unwrap();
    let err = Trainer::with_model(config, other)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("Trainer::with_model") && err.contains("shape mismatch for conv1.weight"),
        "{err}"
    );
}

/// A `Write` into a shared buffer.
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn progress_lines_are_written_at_intervals_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let buffer = SharedBuffer::default();
    let mut trainer = Trainer::new(small_run(dir.path(), 1)).unwrap();
    let every_step = std::time::Duration::ZERO;
    trainer.add_callback(convkit_train::callbacks::Progress::lines(
        every_step,
        buffer.clone(),
    ));
    trainer.fit().unwrap();
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(
        lines[5].starts_with("epoch 1/1: batch 6/6, loss "),
        "{text}"
    );
    assert!(lines[5].ends_with("img/s"), "{text}");

    let hourly = std::time::Duration::from_secs(3600);
    let quiet = SharedBuffer::default();
    let mut trainer = Trainer::new(small_run(dir.path(), 1)).unwrap();
    trainer.add_callback(convkit_train::callbacks::Progress::lines(
        hourly,
        quiet.clone(),
    ));
    trainer.fit().unwrap();
    assert!(quiet.0.lock().unwrap().is_empty());
}

#[test]
fn an_adversarial_configuration_needs_its_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_run(dir.path(), 1);
    config.adversarial = Some(convkit_train::config::AdversarialConfig::default());
    let err = Trainer::new(config).unwrap().fit().unwrap_err().to_string();
    assert!(err.contains("AdversarialStep"), "{err}");
}
