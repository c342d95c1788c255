//! [`Trainer`]: a model, its data and a [`TrainConfig`], trained by [`Trainer::fit`] epoch after
//! epoch with evaluation, checkpoints and callbacks; the per-batch work is in [`crate::epoch`].
use crate::callback::Callback;
use crate::callbacks::{BatchLog, Curves, MetricsCsv};
use crate::checkpoint::{ModelRecord, SavedRun};
use crate::config::{differences, TrainConfig};
use crate::error::{Error, Result};
use crate::eval::{evaluate, EvalReport, EVAL_BATCH};
use crate::finetune::{read_pretrained, Features, FinetunePlan, LinearProbeStep};
use crate::replicas::{Replicas, SingleProcess};
use crate::run_data::RunData;
use crate::step::{GradientHook, StandardStep, TrainStep};
use crate::whitening::whiten_layer;
use convkit_models::transfer::{with_new_head, NormsInEval};
use convkit_models::{build_model, zero_init_residual};
use convkit_nn::checkpoint::load_state_dict;
use convkit_nn::optim::ParamGroup;
use convkit_nn::reinit::reinitialise;
use convkit_nn::torch::{import_state_dict, read_state_dict};
use convkit_nn::Module;
use convkit_tensor::seeded_rng;

/// Configuration fields that may change when a run is resumed: they don't change what the
/// finished epochs computed (`epochs` may be raised to train a finished run further).
pub const CHANGEABLE_ON_RESUME: [&str; 5] = [
    "epochs",
    "data.workers",
    "data.data_dir",
    "out_dir",
    "run_name",
];

/// A training run, ready to [`fit`](Trainer::fit).
///
/// ```no_run
/// use convkit_train::{Trainer, TrainConfig};
/// let mut trainer = Trainer::new(TrainConfig::default())?;
/// let outcome = trainer.fit()?;
/// println!("{:?}", outcome.history.last());
/// # Ok::<(), convkit_train::Error>(())
/// ```
pub struct Trainer {
    pub(crate) config: TrainConfig,
    pub(crate) model: Box<dyn Module>,
    pub(crate) record: ModelRecord,
    pub(crate) data: RunData,
    pub(crate) callbacks: Vec<Box<dyn Callback>>,
    pub(crate) step: Box<dyn TrainStep>,
    pub(crate) hooks: Vec<Box<dyn GradientHook>>,
    pub(crate) replicas: Box<dyn Replicas>,
    /// The run being continued, until `fit` takes it.
    pub(crate) resumed: Option<SavedRun>,
    /// What a fine-tuning run trains when.
    pub(crate) finetune: Option<FinetunePlan>,
}

/// The callbacks every run has (first in [`Trainer::callbacks`]): they write the run folder, so
/// only the primary rank of a data-parallel job calls them.
pub(crate) const RUN_FOLDER_CALLBACKS: usize = 3;

impl Trainer {
    /// A fresh run of `config`: checks it, loads the data and builds the zoo model it names
    /// (initialised from the seed — with `weight_init`'s scheme when given —, or from `init_from`;
    /// a fine-tuning run gets its body from `finetune.from` and a new head for its classes).
    ///
    /// # Errors
    /// An invalid configuration (the field named), missing data, weights that don't fit (every
    /// tensor named).
    pub fn new(config: TrainConfig) -> Result<Trainer> {
        config.validate()?;
        let data = RunData::load(&config)?;
        let mut rng = seeded_rng(config.seed);
        let model = match &config.finetune {
            Some(finetune) => {
                let path = &finetune.from;
                let tensors = read_pretrained(path, &config.model)?;
                let source = path.display().to_string();
                with_new_head(&config.model, &data.spec(), &tensors, &source, &mut rng)?
            }
            None => build_model(&config.model, &data.spec(), &mut rng)?,
        };
        if let Some(scheme) = config.weight_init {
            reinitialise(model.as_ref(), scheme, &mut rng)?;
        }
        if config.zero_init_residual {
            zero_init_residual(model.as_ref())?;
        }
        if let Some(path) = &config.init_from {
            let tensors = read_state_dict(path)?;
            import_state_dict(model.as_ref(), &tensors, &path.display().to_string())?;
        }
        if let Some(whitening) = &config.whitening {
            let (train, normalize) = (data.train.clone(), data.normalize.clone());
            whiten_layer(model.as_ref(), train, normalize, whitening)?;
        }
        Trainer::assemble(config, model, data)
    }

