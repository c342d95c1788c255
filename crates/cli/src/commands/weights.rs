//! `convkit import` and `convkit export`: weights from and to PyTorch.
use crate::model_args::{build_named, parse_input, spec};
use anyhow::Context;
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
    /// Classes of the classifier in FILE.
    #[arg(long, default_value_t = 1000)]
    pub classes: usize,
    /// Input the model is meant for, CxHxW.
    #[arg(long, default_value = "3x224x224", value_parser = parse_input)]
    pub input: [usize; 3],
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

pub fn run_import(args: ImportArgs) -> anyhow::Result<()> {
    let model = build_named(&args.model, args.input, args.classes)?;
    let tensors = read_state_dict(&args.file)?;
    import_state_dict(model.as_ref(), &tensors, &args.file.display().to_string())?;
    let record = ModelRecord {
        name: args.model.clone(),
        spec: spec(args.input, args.classes),
        dataset: IMPORTED.into(),
        class_names: Vec::new(),
        normalize: Normalize {
            mean: Vec::new(),
            std: Vec::new(),
        },
    };
    checkpoint::save(&args.out, model.as_ref(), &record, &SaveOptions::default())?;
    println!(
        "{}: {} tensors loaded into {} → {}",
        args.file.display(),
        tensors.len(),
        args.model,
        args.out.display()
    );
    Ok(())
}

pub fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let loaded = load_model(&args.checkpoint)?;
    save_for_pytorch(&args.out, loaded.model.as_ref())
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{} ({}) → {} (PyTorch state_dict, safetensors)",
        args.checkpoint.display(),
        loaded.record.name,
        args.out.display()
    );
    Ok(())
}
