//! Train LeNet-5 on the embedded MNIST from Rust: configure, add a callback, fit, evaluate.
//! `cargo run --release -p convkit-train --example mnist`
use convkit_train::callback::EpochEnd;
use convkit_train::callbacks::{Console, Progress};
use convkit_train::{Callback, Control, TrainConfig, Trainer};

/// Prints the best test accuracy so far after every epoch.
struct BestSoFar(f64);

impl Callback for BestSoFar {
    fn on_epoch_end(&mut self, e: &EpochEnd) -> convkit_train::Result<Control> {
        if let Some((_, accuracy)) = e.metrics.test {
            self.0 = self.0.max(accuracy);
        }
        println!("best test accuracy so far: {:.2}%", 100.0 * self.0);
        Ok(Control::Continue)
    }
}

fn main() -> convkit_train::Result<()> {
    let config = TrainConfig {
        model: "lenet5".into(),
        epochs: 1,
        batch_size: Some(64),
        out_dir: "runs".into(),
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(config)?;
    trainer
        .add_callback(Console::default())
        .add_callback(Progress::default())
        .add_callback(BestSoFar(0.0));
    let outcome = trainer.fit()?;
    let report = trainer.evaluate_test()?;
    println!(
        "{}: test accuracy {:.2}% (top-5 {:.2}%)",
        outcome.run_dir.display(),
        100.0 * report.accuracy(),
        100.0 * report.top5_accuracy()
    );
    Ok(())
}
