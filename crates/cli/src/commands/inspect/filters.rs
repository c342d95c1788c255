//! `convkit inspect filters`: a conv layer's filters as a picture.
use super::{load_model, output_path, save_picture, save_raw};
use clap::{Args, ValueEnum};
use convkit_inspect::filters::{conv_weight, filter_picture, FilterView};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct FiltersArgs {
    /// Checkpoint written by `convkit train`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The conv layer, by its state_dict name (`conv1`, `layer1.0.conv1`).
    #[arg(long)]
    layer: String,
    /// How to show the filters (default: colour for 3 input channels, per channel for 1, the mean
    /// over input channels for deeper layers).
    #[arg(long, value_enum)]
    view: Option<View>,
    /// Pixels per weight.
    #[arg(long, default_value_t = 8)]
    zoom: u32,
    /// Output directory.
    #[arg(long, default_value = "inspect")]
    out: PathBuf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum View {
    Rgb,
    Channels,
    Mean,
}

pub fn run(args: FiltersArgs) -> anyhow::Result<()> {
    let inspected = load_model(&args.checkpoint)?;
    let weight = conv_weight(inspected.model.as_ref(), &args.layer)?;
    let view = match args.view {
        None => FilterView::default_for(&weight),
        Some(View::Rgb) => FilterView::Rgb,
        Some(View::Channels) => FilterView::Channels,
        Some(View::Mean) => FilterView::Mean,
    };
    let picture = filter_picture(&weight, view, args.zoom)?;
    let stem = format!("filters-{}", args.layer);
    save_picture(&picture, &output_path(&args.out, &format!("{stem}.png"))?)?;
    save_raw(
        &output_path(&args.out, &format!("{stem}.safetensors"))?,
        &[("weight", &weight)],
    )
}