    /// A fresh run of `config` that trains `model`, built by the caller (with its own
    /// initialisation, say). Its state_dict must be that of the zoo model `config.model` for the
    /// run's data, so that its checkpoints load by name.
    ///
    /// # Errors
    /// As [`Trainer::new`], and a model whose parameters don't match the zoo model's (each
    /// mismatch listed).
    pub fn with_model(config: TrainConfig, model: Box<dyn Module>) -> Result<Trainer> {
        config.validate()?;
        let data = RunData::load(&config)?;
        let reference = build_model(&config.model, &data.spec(), &mut seeded_rng(0))?;
        // Loading the given model's tensors into the zoo model checks every name and shape.
        load_state_dict(
            reference.as_ref(),
            &model.named_tensors(),
            "the model given to Trainer::with_model",
        )?;
        Trainer::assemble(config, model, data)
    }

    /// Continues `saved` with `config`, which must be the run's own configuration apart from the
    /// [`CHANGEABLE_ON_RESUME`] fields.
    ///
    /// # Errors
    /// A configuration that differs elsewhere (every difference named), a run that stopped early
    /// or has trained all its epochs, or saved weights that don't fit.
    pub fn resume(saved: SavedRun, config: TrainConfig) -> Result<Trainer> {
        let dir = saved.dir.display().to_string();
        let changed: Vec<String> = differences(&saved.state.config, &config)
            .into_iter()
            .filter(|(field, _, _)| !CHANGEABLE_ON_RESUME.contains(&field.as_str()))
            .map(|(field, old, new)| format!("{field} = {new} (the run has {old})"))
            .collect();
        if !changed.is_empty() {
            return Err(Error::Resume(format!(
                "the options do not match the run being resumed in {dir}: {}; leave them out, or start a new run",
                changed.join(", ")
            )));
        }
        let epoch = saved.state.epoch;
        if saved.state.stopped_early {
            return Err(Error::Resume(format!(
                "{dir} stopped early at epoch {epoch} (early stopping): nothing to resume"
            )));
        }
        if epoch >= config.epochs {
            return Err(Error::Resume(format!(
                "{dir} has trained all its {epoch} epochs; give more epochs (--epochs above {epoch}) to train further"
            )));
        }
        config.validate()?;
        let data = RunData::load(&config)?;
        let model = build_model(&config.model, &data.spec(), &mut seeded_rng(config.seed))?;
        saved.checkpoint.load_into(model.as_ref())?;
        let mut trainer = Trainer::assemble(config, model, data)?;
        trainer.resumed = Some(saved);
        Ok(trainer)
    }

    /// The trainer of `model`; for a fine-tuning run, with its plan, the body's batch norms kept
    /// in inference mode and, for a linear probe, the features computed and the probe's step.
    fn assemble(config: TrainConfig, model: Box<dyn Module>, data: RunData) -> Result<Trainer> {
        let (mut model, mut finetune, mut step) = (model, None, None);
        if let Some(options) = &config.finetune {
            let plan = FinetunePlan::new(options, &config.model, model.as_ref(), &data.spec())?;
            if !plan.norms_in_eval.is_empty() {
                model = Box::new(NormsInEval::new(model, plan.norms_in_eval.clone()));
            }
            if plan.linear_probe {
                let features = Features::extract(model.as_ref(), &plan.head, &data)?;
                let head = plan.head.clone();
                step = Some(Box::new(LinearProbeStep { head, features }) as Box<dyn TrainStep>);
            }
            finetune = Some(plan);
        }
        let record = ModelRecord {
            name: config.model.clone(),
            spec: data.spec(),
            dataset: config.data.dataset.as_str().to_string(),
            class_names: data.train.class_names().to_vec(),
            normalize: data.normalize.clone(),
        };
        Ok(Trainer {
            config,
            model,
            record,
            data,
            callbacks: vec![
                Box::new(MetricsCsv),
                Box::new(BatchLog::default()),
                Box::new(Curves),
            ],
            step: step.unwrap_or_else(|| Box::new(StandardStep)),
            hooks: Vec::new(),
            replicas: Box::new(SingleProcess),
            resumed: None,
            finetune,
        })
    }

