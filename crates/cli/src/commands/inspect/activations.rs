//! `convkit inspect activations`: a layer's feature maps for one image.
use super::{load_model, output_path, save_picture, save_raw, zoom_for, ImageSource};
use clap::Args;
use convkit_inspect::probe::{channels_by_mean, check_channels, feature_maps};
use convkit_inspect::render::{
    colorbar, denormalize, hstack, map_image, value_range, Colormap, Grid,
};
use convkit_tensor::Tensor;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ActivationsArgs {
    /// Checkpoint written by `convkit train`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The layer, by its state_dict name (`relu1`, `layer2.0`).
    #[arg(long)]
    layer: String,
    #[command(flatten)]
    source: ImageSource,
    /// Channels to show, in this order (default: all, largest mean activation first).
    #[arg(long, value_delimiter = ',')]
    channels: Vec<usize>,
    /// Show at most this many channels.
    #[arg(long, default_value_t = 64)]
    max: usize,
    /// Output directory.
    #[arg(long, default_value = "inspect")]
    out: PathBuf,
}

pub fn run(args: ActivationsArgs) -> anyhow::Result<()> {
    let inspected = load_model(&args.checkpoint)?;
    let input = args.source.load(&inspected)?;
    check_channels(&input.tensor, inspected.spec.in_channels)?;
    let maps = feature_maps(inspected.model.as_ref(), &input.tensor, &args.layer)?;
    let &[k, h, w] = maps.dims() else {
        anyhow::bail!(
            "layer '{}' gives {:?} values per image, not feature maps [channels, height, width]",
            args.layer,
            maps.dims()
        );
    };
    if let Some(&bad) = args.channels.iter().find(|&&c| c >= k) {
        anyhow::bail!(
            "channel {bad} is out of range: layer '{}' has {k} channels",
            args.layer
        );
    }
    let order = if args.channels.is_empty() {
        channels_by_mean(&maps)
    } else {
        args.channels.clone()
    };
    let data = maps.data();
    let range = value_range(&data);
    let mut grid = Grid::new(
        (order.len().min(args.max) as f64).sqrt().ceil() as usize,
        zoom_for(h.max(w)),
    )
    .with_title(format!("{} at '{}' ({k} channels)", input.name, args.layer));
    grid.push(denormalize(&input.tensor, &inspected.normalize)?, "input");
    for &c in order.iter().take(args.max) {
        let plane = Tensor::from_vec(data[c * h * w..(c + 1) * h * w].to_vec(), [h, w])?;
        grid.push(map_image(&plane, Colormap::Heat, range)?, format!("ch {c}"));
    }
    drop(data);
    let picture = grid.render();
    let picture = hstack(
        &picture,
        &colorbar(picture.height().min(256), Colormap::Heat, range.0, range.1),
    );
    let stem = format!("activations-{}-{}", args.layer, input.name);
    save_picture(&picture, &output_path(&args.out, &format!("{stem}.png"))?)?;
    save_raw(
        &output_path(&args.out, &format!("{stem}.safetensors"))?,
        &[("activations", &maps)],
    )
}
