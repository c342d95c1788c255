//! convkit-nn: the building blocks of a CNN on top of `convkit-tensor`.
//!
//! - [`Module`]: `forward(x, mode)` with an explicit [`Mode`], parameters and buffers named exactly as
//!   in PyTorch's `state_dict` (`features.3.weight`, `bn1.running_mean`).
//! - [`layers`]: `Linear`, `Conv1d`/`Conv2d`/`Conv3d` (one generic `ConvNd`),
//!   `ConvTranspose1d/2d/3d` (one `ConvTransposeNd`), pooling (max/avg/adaptive/global,
//!   unpooling, BlurPool, channel max-pool), normalisation (batch, layer, group, instance, local
//!   response), activations (`ReLU`, `GELU`, `PReLU`, `Maxout`, `Softmax`, ...), dropout
//!   variants (`Dropout`, `Dropout2d`, `DropConnect`, `StochasticDepth`), `Flatten`, `Sequential`,
//!   one per file, each built from a config struct with PyTorch's argument names and defaults.
//! - [`losses`]: `CrossEntropyLoss`, `NLLLoss`, `MSELoss`, `L1Loss`, `SmoothL1Loss`,
//!   `BCEWithLogitsLoss`, `MultiMarginLoss` behind one [`losses::Loss`] trait.
//! - [`regularizer`]: L2 / L1 / elastic-net penalties added to the loss, on weights only by default.
//! - [`init`]: `torch.nn.init`'s initialisers, and PyTorch's default for `Linear`/`Conv2d`;
//!   [`init_stats`]: the activation-statistics experiment behind them.
//! - [`optim`]: the [`optim::Optimizer`] trait, SGD, Adam/AdamW, AdaGrad, RMSprop and L-BFGS,
//!   parameter groups, gradient clipping, named state for checkpoints.
//! - [`schedule`]: learning-rate schedules (`torch.optim.lr_scheduler`), stepped per batch or epoch.
//! - [`fold`]: folding an eval-mode batch norm into the preceding `Conv2d` or `Linear`;
//!   [`fusion::FusedModel`]: the inference path that folds every such pair of a model (and runs the
//!   activation after it in place), leaving the model itself untouched.
//! - [`ForwardPass`]: one forward pass through the module tree; containers run their children
//!   through [`ForwardPass::call`], where [`ForwardHook`]s see (and may replace) every named call.
//!   [`trace::trace`] records every call's name and shapes for `convkit summary`;
//!   [`backward_hooks`] reads and changes the gradient at chosen module outputs.
//! - [`rng_scope`]: per-epoch seeding of the dropout layers, so a resumed run draws the same masks.
//! - [`sync_batch_norm`]: batch statistics summed across data-parallel replicas (SyncBatchNorm).
//! - [`checkpoint`]: safetensors checkpoints (state_dict + JSON metadata, optimiser state beside),
//!   written atomically, loaded with every mismatch reported at once.
//! - [`torch`]: PyTorch state_dicts in (`.pth` via a safe unpickler, or safetensors) and out.
//!
//! ```
//! use convkit_nn::layers::{Linear, LinearConfig, ReLU, Sequential};
//! use convkit_nn::optim::{Optimizer, Sgd, SgdConfig};
//! use convkit_nn::{Mode, Module};
//! use convkit_tensor::{seeded_rng, Tensor};
//!
//! let mut rng = seeded_rng(0);
//! let model = Sequential::new(vec![
//!     Box::new(Linear::new(2, 8, LinearConfig::default(), &mut rng).unwrap()),
//!     Box::new(ReLU),
//!     Box::new(Linear::new(8, 2, LinearConfig::default(), &mut rng).unwrap()),
//! ]);
//! let mut opt = Sgd::new(model.parameters(), SgdConfig { lr: 0.1, ..Default::default() }).unwrap();
//! let x = Tensor::randn([4, 2], &mut rng);
//! let loss = model.forward(&x, Mode::Train).unwrap().cross_entropy(&[0, 1, 0, 1]).unwrap();
//! opt.zero_grad();
//! loss.backward().unwrap();
//! opt.step().unwrap();
//! ```
pub mod backward_hooks;
pub mod checkpoint;
mod error;
pub mod fold;
mod forward_pass;
pub mod fusion;
pub mod init;
pub mod init_stats;
pub mod io;
pub mod layers;
pub mod losses;
mod module;
pub mod optim;
pub mod regularizer;
pub mod reinit;
pub mod rng_scope;
pub mod schedule;
pub mod sync_batch_norm;
pub mod torch;
pub mod trace;

pub use error::{Error, Result, StateProblem};
pub use forward_pass::{ForwardHook, ForwardPass, ModuleCall};
pub use module::{join_name, Mode, Module, TensorKind};
