//! Training as a library. A [`TrainConfig`] describes a run (model, data, optimiser, schedule,
//! what to save); a [`Trainer`] loads its data, builds its model and [`fit`](Trainer::fit)s it
//! epoch by epoch, reporting through [`Callback`]s, writing checkpoints that hold the weights under
//! PyTorch names and the state to [`resume`](Trainer::resume) from. The per-batch step
//! ([`TrainStep`]) and a hook between backward and the optimiser step ([`GradientHook`]) are
//! replaceable, so that adversarial and distributed training plug in without edits to the loop;
//! [`Replicas`] makes a run one rank of a data-parallel job.
//!
//! ```no_run
//! use convkit_train::callbacks::Console;
//! use convkit_train::{TrainConfig, Trainer};
//! let config = TrainConfig { epochs: 1, ..TrainConfig::default() }; // LeNet-5 on MNIST
//! let mut trainer = Trainer::new(config)?;
//! trainer.add_callback(Console::default());
//! let outcome = trainer.fit()?;
//! println!("test accuracy {:?}", outcome.last().test);
//! # Ok::<(), convkit_train::Error>(())
//! ```
pub mod callback;
pub mod callbacks;
pub mod checkpoint;
pub mod compare;
pub mod config;
pub mod datasets;
mod divergence;
pub mod early_stopping;
mod epoch;
mod error;
pub mod eval;
pub mod finetune;
mod fit;
pub mod lr_find;
pub mod metrics;
pub mod recipe;
pub mod replicas;
mod run;
mod run_data;
pub mod run_dir;
pub mod step;
pub mod tensorboard;
mod tensors;
mod trainer;
mod whitening;

pub use callback::{Callback, Control};
pub use config::TrainConfig;
pub use datasets::DatasetName;
pub use error::{Error, Result};
pub use fit::FitOutcome;
pub use replicas::Replicas;
pub use run_data::RunData;
pub use step::{GradientHook, StandardStep, StepBatch, StepOutput, TrainStep};
pub use tensors::batch_images;
pub use trainer::{Trainer, CHANGEABLE_ON_RESUME};
