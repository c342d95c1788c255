//! `convkit inspect ...`: look inside a trained model — filters, activations, saliency maps —
//! writing pictures (PNG) and the raw maps (safetensors). A thin layer over `convkit-inspect`.
mod activations;
mod embed;
mod errors;
mod filters;
mod maximize;
mod neighbors;
mod saliency;

use anyhow::Context;
use clap::{Args, Subcommand};
use convkit_data::{Dataset, Normalize, Split};
use convkit_inspect::dataset::{normalized_batch, outputs_and_features, FeatureLayer};
use convkit_models::ModelSpec;
use convkit_nn::Module;
use convkit_tensor::Tensor;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct InspectArgs {
    #[command(subcommand)]
    command: InspectCommand,
}

#[derive(Subcommand, Debug)]
enum InspectCommand {
    /// The filters of a conv layer as a grid (first layer in colour), with a colour scale.
    Filters(filters::FiltersArgs),
    /// The feature maps of a layer for an image, as a grid sorted by mean activation.
    Activations(activations::ActivationsArgs),
    /// A saliency map (gradient, SmoothGrad, integrated gradients, guided backprop, Grad-CAM,
    /// Grad-CAM++, occlusion) over the image, for a class (default: the predicted one).
    Saliency(saliency::SaliencyArgs),
    /// Activation maximisation: images that maximise class scores or a layer's channels
    /// (gradient ascent with jitter, L2, total variation and blur).
    Maximize(maximize::MaximizeArgs),
    /// Penultimate-layer features of test images to a file, and their 2-D t-SNE coloured by class.
    Embed(embed::EmbedArgs),
    /// The nearest training images of test images in feature space, next to those in pixel space.
    Neighbors(neighbors::NeighborsArgs),
    /// The test images with the largest losses (predicted, true, probability), and the most
    /// confused pairs of classes.
    Errors(errors::ErrorsArgs),
}

pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    match args.command {
        InspectCommand::Filters(a) => filters::run(a),
        InspectCommand::Activations(a) => activations::run(a),
        InspectCommand::Saliency(a) => saliency::run(a),
        InspectCommand::Maximize(a) => maximize::run(a),
        InspectCommand::Embed(a) => embed::run(a),
        InspectCommand::Neighbors(a) => neighbors::run(a),
        InspectCommand::Errors(a) => errors::run(a),
    }
}

/// What the subcommands need of a checkpoint.
pub(crate) struct Inspected {
    pub model: Box<dyn Module>,
    pub spec: ModelSpec,
    pub dataset: String,
    pub class_names: Vec<String>,
    pub normalize: Normalize,
}

/// The one place that reads a checkpoint for `inspect`.
pub(crate) fn load_model(path: &Path) -> anyhow::Result<Inspected> {
    let loaded = convkit_train::checkpoint::load_model(path)?;
    let record = loaded.record;
    Ok(Inspected {
        model: loaded.model,
        spec: record.spec,
        dataset: record.dataset,
        class_names: record.class_names,
        normalize: record.normalize,
    })
}

/// The one place that loads a dataset by name for `inspect`.
pub(crate) fn load_dataset(
    name: &str,
    data_dir: Option<&Path>,
    split: Split,
) -> anyhow::Result<Dataset> {
    let dataset = convkit_train::DatasetName::parse(name).map_err(anyhow::Error::msg)?;
    dataset
        .load(data_dir, split)
        .map_err(crate::config_flags::cli_error)
}

/// A dataset to run the model over: which one, where, how many images.
#[derive(Args, Debug)]
pub(crate) struct DatasetSource {
    /// Dataset (default: the one the checkpoint was trained on).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Directory of the dataset (default: the dataset's usual place).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Use the first this many images of the test set.
    #[arg(long, default_value_t = 2000)]
    pub limit: usize,
}

/// A split of a dataset with the model's logits and features over its first images.
pub(crate) struct Evaluated {
    pub data: Dataset,
    pub labels: Vec<usize>,
    pub logits: Tensor,
    pub features: Tensor,
}

impl DatasetSource {
    pub(crate) fn name<'a>(&'a self, inspected: &'a Inspected) -> &'a str {
        self.dataset.as_deref().unwrap_or(&inspected.dataset)
    }

