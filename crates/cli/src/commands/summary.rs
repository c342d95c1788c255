//! `convkit summary`: the layer-by-layer table of a zoo model (shapes, parameters, multiply-adds,
//! activation memory, receptive field), or the list of the zoo.
use crate::model_args::{build_named, parse_input};
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
    /// Input of one image, CxHxW (also C×H×W).
    #[arg(long, default_value = "3x224x224", value_parser = parse_input)]
    pub input: [usize; 3],
    /// Number of classes of the classifier.
    #[arg(long, default_value_t = 1000)]
    pub classes: usize,
}

pub fn run(args: SummaryArgs) -> anyhow::Result<()> {
    if args.list {
        for name in model_names() {
            println!("{name}");
        }
        return Ok(());
    }
    let name = args.model.expect("clap requires MODEL without --list");
    let model = build_named(&name, args.input, args.classes)?;
    println!("{name}, {} classes", args.classes);
    print!("{}", summarize(model.as_ref(), args.input)?);
    Ok(())
}
