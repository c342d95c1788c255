//! `convkit train`'s optimiser, learning-rate schedule and gradient-clipping flags. Each flag left
//! out keeps the configuration's value (from `--config`, else the default or the recipe).
use crate::config_flags::names;
use clap::Args;
use convkit_nn::optim::LookaheadConfig;
use convkit_train::config::{
    AnnealName, CyclicModeName, IntervalName, OptimizerName, ScheduleName, TrainConfig,
};

pub const OPTIMIZERS: &[&str] = &["sgd", "adam", "adamw", "rmsprop", "adagrad"];
const SCHEDULES: &[&str] = &[
    "constant",
    "step",
    "multistep",
    "exponential",
    "cosine",
    "warm-restarts",
    "linear",
    "inverse-sqrt",
    "one-cycle",
    "cyclic",
    "plateau",
];

// Numbers may be negative on the command line (`--lr -1`), so that the configuration's check
// names the flag and the value rather than clap reading `-1` as an unknown option.
#[derive(Args, Debug, Clone, Default)]
pub struct OptimArgs {
    /// Optimiser: SGD with momentum; Adam (weight decay as an L2 term); AdamW (decoupled weight
    /// decay); RMSprop; AdaGrad [default: sgd].
    #[arg(long, value_parser = names::<OptimizerName>(OPTIMIZERS))]
    pub optimizer: Option<OptimizerName>,
    /// Learning rate, or `auto` to take the learning-rate range test's suggestion (see `convkit
    /// lr-find`) [default: 0.01 for SGD and AdaGrad, 0.001 for Adam, AdamW and RMSprop].
    #[arg(long, value_parser = parse_lr, allow_negative_numbers = true)]
    pub lr: Option<LrFlag>,
    /// Momentum for SGD and RMSprop [default: 0.9 for SGD, 0 for RMSprop].
    #[arg(long, allow_negative_numbers = true)]
    pub momentum: Option<f32>,
    /// Nesterov momentum (SGD).
    #[arg(long)]
    pub nesterov: bool,
    /// Weight decay: an L2 term added to the gradient, decoupled for AdamW [default: 0, 0.01 for AdamW].
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f32>,
    /// No weight decay on biases and normalisation parameters (every parameter with one dimension).
    #[arg(long)]
    pub no_decay_bias_norm: bool,
    /// Lookahead around the optimiser: every this many steps the weights go back part of the way
    /// (--lookahead-alpha) toward slow weights that follow them (Zhang et al. 2019).
    #[arg(long)]
    pub lookahead: Option<usize>,
    /// Lookahead: fraction of the way the slow weights move toward the fast ones [default: 0.5].
    #[arg(long, allow_negative_numbers = true, requires = "lookahead")]
    pub lookahead_alpha: Option<f32>,
    /// Rescale the gradients so that their global L2 norm is at most this.
    #[arg(long, allow_negative_numbers = true)]
    pub clip_grad_norm: Option<f32>,
    /// Clamp every gradient element into [-v, v].
    #[arg(long, allow_negative_numbers = true)]
    pub clip_grad_value: Option<f32>,
    /// Learning-rate schedule: step (× gamma every --step-size steps), multistep (× gamma at
    /// --milestones), exponential, cosine (to --eta-min over --t-max steps), warm-restarts (cosine
    /// restarted every --t-0 steps), linear (--start-factor to --end-factor), inverse-sqrt,
    /// one-cycle (up to --max-lr and down), cyclic (between lr and --max-lr), plateau (× gamma
    /// when the validation loss stalls for --patience epochs) [default: constant].
    #[arg(long, value_parser = names::<ScheduleName>(SCHEDULES))]
    pub schedule: Option<ScheduleName>,
    /// When the schedule advances [default: batch for one-cycle and cyclic, epoch otherwise].
    #[arg(long, value_parser = names::<IntervalName>(&["batch", "epoch"]))]
    pub schedule_interval: Option<IntervalName>,
    /// Linear warm-up from lr·--warmup-start-factor over this many epochs, before the schedule
    /// starts.
    #[arg(long)]
    pub warmup_epochs: Option<usize>,
    /// Warm-up over this fraction of the run's steps instead of whole epochs.
    #[arg(long)]
    pub warmup_fraction: Option<f64>,
    /// The warm-up's first rate as a fraction of lr [default: 0.1].
    #[arg(long)]
    pub warmup_start_factor: Option<f32>,
    /// step: steps between decays [default: a third of the run].
    #[arg(long)]
    pub step_size: Option<usize>,
    /// multistep: comma-separated steps at which the rate is multiplied by gamma.
    #[arg(long, value_delimiter = ',')]
    pub milestones: Option<Vec<usize>>,
    /// Decay factor of step, multistep, plateau [default: 0.1], exponential [default: 0.95] and
    /// cyclic exp-range [default: 0.99994].
    #[arg(long, allow_negative_numbers = true)]
    pub gamma: Option<f32>,
    /// cosine, linear: steps to the end [default: the rest of the run after warm-up].
    #[arg(long)]
    pub t_max: Option<usize>,
    /// cosine, warm-restarts: the lowest rate [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    pub eta_min: Option<f32>,
    /// warm-restarts: first period [default: a quarter of the run].
    #[arg(long)]
    pub t_0: Option<usize>,
    /// warm-restarts: period growth factor [default: 1].
    #[arg(long)]
    pub t_mult: Option<usize>,
    /// linear: factor at the start [default: 1].
    #[arg(long, allow_negative_numbers = true)]
    pub start_factor: Option<f32>,
    /// linear: factor at the end [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    pub end_factor: Option<f32>,
    /// inverse-sqrt: steps before the decay starts [default: one epoch].
    #[arg(long)]
    pub timescale: Option<usize>,
    /// one-cycle, cyclic: the peak rate [default: 10·lr].
    #[arg(long, allow_negative_numbers = true)]
    pub max_lr: Option<f32>,
    /// one-cycle: the fraction of the run spent rising to --max-lr [default: 0.3].
    #[arg(long, allow_negative_numbers = true)]
    pub pct_start: Option<f32>,
    /// one-cycle: how the rate moves between its values [default: cos].
    #[arg(long, value_parser = names::<AnnealName>(&["cos", "linear"]))]
    pub anneal: Option<AnnealName>,
    /// one-cycle: the first rate is --max-lr / this [default: 25].
    #[arg(long, allow_negative_numbers = true)]
    pub div_factor: Option<f32>,
    /// one-cycle: the last rate is the first one / this [default: 1e4].
    #[arg(long, allow_negative_numbers = true)]
    pub final_div_factor: Option<f32>,
    /// cyclic: steps from lr up to --max-lr (and as many back down) [default: one epoch].
    #[arg(long)]
    pub cycle_steps: Option<usize>,
    /// cyclic: amplitude policy [default: triangular].
    #[arg(long, value_parser = names::<CyclicModeName>(&["triangular", "triangular2", "exp-range"]))]
    pub cyclic_mode: Option<CyclicModeName>,
    /// plateau: epochs without improvement before the rate is cut [default: 10].
    #[arg(long)]
    pub patience: Option<usize>,
}

