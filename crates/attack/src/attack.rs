//! Attacks by name, each with its settings, run at whatever ε a robustness sweep asks for.
use crate::carlini_wagner::{carlini_wagner_l2, CarliniWagnerConfig};
use crate::classifier::Classifier;
use crate::deepfool::{deepfool, DeepFoolConfig};
use crate::error::{Error, Result};
use crate::fgsm::{fgsm, fgsm_rs, FgsmConfig, FgsmRsConfig};
use crate::pgd::{pgd, PgdConfig};
use crate::pixels::Norm;
use convkit_tensor::Tensor;
use rand::Rng;

/// The names [`Attack::from_name`] knows.
pub const ATTACK_NAMES: &[&str] = &["fgsm", "fgsm-rs", "bim", "pgd", "pgd-l2", "deepfool", "cw"];

/// One attack with its settings; the ε of a bounded attack's config is replaced by the ε each
/// run asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Attack {
    Fgsm,
    FgsmRs(FgsmRsConfig),
    /// BIM's settings follow ε ([`PgdConfig::bim`]).
    Bim,
    Pgd(PgdConfig),
    DeepFool(DeepFoolConfig),
    CarliniWagner(CarliniWagnerConfig),
}

impl Attack {
    /// The attack called `name` (one of [`ATTACK_NAMES`]) with its paper's default settings.
    ///
    /// # Errors
    /// [`Error::UnknownAttack`] listing the names there are.
    pub fn from_name(name: &str) -> Result<Attack> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "fgsm" => Attack::Fgsm,
            "fgsm-rs" => Attack::FgsmRs(FgsmRsConfig::default()),
            "bim" => Attack::Bim,
            "pgd" => Attack::Pgd(PgdConfig::default()),
            "pgd-l2" => Attack::Pgd(PgdConfig::l2(1.0)),
            "deepfool" => Attack::DeepFool(DeepFoolConfig::default()),
            "cw" => Attack::CarliniWagner(CarliniWagnerConfig::default()),
            _ => {
                return Err(Error::UnknownAttack {
                    name: name.to_string(),
                    available: ATTACK_NAMES.join(", "),
                })
            }
        })
    }

    /// The short name, with the step count of iterative bounded attacks: `pgd-40`, `pgd-l2-40`.
    pub fn name(&self) -> String {
        match self {
            Attack::Fgsm => "fgsm".into(),
            Attack::FgsmRs(_) => "fgsm-rs".into(),
            Attack::Bim => "bim".into(),
            Attack::Pgd(c) => {
                let norm = if c.norm == Norm::L2 { "-l2" } else { "" };
                let restarts = if c.restarts > 1 {
                    format!("x{}", c.restarts)
                } else {
                    String::new()
                };
                format!("pgd{norm}-{}{restarts}", c.steps)
            }
            Attack::DeepFool(_) => "deepfool".into(),
            Attack::CarliniWagner(_) => "cw".into(),
        }
    }

    /// The norm ε is measured in.
    pub fn norm(&self) -> Norm {
        match self {
            Attack::Pgd(c) => c.norm,
            Attack::DeepFool(_) | Attack::CarliniWagner(_) => Norm::L2,
            _ => Norm::Linf,
        }
    }

    /// Whether the attack looks for the smallest perturbation (no ε of its own) rather than
    /// the strongest one inside a given ε-ball.
    pub fn is_minimal(&self) -> bool {
        matches!(self, Attack::DeepFool(_) | Attack::CarliniWagner(_))
    }

    /// Adversarial examples of `images` (pixels in [0, 1]): inside the ε-ball for a bounded
    /// attack; for a minimal one ([`Attack::is_minimal`]) its unbounded result, `eps` unused.
    ///
    /// # Errors
    /// Those of the attack run.
    pub fn run(
        &self,
        classifier: &Classifier,
        images: &Tensor,
        labels: &[usize],
        eps: f32,
        rng: &mut impl Rng,
    ) -> Result<Tensor> {
        match self {
            Attack::Fgsm => fgsm(classifier, images, labels, &FgsmConfig { eps }),
            Attack::FgsmRs(c) => {
                fgsm_rs(classifier, images, labels, &FgsmRsConfig { eps, ..*c }, rng)
            }
            Attack::Bim => pgd(classifier, images, labels, &PgdConfig::bim(eps), rng),
            Attack::Pgd(c) => pgd(classifier, images, labels, &PgdConfig { eps, ..*c }, rng),
            Attack::DeepFool(c) => deepfool(classifier, images, labels, c),
            Attack::CarliniWagner(c) => carlini_wagner_l2(classifier, images, labels, c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for name in ATTACK_NAMES {
            let attack = Attack::from_name(name).unwrap();
            assert!(
                attack.name().starts_with(name),
                "{name} → {}",
                attack.name()
            );
        }
        assert_eq!(Attack::from_name("PGD").unwrap().name(), "pgd-40");
        let err = Attack::from_name("fgm").unwrap_err().to_string();
        assert!(
            err.contains("unknown attack 'fgm'") && err.contains("deepfool"),
            "{err}"
        );
    }

    #[test]
    fn norms_follow_the_attack() {
        let norm = |name| Attack::from_name(name).unwrap().norm();
        assert_eq!(norm("pgd"), Norm::Linf);
        assert_eq!(norm("pgd-l2"), Norm::L2);
        assert_eq!(norm("cw"), Norm::L2);
        assert!(Attack::from_name("deepfool").unwrap().is_minimal());
        assert!(!Attack::from_name("bim").unwrap().is_minimal());
    }
}
