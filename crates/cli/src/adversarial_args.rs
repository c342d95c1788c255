//! `convkit train`'s adversarial-training flags (the `[adversarial]` section of a run's config).
use crate::config_flags::names;
use crate::optim_args::set;
use clap::Args;
use convkit_train::config::{AdversarialConfig, AdversarialMethod};
use convkit_train::TrainConfig;

#[derive(Args, Debug, Clone, Default)]
pub struct AdversarialArgs {
    /// Train on adversarial examples: fgsm-rs (FGSM from a random start, step 1.25ε; Wong et al.
    /// 2020), fgsm (from the clean image; prone to catastrophic overfitting) or pgd (Madry et al.);
    /// robust accuracy under PGD is measured after every epoch.
    #[arg(long, value_parser = names::<AdversarialMethod>(&["fgsm-rs", "fgsm", "pgd"]))]
    pub adversarial: Option<AdversarialMethod>,
    /// The attack's L∞ radius in pixel units, [0, 1] scale [default: 0.3].
    #[arg(long, requires = "adversarial")]
    pub adv_eps: Option<f32>,
    /// The attack's step size [default: 1.25ε for fgsm-rs, ε for fgsm, 2.5ε/steps for pgd].
    #[arg(long, requires = "adversarial")]
    pub adv_alpha: Option<f32>,
    /// PGD steps when training with pgd [default: 10].
    #[arg(long = "steps", requires = "adversarial")]
    pub adv_steps: Option<usize>,
    /// ε grows linearly from 0 over this many first epochs [default: 0].
    #[arg(long, requires = "adversarial")]
    pub adv_warmup_epochs: Option<usize>,
    /// Robust accuracy after each epoch: PGD steps (0: not measured) [default: 20].
    #[arg(long, requires = "adversarial")]
    pub adv_eval_steps: Option<usize>,
    /// ... its restarts [default: 1].
    #[arg(long, requires = "adversarial")]
    pub adv_eval_restarts: Option<usize>,
    /// ... on this many test images [default: 1000].
    #[arg(long, requires = "adversarial")]
    pub adv_eval_images: Option<usize>,
}

impl AdversarialArgs {
    /// Sets the `[adversarial]` fields of `config` that these flags give.
    pub fn apply(&self, config: &mut TrainConfig) {
        let Some(method) = self.adversarial else {
            return;
        };
        let a = config
            .adversarial
            .get_or_insert_with(AdversarialConfig::default);
        a.method = method;
        set(&mut a.eps, self.adv_eps);
        set(&mut a.alpha, self.adv_alpha.map(Some));
        set(&mut a.steps, self.adv_steps);
        set(&mut a.warmup_epochs, self.adv_warmup_epochs);
        set(&mut a.eval_steps, self.adv_eval_steps);
        set(&mut a.eval_restarts, self.adv_eval_restarts);
        set(&mut a.eval_images, self.adv_eval_images);
    }
}
