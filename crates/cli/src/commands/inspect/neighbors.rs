//! `convkit inspect neighbors`: nearest training images in feature space and in pixel space.
use super::{
    class_name, load_model, output_path, save_picture, stored_image, zoom_for, DatasetSource,
};
use clap::{Args, ValueEnum};
use convkit_data::Split;
use convkit_inspect::dataset::normalized_batch;
use convkit_inspect::neighbors::{nearest, Metric};
use convkit_inspect::render::Grid;
use convkit_tensor::Tensor;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct NeighborsArgs {
    /// Checkpoint written by `convkit train`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Test-set images to query, comma-separated indices.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2,3")]
    index: Vec<usize>,
    #[command(flatten)]
    source: DatasetSource,
    /// Neighbours per query.
    #[arg(long, default_value_t = 8)]
    k: usize,
    /// Distance between feature vectors.
    #[arg(long, value_enum, default_value = "l2")]
    metric: MetricArg,
    /// Layer whose output are the features (default: the classifier's input).
    #[arg(long)]
    layer: Option<String>,
    /// Output directory.
    #[arg(long, default_value = "inspect")]
    out: PathBuf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum MetricArg {
    L2,
    Cosine,
}

pub fn run(args: NeighborsArgs) -> anyhow::Result<()> {
    let inspected = load_model(&args.checkpoint)?;
    let metric = match args.metric {
        MetricArg::L2 => Metric::L2,
        MetricArg::Cosine => Metric::Cosine,
    };
    // The pool: the first --limit training images.
    let pool = args.source.evaluate(
        &inspected,
        Split::Train,
        args.source.limit,
        args.layer.as_deref(),
    )?;
    let queries = args.source.evaluate(
        &inspected,
        Split::Test,
        args.index.iter().max().map_or(0, |m| m + 1),
        args.layer.as_deref(),
    )?;
    if let Some(&bad) = args.index.iter().find(|&&i| i >= queries.data.len()) {
        anyhow::bail!(
            "--index {bad} is out of range: the test set has {} images",
            queries.data.len()
        );
    }
    let rows = |t: &Tensor, indices: &[usize]| -> anyhow::Result<Tensor> {
        let f = t.dims()[1];
        let data: Vec<f32> = indices
            .iter()
            .flat_map(|&i| t.data()[i * f..(i + 1) * f].to_vec())
            .collect();
        Ok(Tensor::from_vec(data, [indices.len(), f])?)
    };
    let query_features = rows(&queries.features, &args.index)?;
    let by_features = nearest(&query_features, &pool.features, args.k, metric);
    // Pixel space: the normalised images themselves, flattened.
    let flat = |t: Tensor| -> anyhow::Result<Tensor> {
        let n = t.dims()[0];
        Ok(t.reshape(&[n, t.numel() / n.max(1)])?)
    };
    let pool_indices: Vec<usize> = (0..pool.labels.len()).collect();
    let (pool_pixels, _) = normalized_batch(&pool.data, &pool_indices, &inspected.normalize)?;
    let (query_pixels, _) = normalized_batch(&queries.data, &args.index, &inspected.normalize)?;
    let by_pixels = nearest(
        &flat(query_pixels)?,
        &flat(pool_pixels)?,
        args.k,
        Metric::L2,
    );
    let data = &pool.data;
    let mut grid = Grid::new(args.k + 1, zoom_for(data.height().max(data.width()))).with_title(
        "each query (left), its nearest training images in feature space (first row) and in pixel space (second row)",
    );
    let name = |c| class_name(&inspected, c);
    for (q, &index) in args.index.iter().enumerate() {
        for (kind, found) in [("features", &by_features[q]), ("pixels", &by_pixels[q])] {
            grid.push(
                stored_image(&queries.data, index),
                format!("{} ({kind})", name(queries.labels[index])),
            );
            for &(i, d) in found {
                grid.push(
                    stored_image(data, i),
                    format!("{} {d:.2}", name(pool.labels[i])),
                );
            }
        }
    }
    save_picture(&grid.render(), &output_path(&args.out, "neighbors.png")?)
}