/// A `--lr` value: a rate, or `auto`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LrFlag {
    Rate(f32),
    Auto,
}

fn parse_lr(text: &str) -> Result<LrFlag, String> {
    if text == "auto" {
        return Ok(LrFlag::Auto);
    }
    text.parse()
        .map(LrFlag::Rate)
        .map_err(|_| format!("'{text}' is neither a number nor `auto`"))
}

/// `*target = value` when the flag was given.
pub fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

impl OptimArgs {
    /// Whether `--lr auto` was given.
    pub fn lr_is_auto(&self) -> bool {
        self.lr == Some(LrFlag::Auto)
    }

    /// Sets the fields of `config` that these flags give.
    pub fn apply(&self, config: &mut TrainConfig) {
        let o = &mut config.optimizer;
        set(&mut o.name, self.optimizer);
        if let Some(LrFlag::Rate(lr)) = self.lr {
            o.lr = Some(lr);
        }
        set(&mut o.momentum, self.momentum.map(Some));
        set(&mut o.weight_decay, self.weight_decay.map(Some));
        if self.nesterov {
            o.nesterov = true;
        }
        if self.no_decay_bias_norm {
            o.no_decay_bias_norm = Some(true);
        }
        if let Some(k) = self.lookahead {
            let alpha = self.lookahead_alpha;
            let base = o.lookahead.unwrap_or_default();
            o.lookahead = Some(LookaheadConfig {
                k,
                alpha: alpha.unwrap_or(base.alpha),
                ..base
            });
        }
        set(&mut config.clip.norm, self.clip_grad_norm.map(Some));
        set(&mut config.clip.value, self.clip_grad_value.map(Some));
        let s = &mut config.schedule;
        set(&mut s.kind, self.schedule.map(Some));
        set(&mut s.interval, self.schedule_interval.map(Some));
        set(&mut s.warmup_epochs, self.warmup_epochs);
        set(&mut s.warmup_fraction, self.warmup_fraction.map(Some));
        set(&mut s.warmup_start_factor, self.warmup_start_factor);
        set(&mut s.step_size, self.step_size.map(Some));
        set(&mut s.milestones, self.milestones.clone());
        set(&mut s.gamma, self.gamma.map(Some));
        set(&mut s.t_max, self.t_max.map(Some));
        set(&mut s.eta_min, self.eta_min);
        set(&mut s.t_0, self.t_0.map(Some));
        set(&mut s.t_mult, self.t_mult);
        set(&mut s.start_factor, self.start_factor);
        set(&mut s.end_factor, self.end_factor);
        set(&mut s.timescale, self.timescale.map(Some));
        set(&mut s.max_lr, self.max_lr.map(Some));
        set(&mut s.pct_start, self.pct_start);
        set(&mut s.anneal, self.anneal);
        set(&mut s.div_factor, self.div_factor);
        set(&mut s.final_div_factor, self.final_div_factor);
        set(&mut s.cycle_steps, self.cycle_steps.map(Some));
        set(&mut s.cyclic_mode, self.cyclic_mode);
        set(&mut s.patience, self.patience);
    }
}