    /// Runs the model over the first `limit` images of `split`, reading features at `layer`.
    pub(crate) fn evaluate(
        &self,
        inspected: &Inspected,
        split: Split,
        limit: usize,
        layer: Option<&str>,
    ) -> anyhow::Result<Evaluated> {
        let data = load_dataset(self.name(inspected), self.data_dir.as_deref(), split)?;
        if data.channels() != inspected.spec.in_channels {
            anyhow::bail!(
                "the {} images have {} channel(s) but the model takes {}",
                self.name(inspected),
                data.channels(),
                inspected.spec.in_channels
            );
        }
        let indices: Vec<usize> = (0..data.len().min(limit)).collect();
        let (images, labels) = normalized_batch(&data, &indices, &inspected.normalize)?;
        let layer = layer.map_or(FeatureLayer::Penultimate, FeatureLayer::Named);
        let (logits, features) =
            outputs_and_features(inspected.model.as_ref(), &images, layer, 256)?;
        Ok(Evaluated {
            data,
            labels,
            logits,
            features,
        })
    }
}

/// Image `i` of a dataset in 8-bit colour, as stored.
pub(crate) fn stored_image(data: &Dataset, i: usize) -> image::RgbImage {
    let (c, h, w) = (data.channels(), data.height(), data.width());
    let pixels = data.get(i).expect("index below the dataset's length").image;
    image::RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let p = y as usize * w + x as usize;
        let at = |ch: usize| pixels[(ch.min(c - 1)) * h * w + p];
        image::Rgb([at(0), at(1), at(2)])
    })
}

/// Where the image to inspect comes from: a file, or a test-set image by index.
#[derive(Args, Debug)]
pub(crate) struct ImageSource {
    /// A PNG or JPEG file (converted to the model's channels and resized to its input size).
    #[arg(long, conflicts_with = "index")]
    pub image: Option<PathBuf>,
    /// Index of a test-set image of --dataset.
    #[arg(long)]
    pub index: Option<usize>,
    /// Dataset for --index (default: the one the checkpoint was trained on).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Directory of the dataset (default: the dataset's usual place).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Invert a file's brightness first (dark digits on white paper, for an MNIST model).
    #[arg(long)]
    pub invert: bool,
}

/// A normalised `[C, H, W]` image and, for a dataset image, its label.
pub(crate) struct InputImage {
    pub tensor: Tensor,
    pub label: Option<usize>,
    /// A short name for output files and captions.
    pub name: String,
}

impl ImageSource {
    pub(crate) fn load(&self, inspected: &Inspected) -> anyhow::Result<InputImage> {
        let spec = &inspected.spec;
        let (h, w) = spec.input_size;
        if let Some(path) = &self.image {
            let format = crate::image_input::InputFormat {
                channels: spec.in_channels,
                height: h,
                width: w,
                normalize: inspected.normalize.clone(),
                invert: self.invert,
            };
            let pixels = crate::image_input::load_image(path, &format)?;
            let stem = path
                .file_stem()
                .map_or("image".into(), |s| s.to_string_lossy().into_owned());
            return Ok(InputImage {
                tensor: Tensor::from_vec(pixels, [spec.in_channels, h, w])?,
                label: None,
                name: stem,
            });
        }
        let index = self
            .index
            .context("give an image: --image FILE, or --index I (with --dataset NAME)")?;
        let name = self.dataset.as_deref().unwrap_or(&inspected.dataset);
        let data = load_dataset(name, self.data_dir.as_deref(), Split::Test)?;
        let sample = data.get(index).with_context(|| {
            format!(
                "--index {index} is out of range: the {name} test set has {} images",
                data.len()
            )
        })?;
        if data.channels() != spec.in_channels {
            anyhow::bail!(
                "the {name} images have {} channel(s) but the model takes {}",
                data.channels(),
                spec.in_channels
            );
        }
        let (batch, _) = normalized_batch(&data, &[index], &inspected.normalize)?;
        Ok(InputImage {
            tensor: batch.reshape(&batch.dims()[1..])?,
            label: Some(sample.label),
            name: format!("{name}-{index}"),
        })
    }
}

/// A class's name from the checkpoint, else its index.
pub(crate) fn class_name(inspected: &Inspected, class: usize) -> String {
    inspected
        .class_names
        .get(class)
        .cloned()
        .unwrap_or_else(|| class.to_string())
}

/// `<dir>/<file>`, creating `dir`.
pub(crate) fn output_path(dir: &Path, file: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.join(file))
}

/// Writes the raw maps next to the picture, for programs.
pub(crate) fn save_raw(path: &Path, tensors: &[(&str, &Tensor)]) -> anyhow::Result<()> {
    let named: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| (n.to_string(), (*t).clone()))
        .collect();
    convkit_nn::io::write_safetensors(path, &named, HashMap::new())?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Writes a picture and says so.
pub(crate) fn save_picture(picture: &image::RgbImage, path: &Path) -> anyhow::Result<()> {
    convkit_inspect::render::save_png(picture, path)?;
    println!("wrote {}", path.display());
    Ok(())
}

/// A zoom that makes small inputs (28×28 MNIST) easy to see.
pub(crate) fn zoom_for(size: usize) -> u32 {
    (128 / size.max(1)).clamp(1, 8) as u32
}
