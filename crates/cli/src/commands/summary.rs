//! `convkit summary`: the layer-by-layer table of a zoo model (shapes, parameters, multiply-adds,
//! activation memory, receptive field), or the list of the zoo.
use crate::model_args::{build_named, input_and_classes, parse_input};
use clap::Args;
use convkit_models::{model_names, summarize};

#[derive(Args, Debug)]
#[command(
    after_help = "Multiply-adds count conv and linear layers (bias not counted); \
activation memory sums every layer's output for one image at 4 bytes per value; the receptive \
field is that of the last conv layer's output, followed through the model's graph."
)]
pub struct SummaryArgs {
    /// Model name (see --list).
    #[arg(required_unless_present = "list")]
    pub model: Option<String>,
    /// List the zoo's model names and exit.
    #[arg(long)]
    pub list: bool,
    /// Input of one image, CxHxW (also C×H×W) [default: the model's own: 1x28x28 for LeNet-5,
    /// 3x32x32 for the CIFAR models, 3x224x224 for the ImageNet ones].
    #[arg(long, value_parser = parse_input)]
    pub input: Option<[usize; 3]>,
    /// Number of classes of the classifier [default: the model's own: 10 for LeNet-5 and the
    /// CIFAR models, 1000 for the ImageNet ones].
    #[arg(long)]
    pub classes: Option<usize>,
}

pub fn run(args: SummaryArgs) -> anyhow::Result<()> {
    if args.list {
        for name in model_names() {
            println!("{name}");
        }
        return Ok(());
    }
    let name = args.model.expect("clap requires MODEL without --list");
    let (input, classes) = input_and_classes(&name, args.input, args.classes)?;
    let model = build_named(&name, input, classes)?;
    println!(
        "{name}, input {}×{}×{}, {classes} classes",
        input[0], input[1], input[2]
    );
    print!("{}", summarize(model.as_ref(), input)?);
    Ok(())
}
