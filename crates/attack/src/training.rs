//! Adversarial training: a training step that trains on adversarial examples made on the fly
//! (FGSM-RS, FGSM or PGD, with an ε warm-up), and a callback that measures robust accuracy under
//! PGD after every epoch. Both plug into `convkit_train` (the step through
//! `Trainer::set_step`), configured by the run's `adversarial` settings.
use crate::classifier::Classifier;
use crate::fgsm::{fgsm, fgsm_rs, FgsmConfig, FgsmRsConfig};
use crate::pgd::{pgd, PgdConfig};
use crate::{robust_accuracy, Attack};
use convkit_data::{Dataset, Normalize};
use convkit_nn::{Mode, Module};
use convkit_tensor::Tensor;
use convkit_train::callback::{EvalSplit, EvaluationEnd};
use convkit_train::config::{AdversarialConfig, AdversarialMethod};
use convkit_train::{Callback, StandardStep, StepBatch, StepOutput, TrainStep};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;

fn step_error(e: crate::Error) -> convkit_train::Error {
    convkit_train::Error::Step(e.to_string())
}

/// The seed of epoch `epoch`'s random starts, from the run's seed alone (resumed runs repeat).
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_add(0xA5A5_5A5A) ^ (epoch as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// Trains on adversarial versions of each batch (the clean images are not trained on).
pub struct AdversarialStep {
    config: AdversarialConfig,
    normalize: Normalize,
    seed: u64,
    /// ε of the current epoch (warm-up).
    eps: f32,
    rng: ChaCha8Rng,
}

impl AdversarialStep {
    /// The step for `config`, attacking in pixel space through `normalize` (the run's), with
    /// random starts drawn from `seed`.
    pub fn new(config: &AdversarialConfig, normalize: &Normalize, seed: u64) -> AdversarialStep {
        AdversarialStep {
            config: config.clone(),
            normalize: normalize.clone(),
            seed,
            eps: config.eps,
            rng: ChaCha8Rng::seed_from_u64(epoch_seed(seed, 1)),
        }
    }

    /// The adversarial version of `pixels` ([0, 1]) against `classifier`.
    fn perturb(
        &mut self,
        classifier: &Classifier,
        pixels: &Tensor,
        labels: &[usize],
    ) -> crate::Result<Tensor> {
        let (eps, alpha) = (self.eps, self.config.alpha);
        match self.config.method {
            AdversarialMethod::FgsmRs => fgsm_rs(
                classifier,
                pixels,
                labels,
                &FgsmRsConfig { eps, alpha },
                &mut self.rng,
            ),
            AdversarialMethod::Fgsm => fgsm(classifier, pixels, labels, &FgsmConfig { eps }),
            AdversarialMethod::Pgd => {
                let config = PgdConfig {
                    steps: self.config.steps,
                    alpha,
                    until_fooled: false,
                    ..PgdConfig::linf(eps)
                };
                pgd(classifier, pixels, labels, &config, &mut self.rng)
            }
        }
    }
}

impl TrainStep for AdversarialStep {
    fn begin_epoch(&mut self, epoch: usize, _epochs: usize) {
        self.eps = self.config.eps_at(epoch);
        self.rng = ChaCha8Rng::seed_from_u64(epoch_seed(self.seed, epoch));
    }

    fn forward_backward(
        &mut self,
        model: &dyn Module,
        batch: &StepBatch,
    ) -> convkit_train::Result<StepOutput> {
        // Attacked as it trains (Wong et al.): batch statistics, as the training pass uses.
        let classifier = Classifier::new(model, &self.normalize.mean, &self.normalize.std)
            .map_err(step_error)?
            .with_mode(Mode::Train);
        let pixels = classifier
            .pixels_from_normalized(&batch.images)
            .map_err(step_error)?;
        let adversarial = self
            .perturb(&classifier, &pixels, &batch.labels)
            .map_err(step_error)?;
        let images = classifier.normalize(&adversarial).map_err(step_error)?;
        let attacked = StepBatch {
            images,
            labels: batch.labels.clone(),
            soft_targets: batch.soft_targets.clone(),
            indices: batch.indices.clone(),
        };
        StandardStep.forward_backward(model, &attacked)
    }
}

/// After each test evaluation, robust accuracy under PGD L∞ on the first test images, printed
/// next to the clean accuracy and appended to `robust.csv` in the run folder.
pub struct RobustAccuracy {
    config: AdversarialConfig,
    seed: u64,
    run_dir: Option<PathBuf>,
    rows: Vec<String>,
}

impl RobustAccuracy {
    pub fn new(config: &AdversarialConfig, seed: u64) -> RobustAccuracy {
        RobustAccuracy {
            config: config.clone(),
            seed,
            run_dir: None,
            rows: Vec::new(),
        }
    }

    /// The first `n` images of `dataset` as pixels in [0, 1], with their labels.
    fn first_images(dataset: &Dataset, n: usize) -> convkit_train::Result<(Tensor, Vec<usize>)> {
        let n = n.min(dataset.len());
        let len = dataset.image_len();
        let pixels: Vec<f32> = dataset.images()[..n * len]
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect();
        let dims = [n, dataset.channels(), dataset.height(), dataset.width()];
        Ok((
            Tensor::from_vec(pixels, dims)?,
            dataset.labels()[..n].to_vec(),
        ))
    }
}

impl Callback for RobustAccuracy {
    fn on_run_start(
        &mut self,
        event: &convkit_train::callback::RunStart,
    ) -> convkit_train::Result<()> {
        self.run_dir = Some(event.run_dir.to_path_buf());
        Ok(())
    }

    fn on_evaluation_end(&mut self, e: &EvaluationEnd) -> convkit_train::Result<()> {
        let c = &self.config;
        if e.split != EvalSplit::Test || c.eval_steps == 0 {
            return Ok(());
        }
        let classifier =
            Classifier::new(e.model, &e.normalize.mean, &e.normalize.std).map_err(step_error)?;
        let (pixels, labels) = RobustAccuracy::first_images(e.dataset, c.eval_images)?;
        let attack = Attack::Pgd(PgdConfig {
            steps: c.eval_steps,
            restarts: c.eval_restarts,
            ..PgdConfig::linf(c.eps)
        });
        let mut rng = ChaCha8Rng::seed_from_u64(epoch_seed(self.seed ^ 1, e.epoch));
        let curve = robust_accuracy(
            &classifier,
            &attack,
            &pixels,
            &labels,
            &[c.eps],
            250,
            &mut rng,
        )
        .map_err(step_error)?;
        let robust = curve.accuracies()[0];
        println!(
            "epoch {}: robust accuracy {:.2}% under PGD-{} ({} restarts, ε = {}) on {} test images; clean {:.2}%",
            e.epoch,
            100.0 * robust,
            c.eval_steps,
            c.eval_restarts,
            c.eps,
            labels.len(),
            100.0 * e.report.accuracy()
        );
        self.rows.push(format!(
            "{},{},{},{},{},{robust:.6},{:.6}",
            e.epoch,
            c.eps,
            c.eval_steps,
            c.eval_restarts,
            labels.len(),
            e.report.accuracy()
        ));
        if let Some(dir) = &self.run_dir {
            let csv = format!(
                "epoch,eps,pgd_steps,restarts,images,robust_accuracy,clean_accuracy\n{}\n",
                self.rows.join("\n")
            );
            convkit_nn::io::write_atomic(&dir.join("robust.csv"), csv.as_bytes())?;
        }
        Ok(())
    }
}
