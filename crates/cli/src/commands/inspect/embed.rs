//! `convkit inspect embed`: penultimate-layer features of test images and their t-SNE.
use super::{class_name, load_model, output_path, save_picture, save_raw, DatasetSource};
use clap::Args;
use convkit_data::Split;
use convkit_inspect::render::scatter;
use convkit_inspect::tsne::{tsne, TsneConfig};
use convkit_tensor::Tensor;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// Checkpoint written by `convkit train`.
    #[arg(long)]
    checkpoint: PathBuf,
    #[command(flatten)]
    source: DatasetSource,
    /// Layer whose output are the features (default: the classifier's input).
    #[arg(long)]
    layer: Option<String>,
    /// t-SNE perplexity.
    #[arg(long, default_value_t = 30.0)]
    perplexity: f32,
    /// t-SNE iterations.
    #[arg(long, default_value_t = 1000)]
    iterations: usize,
    /// Seed of t-SNE's initial embedding.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Side of the plot, in pixels.
    #[arg(long, default_value_t = 600)]
    size: u32,
    /// Output directory.
    #[arg(long, default_value = "inspect")]
    out: PathBuf,
}

pub fn run(args: EmbedArgs) -> anyhow::Result<()> {
    let inspected = load_model(&args.checkpoint)?;
    let evaluated = args.source.evaluate(
        &inspected,
        Split::Test,
        args.source.limit,
        args.layer.as_deref(),
    )?;
    let n = evaluated.labels.len();
    println!(
        "features of {n} test images: {} values each",
        evaluated.features.dims()[1]
    );
    let config = TsneConfig {
        perplexity: args.perplexity,
        iterations: args.iterations,
        seed: args.seed,
        ..Default::default()
    };
    let start = Instant::now();
    let embedding = tsne(&evaluated.features, &config)?;
    println!(
        "t-SNE of {n} points: {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let points: Vec<[f32; 2]> = embedding.data().chunks(2).map(|p| [p[0], p[1]]).collect();
    let classes = evaluated.logits.dims()[1];
    let names: Vec<String> = (0..classes).map(|c| class_name(&inspected, c)).collect();
    let plot = scatter(&points, &evaluated.labels, &names, args.size);
    save_picture(&plot, &output_path(&args.out, "embed-tsne.png")?)?;
    let labels = Tensor::from_vec(evaluated.labels.iter().map(|&l| l as f32).collect(), [n])?;
    save_raw(
        &output_path(&args.out, "embed.safetensors")?,
        &[
            ("features", &evaluated.features),
            ("labels", &labels),
            ("tsne", &embedding),
        ],
    )
}
