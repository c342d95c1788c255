//! `convkit inspect errors`: fastai's top losses and most confused classes.
use super::{
    class_name, load_model, output_path, save_picture, stored_image, zoom_for, DatasetSource,
};
use clap::Args;
use convkit_data::Split;
use convkit_inspect::render::Grid;
use convkit_inspect::top_losses::{most_confused, outcomes_by_loss};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ErrorsArgs {
    /// Checkpoint written by `convkit train`.
    #[arg(long)]
    checkpoint: PathBuf,
    #[command(flatten)]
    source: DatasetSource,
    /// How many of the largest losses to show.
    #[arg(long, default_value_t = 16)]
    top: usize,
    /// Output directory.
    #[arg(long, default_value = "inspect")]
    out: PathBuf,
}

pub fn run(args: ErrorsArgs) -> anyhow::Result<()> {
    let inspected = load_model(&args.checkpoint)?;
    let evaluated = args
        .source
        .evaluate(&inspected, Split::Test, args.source.limit, None)?;
    let outcomes = outcomes_by_loss(&evaluated.logits, &evaluated.labels);
    let wrong = outcomes.iter().filter(|o| o.label != o.predicted).count();
    println!(
        "{} of {} test images misclassified ({:.2}%)",
        wrong,
        outcomes.len(),
        100.0 * wrong as f64 / outcomes.len().max(1) as f64
    );
    let name = |c| class_name(&inspected, c);
    let data = &evaluated.data;
    let mut grid = Grid::new(4, zoom_for(data.height().max(data.width())))
        .with_title("top losses: predicted/true (probability of the prediction), loss");
    for o in outcomes.iter().take(args.top) {
        grid.push(
            stored_image(data, o.index),
            format!(
                "{}/{} ({:.2}) {:.1}",
                name(o.predicted),
                name(o.label),
                o.probability,
                o.loss
            ),
        );
    }
    println!("most confused (true → predicted: count):");
    for (t, p, n) in most_confused(&outcomes).into_iter().take(10) {
        println!("  {} → {}: {n}", name(t), name(p));
    }
    save_picture(&grid.render(), &output_path(&args.out, "errors.png")?)
}
