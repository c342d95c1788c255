//! Default training recipes: what `convkit train` uses, per dataset, for the options the command
//! line leaves unset, so that `convkit train --model resnet20 --dataset cifar10` trains sensibly.
use crate::commands::train::TrainArgs;
use crate::datasets::DatasetName;
use crate::optim_args::{OptimizerName, ScheduleName};

/// Fills the options `explicit` does not name with the dataset's recipe; returns the arguments and
/// a line describing what the recipe set (`None` when it set nothing).
///
/// CIFAR-10/100 get He et al.'s CIFAR setting with a cosine schedule instead of their step decays:
/// SGD with momentum 0.9 at lr 0.1 (batch 128), weight decay 5e-4 on weights only, cosine
/// annealing over the run, random 32×32 crops of the 4-pixel zero-padded image and horizontal
/// flips. MNIST-like datasets keep the plain defaults (SGD lr 0.01 momentum 0.9, batch 64).
pub fn apply(mut args: TrainArgs, explicit: &[String]) -> (TrainArgs, Option<String>) {
    if !matches!(args.dataset, DatasetName::Cifar10 | DatasetName::Cifar100) {
        return (args, None);
    }
    let unset = |id: &str| !explicit.iter().any(|e| e == id);
    let mut set = Vec::new();
    if unset("batch_size") {
        args.batch_size = 128;
        set.push("--batch-size 128".to_string());
    }
    if args.optim.optimizer == OptimizerName::Sgd {
        if unset("lr") {
            args.optim.lr = Some(0.1);
            set.push("--lr 0.1".into());
        }
        if unset("momentum") {
            args.optim.momentum = Some(0.9);
            set.push("--momentum 0.9".into());
        }
    }
    if unset("weight_decay") && unset("no_decay_bias_norm") {
        args.optim.weight_decay = Some(5e-4);
        args.optim.no_decay_bias_norm = true;
        set.push("--weight-decay 5e-4 --no-decay-bias-norm".into());
    }
    if unset("schedule") {
        args.optim.schedule = ScheduleName::Cosine;
        set.push("--schedule cosine".into());
    }
    if unset("augment") {
        args.data.augment = Some("crop,flip".into());
        set.push("--augment crop,flip".into());
    }
    let line = (!set.is_empty()).then(|| {
        format!(
            "{} recipe for the options not given: {}",
            args.dataset.as_str(),
            set.join(" ")
        )
    });
    (args, line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        train: TrainArgs,
    }

    fn parse(args: &[&str]) -> TrainArgs {
        Cli::parse_from(std::iter::once("train").chain(args.iter().copied())).train
    }

    #[test]
    fn cifar_gets_the_recipe_where_options_are_unset() {
        let (args, line) = apply(parse(&["--dataset", "cifar10"]), &[]);
        assert_eq!(args.batch_size, 128);
        assert_eq!(args.optim.lr, Some(0.1));
        assert_eq!(args.optim.weight_decay, Some(5e-4));
        assert!(args.optim.no_decay_bias_norm);
        assert_eq!(args.optim.schedule, ScheduleName::Cosine);
        assert_eq!(args.data.augment.as_deref(), Some("crop,flip"));
        assert!(line.unwrap().starts_with("cifar10 recipe"));
    }

    #[test]
    fn explicit_options_win_and_other_datasets_are_untouched() {
        let given = parse(&[
            "--dataset",
            "cifar100",
            "--lr",
            "0.05",
            "--batch-size",
            "32",
        ]);
        let (args, _) = apply(given, &["lr".into(), "batch_size".into()]);
        assert_eq!((args.optim.lr, args.batch_size), (Some(0.05), 32));
        assert_eq!(args.optim.schedule, ScheduleName::Cosine);

        let adam = parse(&["--dataset", "cifar10", "--optimizer", "adam"]);
        let (args, _) = apply(adam, &["optimizer".into()]);
        assert_eq!(args.optim.lr, None, "Adam keeps its own default rate");

        let (args, line) = apply(parse(&[]), &[]);
        assert_eq!((args.batch_size, args.optim.lr, line), (64, None, None));
        assert_eq!(args.data.augment, None);
    }
}
