//! `convkit summary`: what every layer of a model does to one image — output shape, parameters,
//! multiply-adds, activation memory — with totals and the receptive field of the last conv layer,
//! like torchinfo's `summary` and the per-layer tables of the course notes.
//!
//! Conventions: multiply-adds count the conv and linear layers only (`output elements ·
//! in_channels/groups · kernel volume`; linear: `output elements · in_features`), bias additions,
//! norms, activations and pooling not counted, as the published model tables do. Activation memory
//! is the sum over every layer's output (ReLU and dropout outputs counted separately) at 4 bytes per
//! value for one image, forward pass only; the input image is not included.
use crate::error::Result;
use convkit_nn::trace::{trace, LayerRecord};
use convkit_nn::{Mode, Module};
use convkit_tensor::receptive_field::graph_receptive_field;
use convkit_tensor::Tensor;

/// One layer (a module call with no module calls inside) of a traced forward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerRow {
    /// Dotted `state_dict` name (`layer1.0.conv1`).
    pub name: String,
    /// The layer type as PyTorch prints it (`Conv2d`, `ReLU`).
    pub kind: String,
    /// Output shape for one image (batch dimension dropped).
    pub output_shape: Vec<usize>,
    pub parameters: usize,
    pub macs: u64,
    /// Output elements · 4 bytes.
    pub activation_bytes: u64,
}

impl LayerRow {
    /// Output elements for one image.
    pub fn output_elements(&self) -> usize {
        self.output_shape.iter().product()
    }
}

/// The receptive field of the last conv layer of a model, or why it could not be followed.
#[derive(Clone, Debug, PartialEq)]
pub enum LastConvField {
    /// The layer's name and its field along each spatial axis (height, width).
    Found { layer: String, field: Vec<usize> },
    /// The model has no conv layer, or the graph goes through an op that mixes every position.
    NotAvailable(String),
}

/// A traced model: one row per layer, and totals.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Input of one image, `[C, H, W]`.
    pub input: Vec<usize>,
    pub layers: Vec<LayerRow>,
    /// Output shape for one image.
    pub output_shape: Vec<usize>,
    pub total_parameters: usize,
    /// Parameters that require grad.
    pub trainable_parameters: usize,
    /// Sum of the layers' multiply-adds.
    pub total_macs: u64,
    /// Sum of the layers' activation memory (forward, one image).
    pub activation_bytes: u64,
    pub receptive_field: LastConvField,
}

/// Runs `model` once in eval mode on one all-zero image of shape `input` (`[C, H, W]`) and
/// summarises every layer it calls.
///
/// # Errors
/// The model's own error when it cannot take the input.
pub fn summarize(model: &dyn Module, input: [usize; 3]) -> Result<Summary> {
    let x = Tensor::zeros([1, input[0], input[1], input[2]]).with_grad();
    let (y, records) = trace(model, &x, Mode::Eval)?;
    let leaves: Vec<&LayerRecord> = records.iter().filter(|r| r.is_leaf).collect();
    let layers: Vec<LayerRow> = leaves.iter().map(|r| row(r)).collect();
    let parameters = model.parameters();
    Ok(Summary {
        input: input.to_vec(),
        output_shape: y.dims()[1..].to_vec(),
        total_parameters: parameters.iter().map(|(_, t)| t.numel()).sum(),
        trainable_parameters: parameters
            .iter()
            .filter(|(_, t)| t.requires_grad())
            .map(|(_, t)| t.numel())
            .sum(),
        total_macs: layers.iter().map(|l| l.macs).sum(),
        activation_bytes: layers.iter().map(|l| l.activation_bytes).sum(),
        receptive_field: last_conv_field(&leaves, &x),
        layers,
    })
}

fn row(r: &LayerRecord) -> LayerRow {
    let output_shape = r.output.dims()[1..].to_vec();
    LayerRow {
        name: r.name.clone(),
        kind: layer_kind(&r.description).to_string(),
        activation_bytes: 4 * output_shape.iter().product::<usize>() as u64,
        output_shape,
        parameters: r.parameters,
        macs: r.macs,
    }
}

/// `Conv2d` from `Conv2d(3, 64, kernel_size=...)`.
fn layer_kind(description: &str) -> &str {
    description.split('(').next().unwrap_or(description).trim()
}

/// The field of the last `Conv*` layer called (transposed convs excluded), from the graph behind
/// its output.
fn last_conv_field(leaves: &[&LayerRecord], input: &Tensor) -> LastConvField {
    let Some(last) = leaves.iter().rev().find(|r| {
        let kind = layer_kind(&r.description);
        kind.starts_with("Conv") && !kind.starts_with("ConvTranspose")
    }) else {
        return LastConvField::NotAvailable("the model has no conv layer".into());
    };
    match graph_receptive_field(&last.output, input) {
        Ok(field) => LastConvField::Found {
            layer: last.name.clone(),
            field,
        },
        Err(e) => LastConvField::NotAvailable(e.to_string()),
    }
}
