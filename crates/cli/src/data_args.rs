//! `convkit train`'s data flags: augmentation, mixup, loader worker threads, validation split.
use crate::optim_args::set;
use clap::Args;
use convkit_train::TrainConfig;

#[derive(Args, Debug, Clone, Default)]
pub struct DataArgs {
    /// Augmentation applied to training images, comma-separated, each with optional parameters
    /// (e.g. crop:padding=2,flip,jitter; see `convkit augment --help`). Validation and test
    /// images are never augmented; `none` turns off the dataset recipe's augmentation.
    #[arg(long)]
    pub augment: Option<String>,
    /// Threads preparing training batches ahead of the model; batches don't depend on this number
    /// [default: 1].
    #[arg(long)]
    pub workers: Option<usize>,
    /// Fraction of the training set held out for validation (drawn with the run's seed); the best
    /// checkpoint is then chosen by validation accuracy instead of test accuracy [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    pub val_fraction: Option<f64>,
    /// Mixup: blend each training image with another at a Beta(α, α) ratio and train on the blended
    /// (soft) targets.
    #[arg(long, value_name = "ALPHA", allow_negative_numbers = true)]
    pub mixup: Option<f32>,
    /// Label smoothing ε: train on targets (1 − ε)·one-hot + ε/classes, PyTorch's
    /// `CrossEntropyLoss(label_smoothing=ε)`.
    #[arg(long, value_name = "EPSILON", allow_negative_numbers = true)]
    pub label_smoothing: Option<f32>,
    /// Only these classes of the training and test sets, relabelled 0..k in the order given:
    /// classes and ranges such as `0-4` or `5,6,7,8,9`.
    #[arg(long, value_name = "LIST", value_parser = parse_class_list)]
    pub classes: Option<ClassList>,
}

/// The classes of `--classes` (a type of its own: clap would read a `Vec` as repeated values).
#[derive(Clone, Debug, Default)]
pub struct ClassList(pub Vec<usize>);

/// `--classes`: a class list, its error as the message.
fn parse_class_list(text: &str) -> Result<ClassList, String> {
    convkit_data::parse_classes(text)
        .map(ClassList)
        .map_err(|e| e.to_string())
}

impl DataArgs {
    /// Sets the fields of `config` that these flags give.
    pub fn apply(&self, config: &mut TrainConfig) {
        let d = &mut config.data;
        set(&mut d.augment, self.augment.clone().map(Some));
        set(&mut d.workers, self.workers);
        set(&mut d.val_fraction, self.val_fraction);
        set(&mut d.mixup, self.mixup.map(Some));
        set(&mut d.label_smoothing, self.label_smoothing.map(Some));
        set(&mut d.classes, self.classes.clone().map(|c| Some(c.0)));
    }
}
