//! Where each parameter of a body sits: its stage (the run of layers computed at one resolution)
//! and its block, for discriminative learning rates (fastai's per-group `lr_mult`, timm's
//! `layer_decay`).
use crate::error::Result;
use crate::registry::ModelSpec;
use crate::transfer::head::{head_name, is_head_tensor};
use convkit_nn::{ForwardPass, Mode, Module, ModuleCall};
use convkit_tensor::Tensor;

/// One body parameter's place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamPlace {
    pub name: String,
    /// The stage, counted from the input (0): stage `s` holds the layers whose outputs have the
    /// `s`-th resolution the input passes through (everything after the flatten is one more
    /// stage).
    pub stage: usize,
    /// The block, counted from the input: parameters named alike up to their first index
    /// (`layer1.0`, `features.3`) or first name (`conv1`), within one stage.
    pub block: usize,
}

/// The body of a model (everything but its head), parameter by parameter in registration order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyLayout {
    /// The head's module name ([`head_name`]).
    pub head: String,
    pub body: Vec<ParamPlace>,
    pub stages: usize,
    pub blocks: usize,
}

impl BodyLayout {
    /// The layout of the zoo model `model_name` built as `model` for `spec`, found by running one
    /// image of zeros through it and noting each layer's output size.
    ///
    /// # Errors
    /// An unknown model, or a forward pass that fails.
    pub fn trace(model_name: &str, model: &dyn Module, spec: &ModelSpec) -> Result<BodyLayout> {
        let head = head_name(model_name)?;
        let (h, w) = spec.input_size;
        let x = Tensor::zeros([1, spec.in_channels, h, w]);
        // Each module's output size: `Some((h, w))` for images, `None` for flat features.
        let mut sizes: Vec<(String, Option<(usize, usize)>)> = Vec::new();
        let mut hook = |call: &ModuleCall<'_>| {
            let dims = call.output.dims();
            let size = (dims.len() == 4).then(|| (dims[2], dims[3]));
            sizes.push((call.name.to_string(), size));
            Ok(None)
        };
        ForwardPass::new(Mode::Eval)
            .with_hook(&mut hook)
            .run(model, &x)?;
        let mut resolutions: Vec<Option<(usize, usize)>> = Vec::new();
        let mut block_keys: Vec<(usize, String)> = Vec::new();
        let mut body = Vec::new();
        for (name, _) in model.parameters() {
            if is_head_tensor(head, &name) {
                continue;
            }
            let module = name.rsplit_once('.').map_or("", |(m, _)| m);
            let size = sizes
                .iter()
                .find(|(n, _)| n == module)
                .and_then(|(_, size)| *size);
            let stage = position_or_push(&mut resolutions, size);
            let block = position_or_push(&mut block_keys, (stage, block_prefix(&name)));
            body.push(ParamPlace { name, stage, block });
        }
        Ok(BodyLayout {
            head: head.to_string(),
            body,
            stages: resolutions.len(),
            blocks: block_keys.len(),
        })
    }

    /// fastai's discriminative rates: the learning-rate multiple of each body parameter when the
    /// rates grow geometrically from `1 / lr_mult` (first stage) to 1 (the head), stage by stage.
    pub fn stage_scales(&self, lr_mult: f32) -> Vec<(String, f32)> {
        let steps = self.stages.max(1) as f32;
        self.body
            .iter()
            .map(|p| {
                let below_head = (self.stages - p.stage) as f32;
                (p.name.clone(), lr_mult.powf(-below_head / steps))
            })
            .collect()
    }

    /// timm's layer-wise decay: each body parameter's learning-rate multiple `decay^k` where `k`
    /// counts the blocks from it to the head (1 for the last block, the head itself has 1).
    pub fn layer_decay_scales(&self, decay: f32) -> Vec<(String, f32)> {
        self.body
            .iter()
            .map(|p| {
                let below_head = (self.blocks - p.block) as i32;
                (p.name.clone(), decay.powi(below_head))
            })
            .collect()
    }
}

/// The index of `item` in `list`, appended when new.
fn position_or_push<T: PartialEq>(list: &mut Vec<T>, item: T) -> usize {
    list.iter().position(|x| *x == item).unwrap_or_else(|| {
        list.push(item);
        list.len() - 1
    })
}

/// `layer1.0.conv1.weight` → `layer1.0`, `features.3.weight` → `features.3`, `conv1.weight` →
/// `conv1`: the name up to its first index, else its first segment.
fn block_prefix(name: &str) -> String {
    let segments: Vec<&str> = name.split('.').collect();
    let end = segments
        .iter()
        .position(|s| s.parse::<usize>().is_ok())
        .map_or(1, |i| i + 1);
    segments[..end.min(segments.len())].join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::build_model;
    use convkit_tensor::seeded_rng;

    #[test]
    fn resnet_stages_are_its_resolutions() {
        let spec = ModelSpec::CIFAR;
        let model = build_model("resnet20", &spec, &mut seeded_rng(0)).unwrap();
        let layout = BodyLayout::trace("resnet20", model.as_ref(), &spec).unwrap();
        let place = |name: &str| layout.body.iter().find(|p| p.name == name).unwrap().clone();
        // conv1 and layer1 keep 32×32 (one stage), layer2 computes at 16×16, layer3 at 8×8.
        assert_eq!(layout.stages, 3);
        assert_eq!(place("bn1.weight").stage, 0);
        assert_eq!(place("layer1.2.conv2.weight").stage, 0);
        assert_eq!(place("layer2.0.conv1.weight").stage, 1);
        assert_eq!(place("layer3.2.bn2.bias").stage, 2);
        // Blocks: conv1, bn1, then the nine residual blocks.
        assert_eq!(layout.blocks, 11);
        assert_eq!(place("layer1.0.bn2.weight").block, 2);
        assert_eq!(place("layer3.2.conv1.weight").block, 10);
        assert!(layout.body.iter().all(|p| !p.name.starts_with("fc.")));

        let scales = layout.stage_scales(100.0);
        let scale = |name: &str| scales.iter().find(|(n, _)| n == name).unwrap().1;
        assert!((scale("conv1.weight") - 0.01).abs() < 1e-6);
        assert!((scale("layer3.0.conv1.weight") - 100f32.powf(-1.0 / 3.0)).abs() < 1e-6);
        let decay = layout.layer_decay_scales(0.5);
        assert_eq!(
            decay.last().unwrap(),
            &("layer3.2.bn2.bias".to_string(), 0.5)
        );
        assert_eq!(decay[0], ("conv1.weight".to_string(), 0.5f32.powi(11)));
    }

    #[test]
    fn lenet_stages_and_blocks() {
        let model = build_model("lenet5", &ModelSpec::MNIST, &mut seeded_rng(0)).unwrap();
        let layout = BodyLayout::trace("lenet5", model.as_ref(), &ModelSpec::MNIST).unwrap();
        let stages: Vec<(&str, usize, usize)> = layout
            .body
            .iter()
            .map(|p| (p.name.as_str(), p.stage, p.block))
            .collect();
        assert_eq!(
            stages,
            [
                ("conv1.weight", 0, 0),
                ("conv1.bias", 0, 0),
                ("conv2.weight", 1, 1),
                ("conv2.bias", 1, 1),
                ("fc1.weight", 2, 2),
                ("fc1.bias", 2, 2),
            ]
        );
    }
}
