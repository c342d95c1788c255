//! `convkit predict`: classify image files with a saved checkpoint.
use crate::image_input::{load_image, InputFormat};
use clap::Args;
use convkit_nn::fusion::FusedModel;
use convkit_tensor::Tensor;
use convkit_train::checkpoint::load_model;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Checkpoint written by `convkit train`.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// PNG or JPEG files; converted to the model's channels and resized to its input size.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Invert brightness first (for dark digits on a light background; MNIST is light on dark).
    #[arg(long)]
    pub invert: bool,
    /// How many classes to list per image.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
}

pub fn run(args: PredictArgs) -> anyhow::Result<()> {
    if args.top == 0 {
        anyhow::bail!("--top must be at least 1");
    }
    let loaded = load_model(&args.checkpoint)?;
    let record = &loaded.record;
    let (h, w) = record.spec.input_size;
    let format = InputFormat {
        channels: record.spec.in_channels,
        height: h,
        width: w,
        normalize: record.normalize.clone(),
        invert: args.invert,
    };
    let model = FusedModel::new(loaded.model.as_ref())?;
    for path in &args.images {
        let pixels = load_image(path, &format)?;
        let input = Tensor::from_vec(pixels, [1, format.channels, h, w])?;
        let probs = model.forward(&input)?.softmax(1)?.to_vec();
        let mut ranked: Vec<(usize, f32)> = probs.into_iter().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let top: Vec<String> = ranked
            .iter()
            .take(args.top)
            .map(|&(class, p)| {
                let name = record
                    .class_names
                    .get(class)
                    .cloned()
                    .unwrap_or_else(|| class.to_string());
                format!("{name} {:.2}%", 100.0 * p)
            })
            .collect();
        println!("{}: {}", path.display(), top.join(", "));
    }
    Ok(())
}
