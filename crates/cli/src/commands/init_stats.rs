//! `convkit init-stats`: the course's initialisation experiment. Prints the mean and std of each
//! layer's activations and draws one histogram per layer, side by side, to a PNG.
use anyhow::Context;
use clap::{Args, ValueEnum};
use convkit_nn::init_stats::{activation_stats, LayerStats, Nonlinearity, Scheme, StatsConfig};
use convkit_tensor::limits::IMAGE_PIXELS;
use convkit_tensor::seeded_rng;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ActivationName {
    Tanh,
    Relu,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InitName {
    /// 0.01·N(0, 1).
    Small,
    /// N(0, 1)/√D_in.
    Xavier,
    /// N(0, 1)·√(2/D_in).
    Kaiming,
}

#[derive(Args, Debug)]
pub struct InitStatsArgs {
    #[arg(long, value_enum, default_value_t = ActivationName::Tanh)]
    pub activation: ActivationName,
    #[arg(long, value_enum, default_value_t = InitName::Xavier)]
    pub init: InitName,
    /// Layers of weights (the course's `dims = [4096] * 7` has 6).
    #[arg(long, default_value_t = 6)]
    pub layers: usize,
    /// Width of every layer.
    #[arg(long, default_value_t = 4096)]
    pub width: usize,
    /// Inputs in the batch.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where the histograms go (one panel per layer, left to right; bars only, no text).
    #[arg(long, default_value = "init-stats.png")]
    pub out: PathBuf,
}

pub fn run(args: InitStatsArgs) -> anyhow::Result<()> {
    let config = StatsConfig {
        layers: args.layers,
        width: args.width,
        batch: args.batch,
        nonlinearity: match args.activation {
            ActivationName::Tanh => Nonlinearity::Tanh,
            ActivationName::Relu => Nonlinearity::Relu,
        },
        scheme: match args.init {
            InitName::Small => Scheme::Small,
            InitName::Xavier => Scheme::Xavier,
            InitName::Kaiming => Scheme::Kaiming,
        },
    };
    // One histogram panel per layer: the PNG grows with --layers.
    IMAGE_PIXELS.check_product(
        format_args!("--layers {}: the histograms", args.layers),
        &[u64::from(PANEL.0), args.layers as u64, u64::from(PANEL.1)],
    )?;
    let layers = activation_stats(&config, &mut seeded_rng(args.seed))?;
    println!(
        "{:?} init, {:?}, {} layers of width {}, batch {}",
        args.init, args.activation, args.layers, args.width, args.batch
    );
    println!("{:>5}  {:>10}  {:>10}", "layer", "mean", "std");
    for (i, l) in layers.iter().enumerate() {
        println!("{:>5}  {:>10.6}  {:>10.6}", i + 1, l.mean, l.std);
    }
    draw_histograms(&layers, &args.out)?;
    println!("histograms: {}", args.out.display());
    Ok(())
}

const PANEL: (u32, u32) = (240, 200);
const BINS: usize = 50;

/// One histogram per layer over a common value range, drawn into an RGB buffer and saved as PNG.
fn draw_histograms(layers: &[LayerStats], path: &Path) -> anyhow::Result<()> {
    let (lo, hi) = layers
        .iter()
        .flat_map(|l| &l.values)
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, lo + 1.0)
    };
    let (w, h) = (PANEL.0 * layers.len() as u32, PANEL.1);
    let mut buffer = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area();
        for (panel, layer) in root.split_evenly((1, layers.len())).iter().zip(layers) {
            let mut counts = [0u32; BINS];
            for &v in &layer.values {
                let bin = ((v - lo) / (hi - lo) * BINS as f32) as usize;
                counts[bin.min(BINS - 1)] += 1;
            }
            let top = counts.iter().copied().max().unwrap_or(1).max(1) as f32;
            let mut chart = ChartBuilder::on(panel)
                .margin(8)
                .build_cartesian_2d(lo..hi, 0f32..top)
                .map_err(|e| anyhow::anyhow!("drawing histogram: {e}"))?;
            let width = (hi - lo) / BINS as f32;
            chart
                .draw_series(counts.iter().enumerate().map(|(i, &c)| {
                    let x0 = lo + i as f32 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width, c as f32)], BLUE.filled())
                }))
                .map_err(|e| anyhow::anyhow!("drawing histogram: {e}"))?;
            // Baseline, and the zero line where it is in range.
            chart
                .draw_series([
                    PathElement::new([(lo, 0.0), (hi, 0.0)], BLACK),
                    PathElement::new(
                        [(0.0f32.clamp(lo, hi), 0.0), (0.0f32.clamp(lo, hi), top)],
                        RED,
                    ),
                ])
                .map_err(|e| anyhow::anyhow!("drawing histogram: {e}"))?;
        }
        root.present()
            .map_err(|e| anyhow::anyhow!("drawing histogram: {e}"))?;
    }
    let png = image::ImageFormat::Png;
    image::save_buffer_with_format(path, &buffer, w, h, image::ExtendedColorType::Rgb8, png)
        .with_context(|| format!("writing {}", path.display()))
}
