//! A run as one rank of a data-parallel job ([`Replicas`]), against a stand-in for the other rank:
//! a secondary rank trains on its part of each batch, writes no run folder, sums the epoch's
//! figures with the other rank, takes the evaluation from rank 0, and stops when the other rank
//! is asked to.
use convkit_train::callback::BatchEnd;
use convkit_train::{Callback, Control, Replicas, TrainConfig, Trainer};
use std::sync::{Arc, Mutex};

/// Rank 1 of 2 whose partner, rank 0, holds the same figures as this rank (sums double them),
/// except that it asks to stop at the first agreement when `partner_stops`.
struct MirroredPartner {
    partner_stops: bool,
    sums: Arc<Mutex<Vec<Vec<f64>>>>,
}

impl Replicas for MirroredPartner {
    fn rank(&self) -> usize {
        1
    }
    fn size(&self) -> usize {
        2
    }
    fn all_sum(&self, values: &mut [f64]) -> convkit_train::Result<()> {
        self.sums.lock().unwrap().push(values.to_vec());
        let stop_vote = values.len() == 1;
        values.iter_mut().for_each(|v| *v *= 2.0);
        if stop_vote && self.partner_stops {
            values[0] += 1.0;
        }
        Ok(())
    }
}

/// The images of each batch this rank trained on.
struct BatchSizes(Arc<Mutex<Vec<usize>>>);

impl Callback for BatchSizes {
    fn on_batch_end(&mut self, e: &BatchEnd) -> convkit_train::Result<Control> {
        self.0.lock().unwrap().push(e.images);
        Ok(Control::Continue)
    }
}

/// LeNet-5 on 100 MNIST images in global batches of 20 (10 per rank), 20 held out for validation.
fn config(out: &std::path::Path) -> TrainConfig {
    let mut config = TrainConfig {
        batch_size: Some(20),
        out_dir: out.to_path_buf(),
        evaluate_test: false,
        ..TrainConfig::default()
    };
    config.data.train_limit = Some(100);
    config.data.val_fraction = 0.2;
    config
}

#[test]
fn a_secondary_rank_trains_its_share_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let sums = Arc::new(Mutex::new(Vec::new()));
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let mut trainer = Trainer::new(config(&out)).unwrap();
    trainer
        .set_replicas(MirroredPartner {
            partner_stops: false,
            sums: sums.clone(),
        })
        .add_callback(BatchSizes(sizes.clone()));
    let outcome = trainer.fit().unwrap();
    assert!(!out.exists(), "a secondary rank made {}", out.display());
    assert_eq!(outcome.run_dir, std::path::PathBuf::new());
    // 80 training images: 4 global batches of 20, 10 of each for this rank.
    assert_eq!(*sizes.lock().unwrap(), [10, 20, 30, 40]);
    let sums = sums.lock().unwrap();
    // A stop vote per batch, the epoch's totals (images, right, loss sum), the evaluation, a
    // stop vote at the epoch's end.
    assert_eq!(sums.len(), 4 + 1 + 1 + 1, "{sums:?}");
    assert_eq!(sums[4][0], 40.0, "this rank's images");
    assert_eq!(
        sums[5], [0.0; 4],
        "a secondary leaves the evaluation to rank 0"
    );
    let m = outcome.last();
    assert_eq!(
        m.validation,
        Some((0.0, 0.0)),
        "rank 0's figures (here: none)"
    );
    assert!((m.train_loss - sums[4][2] / 40.0).abs() < 1e-12);
}

#[test]
fn a_stop_asked_on_another_rank_stops_this_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut trainer = Trainer::new(config(&dir.path().join("runs"))).unwrap();
    trainer.set_replicas(MirroredPartner {
        partner_stops: true,
        sums: Arc::default(),
    });
    let err = trainer.fit().unwrap_err().to_string();
    assert!(err.contains("another rank was asked to stop"), "{err}");
}
