//! `convkit augment`: draw a grid of augmented training samples, one row per image (the original
//! on the left, then augmented versions), to see what a transform pipeline does.
use crate::config_flags::{cli_error, names, DATASETS};
use anyhow::{bail, Context};
use clap::Args;
use convkit_data::transforms::{Draw, Image, Pipeline};
use convkit_data::Split;
use convkit_tensor::limits::IMAGE_PIXELS;
use convkit_train::DatasetName;
use image::{imageops, Rgb, RgbImage};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct AugmentArgs {
    /// Dataset whose training images to show (MNIST ships with convkit; CIFAR is downloaded into
    /// --data-dir when missing).
    #[arg(long, value_parser = names::<DatasetName>(DATASETS), default_value = "mnist")]
    pub dataset: DatasetName,
    /// Folder holding the dataset files (default: the dataset's usual place).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Comma-separated transforms, applied in order: crop, resized-crop, flip, rotate, translate,
    /// scale, shear, affine, jitter, cutout, randaugment, pca; each may take parameters after a
    /// colon, e.g. crop:padding=2:size=24, flip:p=0.3, jitter:brightness=0.2, cutout:size=8.
    #[arg(long, default_value = "crop,flip,jitter")]
    pub transforms: String,
    /// Rows: how many training images to show (spread evenly over the set).
    #[arg(long, default_value_t = 8)]
    pub samples: usize,
    /// Augmented versions per image, after the original.
    #[arg(long, default_value_t = 8)]
    pub variants: usize,
    /// Seed of the augmentations.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Magnification of each pixel in the output.
    #[arg(long, default_value_t = 4)]
    pub zoom: u32,
    /// PNG file to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// Pixels between grid cells.
const GAP: u32 = 2;

pub fn run(args: AugmentArgs) -> anyhow::Result<()> {
    if args.samples == 0 || args.zoom == 0 {
        bail!("--samples and --zoom must be at least 1");
    }
    let pipeline = Pipeline::parse(&args.transforms).context("--transforms")?;
    let dataset = args
        .dataset
        .load(args.data_dir.as_deref(), Split::Train)
        .map_err(cli_error)?;
    let dims = [dataset.channels(), dataset.height(), dataset.width()];
    pipeline.check_input(dims).context("--transforms")?;
    let [out_h, out_w] = pipeline.output_size([dims[1], dims[2]]);
    let (cell_h, cell_w) = (out_h.max(dims[1]) as u32, out_w.max(dims[2]) as u32);
    let rows = args.samples.min(dataset.len());
    let (width, height) = grid_size(&args, rows, (cell_h, cell_w))?;
    let (columns, rows) = (1 + args.variants as u32, rows as u32);
    let mut grid = RgbImage::from_pixel(width, height, Rgb([128, 128, 128]));
    for row in 0..rows {
        let index = row as usize * dataset.len() / rows as usize;
        let pixels = dataset.get(index).expect("index below len").image;
        for column in 0..columns {
            let mut image = Image::from_u8(pixels, dims);
            if column > 0 {
                // Each variant is the image as a later epoch of a run with this seed sees it.
                let draw = Draw {
                    seed: args.seed,
                    epoch: u64::from(column - 1),
                    index: index as u64,
                };
                pipeline.apply(&mut image, draw);
            }
            paste(
                &mut grid,
                &image,
                column * (cell_w + GAP),
                row * (cell_h + GAP),
            );
        }
    }
    let zoomed = imageops::resize(
        &grid,
        grid.width() * args.zoom,
        grid.height() * args.zoom,
        imageops::FilterType::Nearest,
    );
    zoomed
        .save_with_format(&args.out, image::ImageFormat::Png)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {} ({rows} {} images × original + {} variants of [{}])",
        args.out.display(),
        args.dataset.as_str(),
        args.variants,
        args.transforms
    );
    Ok(())
}

/// The grid's width and height before zooming, checked (zoomed) against [`IMAGE_PIXELS`] before
/// anything is drawn: `--samples`, `--variants` and `--zoom` multiply.
fn grid_size(
    args: &AugmentArgs,
    rows: usize,
    (cell_h, cell_w): (u32, u32),
) -> anyhow::Result<(u32, u32)> {
    let side = |cells: u64, cell: u32| {
        cells
            .saturating_mul(u64::from(cell + GAP))
            .saturating_sub(u64::from(GAP))
    };
    let width = side((args.variants as u64).saturating_add(1), cell_w);
    let height = side(rows as u64, cell_h);
    let zoom = u64::from(args.zoom);
    IMAGE_PIXELS.check_product(
        format_args!(
            "--samples {} --variants {} --zoom {}: the grid",
            args.samples, args.variants, args.zoom
        ),
        &[width, zoom, height, zoom],
    )?;
    Ok((width as u32, height as u32))
}

/// Draws `image` (1 or 3 channels, CHW) with its top-left corner at `(x0, y0)`.
fn paste(grid: &mut RgbImage, image: &Image, x0: u32, y0: u32) {
    let bytes = image.to_u8();
    let plane = image.plane();
    for y in 0..image.height {
        for x in 0..image.width {
            let at = |c: usize| bytes[c.min(image.channels - 1) * plane + y * image.width + x];
            grid.put_pixel(x0 + x as u32, y0 + y as u32, Rgb([at(0), at(1), at(2)]));
        }
    }
}
