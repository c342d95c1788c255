//! `convkit import` and `convkit export`: weights from and to PyTorch.
use crate::model_args::{build_named, input_and_classes, parse_input, spec};
use anyhow::bail;
use clap::Args;
use convkit_data::Normalize;
use convkit_nn::torch::{import_state_dict, read_state_dict, save_for_pytorch};
use convkit_train::checkpoint::{self, load_model, ModelRecord, SaveOptions, IMPORTED};
use std::path::PathBuf;

#[derive(Args, Debug)]
#[command(
    after_help = "FILE is a state_dict saved by torch.save (.pth/.pt; only tensors and dicts \
are read, any other Python object is refused) or a safetensors file (e.g. \
safetensors.torch.save_file(model.state_dict(), ...)). Every missing, unexpected or mis-shaped \
tensor is reported by name; BatchNorm's num_batches_tracked is optional."
)]
pub struct ImportArgs {
    /// PyTorch state_dict to read.
    pub file: PathBuf,
    /// Zoo model whose torchvision twin wrote FILE (see `convkit summary --list`).
    #[arg(long)]
    pub model: String,
    /// Classes of the classifier in FILE [default: the model's own: 10 for LeNet-5 and the CIFAR
    /// models, 1000 for the ImageNet ones].
    #[arg(long)]
    pub classes: Option<usize>,
    /// Input the model is meant for, CxHxW [default: the model's own: 1x28x28 for LeNet-5,
    /// 3x32x32 for the CIFAR models, 3x224x224 for the ImageNet ones].
    #[arg(long, value_parser = parse_input)]
    pub input: Option<[usize; 3]>,
    /// Per-channel mean of the input normalisation the weights were trained with, in [0, 1]
    /// scale, comma-separated [default: ImageNet's 0.485,0.456,0.406 for 3 channels (torchvision's
    /// weights), else none].
    #[arg(
        long,
        value_delimiter = ',',
        requires = "std",
        allow_negative_numbers = true
    )]
    pub mean: Option<Vec<f32>>,
    /// Per-channel standard deviation of that normalisation [default: ImageNet's
    /// 0.229,0.224,0.225 for 3 channels, else none].
    #[arg(
        long,
        value_delimiter = ',',
        requires = "mean",
        allow_negative_numbers = true
    )]
    pub std: Option<Vec<f32>>,
    /// convkit checkpoint to write (safetensors).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
#[command(after_help = "The output loads in PyTorch with \
model.load_state_dict(safetensors.torch.load_file(FILE), strict=True) for the torchvision model \
of the same architecture: same names, shapes and dtypes (num_batches_tracked as int64).")]
pub struct ExportArgs {
    /// convkit checkpoint to export.
    pub checkpoint: PathBuf,
    /// PyTorch state_dict to write (safetensors).
    #[arg(long)]
    pub out: PathBuf,
}

/// ImageNet's per-channel statistics, which torchvision's pretrained weights expect.
const IMAGENET: ([f32; 3], [f32; 3]) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);

/// The normalisation to record for `channels` input channels: `--mean`/`--std` if given (one
/// finite mean and one positive std per channel), else ImageNet's for 3 channels, else none.
fn import_normalize(args: &ImportArgs, channels: usize) -> anyhow::Result<Normalize> {
    let (mean, std) = match (&args.mean, &args.std) {
        (Some(mean), Some(std)) => (mean.clone(), std.clone()),
        _ if channels == 3 => (IMAGENET.0.to_vec(), IMAGENET.1.to_vec()),
        _ => (Vec::new(), Vec::new()),
    };
    let fits = mean.is_empty()
        || (mean.len() == channels
            && std.len() == channels
            && mean.iter().all(|m| m.is_finite())
            && std.iter().all(|s| s.is_finite() && *s > 0.0));
    if !fits {
        bail!(
            "--mean {mean:?} --std {std:?}: give one finite mean and one positive std for each of the {channels} input channels"
        );
    }
    Ok(Normalize { mean, std })
}

pub fn run_import(args: ImportArgs) -> anyhow::Result<()> {
    let (input, classes) = input_and_classes(&args.model, args.input, args.classes)?;
    let normalize = import_normalize(&args, input[0])?;
    let model = build_named(&args.model, input, classes)?;
    let tensors = read_state_dict(&args.file)?;
    import_state_dict(model.as_ref(), &tensors, &args.file.display().to_string())?;
    let record = ModelRecord {
        name: args.model.clone(),
        spec: spec(input, classes),
        dataset: IMPORTED.into(),
        class_names: Vec::new(),
        normalize,
    };
    checkpoint::save(&args.out, model.as_ref(), &record, &SaveOptions::default())?;
    println!(
        "{}: {} tensors loaded into {} ({}×{}×{} input, {classes} classes) → {}",
        args.file.display(),
        tensors.len(),
        args.model,
        input[0],
        input[1],
        input[2],
        args.out.display()
    );
    match &record.normalize.mean[..] {
        [] => {
            println!("input normalisation: none (give --mean and --std if the weights expect one)")
        }
        mean => println!(
            "input normalisation: mean {mean:?}, std {:?}",
            record.normalize.std
        ),
    }
    Ok(())
}

pub fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let loaded = load_model(&args.checkpoint)?;
    save_for_pytorch(&args.out, loaded.model.as_ref())?;
    println!(
        "{} ({}) → {} (PyTorch state_dict, safetensors)",
        args.checkpoint.display(),
        loaded.record.name,
        args.out.display()
    );
    Ok(())
}
