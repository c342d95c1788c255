//! Recording what every module of a model does in one forward pass, in the form `convkit summary`
//! needs: a [`ForwardHook`] that writes down each call's dotted name, input and output shapes.
use crate::error::Result;
use crate::forward_pass::{ForwardHook, ForwardPass, ModuleCall};
use crate::module::{Mode, Module};
use convkit_tensor::Tensor;

/// One module call seen during a traced forward pass.
#[derive(Clone, Debug)]
pub struct LayerRecord {
    /// Dotted name, as in the `state_dict` (`layer1.0.conv1`).
    pub name: String,
    /// The first line of the module's `describe()` (`Conv2d(3, 64, kernel_size=(7, 7), ...)`).
    pub description: String,
    /// Nesting depth: 0 for the root's children.
    pub depth: usize,
    /// True for a module without children (a layer, not a container).
    pub is_leaf: bool,
    pub input_dims: Vec<usize>,
    /// The output itself, so that callers can follow the graph behind it (receptive field).
    pub output: Tensor,
    /// Parameters registered directly or below this module.
    pub parameters: usize,
    /// Multiply-adds of this call (leaves only; containers report 0).
    pub macs: u64,
}

/// The hook behind [`trace`]: one slot per call, taken when the call starts, so that a container
/// comes before its children as in a printed model.
#[derive(Default)]
struct Recorder {
    slots: Vec<Option<LayerRecord>>,
    /// Slots of the calls still running, innermost last.
    open: Vec<usize>,
}

impl ForwardHook for Recorder {
    fn before(&mut self, _name: &str, _module: &dyn Module, _input: &Tensor) -> Result<()> {
        self.open.push(self.slots.len());
        self.slots.push(None);
        Ok(())
    }

    fn after(&mut self, call: &ModuleCall<'_>) -> Result<Option<Tensor>> {
        let slot = self.open.pop().expect("before() opened this call");
        let module = call.module;
        let is_leaf = module.children().is_empty();
        let (input, output) = (call.input.dims(), call.output.dims());
        self.slots[slot] = Some(LayerRecord {
            name: call.name.to_string(),
            description: module.describe().lines().next().unwrap_or("").to_string(),
            depth: call.depth,
            is_leaf,
            input_dims: input.to_vec(),
            output: call.output.clone(),
            parameters: module.num_parameters(),
            macs: if is_leaf {
                module.macs(input, output)
            } else {
                0
            },
        });
        Ok(None)
    }
}

/// Runs `model` on `x` and returns its output with a record of every module call, in the order the
/// calls started (a container before its children).
///
/// # Errors
/// The model's error.
pub fn trace(model: &dyn Module, x: &Tensor, mode: Mode) -> Result<(Tensor, Vec<LayerRecord>)> {
    let mut recorder = Recorder::default();
    let y = ForwardPass::new(mode)
        .with_hook(&mut recorder)
        .run(model, x)?;
    Ok((y, recorder.slots.into_iter().flatten().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Linear, LinearConfig, ReLU, Sequential};
    use convkit_tensor::seeded_rng;

    #[test]
    fn records_nested_names_shapes_and_leaves() {
        let mut rng = seeded_rng(0);
        let block = Sequential::new(vec![
            Box::new(Linear::new(4, 3, LinearConfig::default(), &mut rng).unwrap()),
            Box::new(ReLU),
        ]);
        let model = Sequential::named(vec![
            ("features".into(), Box::new(block) as Box<dyn Module>),
            (
                "fc".into(),
                Box::new(Linear::new(3, 2, LinearConfig::default(), &mut rng).unwrap()),
            ),
        ])
        .unwrap();
        let x = Tensor::zeros([5, 4]);
        let (y, records) = trace(&model, &x, Mode::Eval).unwrap();
        assert_eq!(y.dims(), [5, 2]);
        let names: Vec<_> = records.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["features", "features.0", "features.1", "fc"]);
        let leaves: Vec<_> = records.iter().map(|r| r.is_leaf).collect();
        assert_eq!(leaves, [false, true, true, true]);
        assert_eq!(records[1].output.dims(), [5, 3]);
        assert_eq!(records[0].parameters, 15);
        assert_eq!(records[1].depth, 1);
        // A second trace starts afresh.
        assert_eq!(trace(&model, &x, Mode::Eval).unwrap().1.len(), 4);
    }
}
