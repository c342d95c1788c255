//! Recording what every layer of a model does in one forward pass, PyTorch's forward hooks in the
//! form `convkit summary` needs: containers run their children through [`call`], which, while a
//! [`trace`] is active, records each child's dotted name, input and output shapes.
use crate::error::Result;
use crate::module::{join_name, Mode, Module};
use convkit_tensor::Tensor;
use std::cell::RefCell;

/// One module call seen during a traced forward pass.
#[derive(Clone, Debug)]
pub struct LayerRecord {
    /// Dotted name, as in the `state_dict` (`layer1.0.conv1`).
    pub name: String,
    /// The first line of the module's `describe()` (`Conv2d(3, 64, kernel_size=(7, 7), ...)`).
    pub description: String,
    /// Nesting depth: 0 for the root's children.
    pub depth: usize,
    /// True when no module call happened inside this one (a layer, not a container).
    pub is_leaf: bool,
    pub input_dims: Vec<usize>,
    /// The output itself, so that callers can follow the graph behind it (receptive field).
    pub output: Tensor,
    /// Parameters registered directly or below this module.
    pub parameters: usize,
    /// Multiply-adds of this call (leaves only; containers report 0).
    pub macs: u64,
}

#[derive(Default)]
struct TraceState {
    path: Vec<String>,
    records: Vec<LayerRecord>,
}

thread_local! {
    static TRACE: RefCell<Option<TraceState>> = const { RefCell::new(None) };
}

/// Runs `child` (named `name` inside its parent) on `x`. Every container calls its children through
/// this function, so that a [`trace`] sees each call under its full dotted name.
///
/// # Errors
/// The child's error.
pub fn call(name: &str, child: &dyn Module, x: &Tensor, mode: Mode) -> Result<Tensor> {
    let tracing = TRACE.with(|t| {
        let mut t = t.borrow_mut();
        let state = t.as_mut()?;
        let full = join_name(state.path.last().map_or("", String::as_str), name);
        state.path.push(full);
        Some(state.records.len())
    });
    let Some(records_before) = tracing else {
        return child.forward(x, mode);
    };
    let result = child.forward(x, mode);
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        let state = t.as_mut().expect("trace active for the whole call");
        let full = state.path.pop().expect("pushed above");
        if let Ok(output) = &result {
            let is_leaf = state.records.len() == records_before;
            let record = LayerRecord {
                description: child.describe().lines().next().unwrap_or("").to_string(),
                depth: state.path.len(),
                is_leaf,
                input_dims: x.dims().to_vec(),
                output: output.clone(),
                parameters: child.num_parameters(),
                macs: if is_leaf {
                    child.macs(x.dims(), output.dims())
                } else {
                    0
                },
                name: full,
            };
            // Parents come before their children, as in a printed model.
            state.records.insert(records_before, record);
        }
    });
    result
}

/// Runs `model` on `x` and returns its output with a record of every module call, in the order the
/// calls started (a container before its children). Traces do not nest.
///
/// # Errors
/// The model's error.
pub fn trace(model: &dyn Module, x: &Tensor, mode: Mode) -> Result<(Tensor, Vec<LayerRecord>)> {
    TRACE.with(|t| *t.borrow_mut() = Some(TraceState::default()));
    let result = model.forward(x, mode);
    let state = TRACE
        .with(|t| t.borrow_mut().take())
        .expect("trace state set above");
    Ok((result?, state.records))
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
