//! Arguments that name a zoo model and its input, shared by `summary` and `import`.
use anyhow::Context;
use convkit_models::{build_model, natural_spec, ModelSpec};
use convkit_nn::Module;
use convkit_tensor::seeded_rng;

/// `3x224x224` or `3×224×224` → `[3, 224, 224]`.
pub fn parse_input(text: &str) -> Result<[usize; 3], String> {
    let parts: Vec<&str> = text.split(['x', '×', 'X']).collect();
    let dims: Vec<usize> = parts
        .iter()
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("expected CxHxW (e.g. 3x224x224), got '{text}'"))?;
    match dims[..] {
        [c, h, w] if c > 0 && h > 0 && w > 0 => Ok([c, h, w]),
        _ => Err(format!(
            "expected three positive sizes CxHxW (e.g. 3x224x224), got '{text}'"
        )),
    }
}

/// The spec of a model for `input` (`[C, H, W]`) and `classes`.
pub fn spec(input: [usize; 3], classes: usize) -> ModelSpec {
    ModelSpec {
        in_channels: input[0],
        num_classes: classes,
        input_size: (input[1], input[2]),
    }
}

/// The input (`[C, H, W]`) and classes given, each defaulting to the model's natural one (LeNet-5:
/// 1×28×28 and 10 classes; the CIFAR models 3×32×32 and 10; the ImageNet models 3×224×224 and
/// 1000).
///
/// # Errors
/// An unknown model name (listing the zoo).
pub fn input_and_classes(
    name: &str,
    input: Option<[usize; 3]>,
    classes: Option<usize>,
) -> anyhow::Result<([usize; 3], usize)> {
    let natural = natural_spec(name)?;
    let (h, w) = natural.input_size;
    Ok((
        input.unwrap_or([natural.in_channels, h, w]),
        classes.unwrap_or(natural.num_classes),
    ))
}

/// The zoo model `name` for `input` (`[C, H, W]`) and `classes`, initialised from seed 0.
///
/// # Errors
/// An unknown name (listing the zoo) or an input the architecture cannot take.
pub fn build_named(
    name: &str,
    input: [usize; 3],
    classes: usize,
) -> anyhow::Result<Box<dyn Module>> {
    build_model(name, &spec(input, classes), &mut seeded_rng(0))
        .with_context(|| format!("building {name} for input {input:?}, {classes} classes"))
}
