//! Gradients at module outputs, read and changed on the way down: PyTorch's
//! `register_full_backward_hook` for the methods that need it (Grad-CAM reads a layer's gradient,
//! guided backpropagation clamps the gradient at every ReLU).
//!
//! [`BackwardHooks`] is a [`ForwardHook`] that cuts the graph after each module it selects: the
//! rest of the network gets a leaf with the same values, so one `backward()` from the output stops
//! there. [`BackwardHooks::backward`] then visits the cuts from the last to the first, hands each
//! gradient to a function that may replace it, and carries it on below the cut. Cuts are visited
//! in the order the calls finished, so every path from the output to a cut has been walked before
//! the cut's gradient is read.
use crate::error::Result;
use crate::forward_pass::{ForwardHook, ModuleCall};
use convkit_tensor::Tensor;

/// The output of one selected module call, and its gradient once [`BackwardHooks::backward`] ran.
pub struct Cut {
    /// The module's dotted name (`layer4.1.conv2`).
    pub name: String,
    /// The output with its graph (what the module computed from its input).
    output: Tensor,
    /// The same values as a leaf: what the rest of the network was computed from.
    leaf: Tensor,
}

impl Cut {
    /// The module's output (the activation).
    pub fn value(&self) -> &Tensor {
        &self.leaf
    }

    /// The gradient that reached the output from above, before any change by `backward`'s
    /// function; `None` when the output did not contribute to the root.
    pub fn grad(&self) -> Option<Tensor> {
        self.leaf.grad()
    }
}

/// Cuts the graph after the module calls `select` picks; see the module doc.
///
/// ```
/// use convkit_nn::backward_hooks::BackwardHooks;
/// use convkit_nn::layers::{Linear, LinearConfig, ReLU, Sequential};
/// use convkit_nn::{ForwardPass, Mode, ModuleCall};
/// use convkit_tensor::{seeded_rng, Tensor};
/// let mut rng = seeded_rng(0);
/// let model = Sequential::new(vec![
///     Box::new(Linear::new(3, 4, LinearConfig::default(), &mut rng).unwrap()),
///     Box::new(ReLU),
///     Box::new(Linear::new(4, 1, LinearConfig::default(), &mut rng).unwrap()),
/// ]);
/// let x = Tensor::randn([1, 3], &mut rng).with_grad();
/// let mut hooks = BackwardHooks::new(|call: &ModuleCall| call.name == "1");
/// let y = ForwardPass::new(Mode::Eval).with_hook(&mut hooks).run(&model, &x).unwrap();
/// // Guided backpropagation's rule at the ReLU: only positive gradients pass.
/// hooks.backward(&y.sum(), |_, g| Ok(g.relu())).unwrap();
/// assert_eq!(hooks.cuts()[0].grad().unwrap().dims(), [1, 4]);
/// assert!(x.grad().is_some());
/// ```
pub struct BackwardHooks<S> {
    select: S,
    cuts: Vec<Cut>,
}

impl<S: FnMut(&ModuleCall<'_>) -> bool> BackwardHooks<S> {
    pub fn new(select: S) -> BackwardHooks<S> {
        BackwardHooks {
            select,
            cuts: Vec::new(),
        }
    }

    /// The selected calls of the forward pass, in the order they finished.
    pub fn cuts(&self) -> &[Cut] {
        &self.cuts
    }

    /// Backpropagates from the scalar `root` down to the leaves (the input, parameters that
    /// require grad), passing the gradient at each cut through `change(cut, grad)`.
    ///
    /// # Errors
    /// `root` is not a scalar that depends on something requiring grad, or `change` fails or
    /// returns a gradient of another shape.
    pub fn backward(
        &self,
        root: &Tensor,
        mut change: impl FnMut(&Cut, Tensor) -> Result<Tensor>,
    ) -> Result<()> {
        root.backward()?;
        for cut in self.cuts.iter().rev() {
            let Some(grad) = cut.grad() else { continue };
            if !cut.output.requires_grad() {
                continue;
            }
            let grad = change(cut, grad)?;
            // Σ output · g has gradient g at the output: the vector-Jacobian product below the cut.
            cut.output.mul(&grad)?.sum().backward()?;
        }
        Ok(())
    }
}

impl<S: FnMut(&ModuleCall<'_>) -> bool> ForwardHook for BackwardHooks<S> {
    fn after(&mut self, call: &ModuleCall<'_>) -> Result<Option<Tensor>> {
        if !(self.select)(call) {
            return Ok(None);
        }
        let leaf = call.output.detach().with_grad();
        self.cuts.push(Cut {
            name: call.name.to_string(),
            output: call.output.clone(),
            leaf: leaf.clone(),
        });
        Ok(Some(leaf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward_pass::ForwardPass;
    use crate::layers::testing::assert_close;
    use crate::layers::{Linear, LinearConfig, ReLU, Sequential, Tanh};
    use crate::module::{Mode, Module};
    use convkit_tensor::seeded_rng;

    fn mlp() -> Sequential {
        let mut rng = seeded_rng(4);
        Sequential::new(vec![
            Box::new(Linear::new(5, 6, LinearConfig::default(), &mut rng).unwrap()),
            Box::new(Tanh),
            Box::new(Linear::new(6, 4, LinearConfig::default(), &mut rng).unwrap()),
            Box::new(ReLU),
            Box::new(Linear::new(4, 2, LinearConfig::default(), &mut rng).unwrap()),
        ])
    }

    #[test]
    fn unchanged_gradients_equal_plain_backward() {
        let model = mlp();
        let x = Tensor::randn([3, 5], &mut seeded_rng(1)).with_grad();
        let plain = model.forward(&x, Mode::Eval).unwrap().sum();
        plain.backward().unwrap();
        let expected = x.grad().unwrap().to_vec();
        x.zero_grad();

        let mut hooks = BackwardHooks::new(|_: &ModuleCall| true);
        let y = ForwardPass::new(Mode::Eval)
            .with_hook(&mut hooks)
            .run(&model, &x)
            .unwrap();
        assert_close(&y.sum().to_vec(), &plain.to_vec());
        hooks.backward(&y.sum(), |_, g| Ok(g)).unwrap();
        assert_close(&x.grad().unwrap().to_vec(), &expected);
        let names: Vec<_> = hooks.cuts().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["0", "1", "2", "3", "4"]);
        // The last layer's output gradient is the all-ones seed of y.sum().
        assert_eq!(hooks.cuts()[4].grad().unwrap().to_vec(), vec![1.0; 6]);
    }

    #[test]
    fn changed_gradient_flows_below_the_cut() {
        let model = mlp();
        let x = Tensor::randn([2, 5], &mut seeded_rng(2)).with_grad();
        let mut hooks = BackwardHooks::new(|c: &ModuleCall| c.name == "2");
        let y = ForwardPass::new(Mode::Eval)
            .with_hook(&mut hooks)
            .run(&model, &x)
            .unwrap();
        // Zeroing the gradient at layer 2's output leaves nothing for the input.
        hooks
            .backward(&y.sum(), |_, g| Ok(g.mul_scalar(0.0)))
            .unwrap();
        assert!(x.grad().unwrap().to_vec().iter().all(|&g| g == 0.0));
        assert!(hooks.cuts()[0]
            .grad()
            .unwrap()
            .to_vec()
            .iter()
            .any(|&g| g != 0.0));
    }
}
