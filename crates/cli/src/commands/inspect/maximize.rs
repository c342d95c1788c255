//! `convkit inspect maximize`: images that maximise a class score or a channel's activation.
use super::{class_name, load_model, output_path, save_picture, save_raw, zoom_for};
use clap::Args;
use convkit_inspect::maximize::{maximize, MaximizeConfig, Target};
use convkit_inspect::render::{denormalize, Grid};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct MaximizeArgs {
    /// Checkpoint written by `convkit train`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Maximise these channels of this layer (by its state_dict name) instead of class scores.
    #[arg(long)]
    layer: Option<String>,
    /// Classes (or, with --layer, channels), comma-separated (default: every class; with
    /// --layer, channels 0 to 15).
    #[arg(long, value_delimiter = ',')]
    targets: Vec<usize>,
    /// Gradient-ascent steps.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Step size (normalised units, gradient scaled to mean magnitude 1).
    #[arg(long, default_value_t = 0.05)]
    lr: f32,
    /// Random shift before each step, in pixels.
    #[arg(long, default_value_t = 2)]
    jitter: usize,
    /// Weight of the L2 penalty.
    #[arg(long, default_value_t = 1e-3)]
    l2: f32,
    /// Weight of the total-variation penalty.
    #[arg(long, default_value_t = 0.05)]
    tv: f32,
    /// Blur every this many steps (0: never).
    #[arg(long, default_value_t = 4)]
    blur_every: usize,
    /// Seed of the start images and the jitter.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory.
    #[arg(long, default_value = "inspect")]
    out: PathBuf,
}

pub fn run(args: MaximizeArgs) -> anyhow::Result<()> {
    let inspected = load_model(&args.checkpoint)?;
    let spec = &inspected.spec;
    let targets = match (&args.layer, args.targets.is_empty()) {
        (_, false) => args.targets.clone(),
        (None, true) => (0..spec.num_classes).collect(),
        (Some(_), true) => (0..16).collect(),
    };
    let target = args
        .layer
        .as_deref()
        .map_or(Target::Classes, Target::Channels);
    let config = MaximizeConfig {
        steps: args.steps,
        lr: args.lr,
        jitter: args.jitter,
        l2: args.l2,
        tv: args.tv,
        blur_every: args.blur_every,
        seed: args.seed,
    };
    let (h, w) = spec.input_size;
    let dims = [spec.in_channels, h, w];
    let images = maximize(
        inspected.model.as_ref(),
        dims,
        target,
        &targets,
        &inspected.normalize,
        &config,
    )?;
    let title = match &args.layer {
        Some(layer) => format!("channels of '{layer}' maximised"),
        None => "class scores maximised".to_string(),
    };
    let mut grid = Grid::new(
        (targets.len() as f64).sqrt().ceil() as usize,
        zoom_for(h.max(w)),
    )
    .with_title(title);
    for (i, &t) in targets.iter().enumerate() {
        let image = images.narrow(0, i, 1)?.reshape(&dims)?;
        let caption = match &args.layer {
            Some(_) => format!("ch {t}"),
            None => class_name(&inspected, t),
        };
        grid.push(denormalize(&image, &inspected.normalize)?, caption);
    }
    let stem = match &args.layer {
        Some(layer) => format!("maximize-{layer}"),
        None => "maximize-classes".to_string(),
    };
    save_picture(
        &grid.render(),
        &output_path(&args.out, &format!("{stem}.png"))?,
    )?;
    save_raw(
        &output_path(&args.out, &format!("{stem}.safetensors"))?,
        &[("images", &images)],
    )
}