    /// Adds a callback; callbacks are called in the order they were added, after the three every
    /// run has (the metrics CSV, the batch CSV and the curves PNG of the run folder, on the
    /// primary rank only).
    pub fn add_callback(&mut self, callback: impl Callback + 'static) -> &mut Self {
        self.callbacks.push(Box::new(callback));
        self
    }

    /// Replaces the per-batch forward and backward ([`StandardStep`] by default).
    pub fn set_step(&mut self, step: impl TrainStep + 'static) -> &mut Self {
        self.step = Box::new(step);
        self
    }

    /// Adds a hook called between backward and the optimiser step.
    pub fn add_gradient_hook(&mut self, hook: impl GradientHook + 'static) -> &mut Self {
        self.hooks.push(Box::new(hook));
        self
    }

    /// Sets the learning rate the run starts from (after a range test, say); the configuration
    /// saved with the run records it.
    ///
    /// # Errors
    /// A rate that is not a positive number.
    pub fn set_lr(&mut self, lr: f32) -> Result<()> {
        let mut optimizer = self.config.optimizer.clone();
        optimizer.lr = Some(lr);
        optimizer.validate()?;
        self.config.optimizer = optimizer;
        Ok(())
    }

    /// Makes this run one rank of a data-parallel job: it trains on its part of every batch, and
    /// unless it is rank 0 it writes no run folder, checkpoints or metrics files and evaluates
    /// nothing itself (see [`crate::replicas`]). The gradients must be made equal across the
    /// ranks by a [`GradientHook`], and the parameters at the start by a callback.
    pub fn set_replicas(&mut self, replicas: impl Replicas + 'static) -> &mut Self {
        self.replicas = Box::new(replicas);
        self
    }

    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    pub fn model(&self) -> &dyn Module {
        self.model.as_ref()
    }

    /// What a fine-tuning run trains when (`None` for other runs).
    pub fn finetune_plan(&self) -> Option<&FinetunePlan> {
        self.finetune.as_ref()
    }

    /// The optimiser's parameter groups (learning-rate multiples of a fine-tuning run applied)
    /// and the names of the parameters the groups freeze.
    pub(crate) fn optimizer_groups(&self) -> Result<(Vec<ParamGroup>, Vec<String>)> {
        let (groups, frozen) = self.config.optimizer.groups(self.model.parameters())?;
        let groups = match &self.finetune {
            Some(plan) => plan.scale_groups(groups),
            None => groups,
        };
        Ok((groups, frozen.into_iter().map(|(name, _)| name).collect()))
    }

    /// Freezes what a fine-tuning run freezes in epoch `epoch` (1-based); nothing otherwise.
    pub(crate) fn apply_epoch(&self, epoch: usize, keep_frozen: &[String]) {
        if let Some(plan) = &self.finetune {
            plan.apply_epoch(self.model.as_ref(), epoch, keep_frozen);
        }
    }

    /// What the checkpoints record about the model.
    pub fn record(&self) -> &ModelRecord {
        &self.record
    }

    /// The run's data: training, validation and test sets, normalisation.
    pub fn data(&self) -> &RunData {
        &self.data
    }

    /// Evaluates the model as it is now on the test set.
    ///
    /// # Errors
    /// A run configured without the test set, or a failing forward pass.
    pub fn evaluate_test(&self) -> Result<EvalReport> {
        let test =
            self.data.test.clone().ok_or_else(|| {
                Error::config("evaluate_test", "this run did not load the test set")
            })?;
        evaluate(
            self.model.as_ref(),
            test,
            self.data.normalize.clone(),
            EVAL_BATCH,
        )
    }
}
