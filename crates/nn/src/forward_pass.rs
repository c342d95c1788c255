//! One forward pass through a module tree, and the hooks that watch it: PyTorch's
//! `register_forward_pre_hook` / `register_forward_hook` without state hidden in the modules.
//!
//! A container runs each child through [`ForwardPass::call`] under the child's name; the pass knows
//! the dotted name of every call (`layer1.0.conv1`) and shows each to its hooks, which may replace
//! the output. Without hooks a call is a plain `forward_in`, so training pays nothing for this.
use crate::error::Result;
use crate::fusion::FusedCalls;
use crate::layers::{ActivationLayer, BatchNorm2d, BatchNormNd, ReLU};
use crate::module::{join_name, Mode, Module};
use convkit_tensor::{Activation, Tensor};
use std::any::Any;

/// One finished module call, as a [`ForwardHook`] sees it.
pub struct ModuleCall<'a> {
    /// The dotted name, as in the `state_dict` (`layer1.0.conv1`).
    pub name: &'a str,
    /// Nesting depth: 0 for the root's children.
    pub depth: usize,
    pub module: &'a dyn Module,
    pub input: &'a Tensor,
    pub output: &'a Tensor,
}

/// Watches the module calls of a forward pass.
pub trait ForwardHook {
    /// Before the module `name` runs on `input` (PyTorch's forward pre-hook). Does nothing by default.
    ///
    /// # Errors
    /// The hook's own; it ends the forward pass.
    fn before(&mut self, _name: &str, _module: &dyn Module, _input: &Tensor) -> Result<()> {
        Ok(())
    }

    /// After the module ran: `Some(t)` replaces its output for the rest of the network, `None`
    /// keeps it (PyTorch's forward hook).
    ///
    /// # Errors
    /// The hook's own; it ends the forward pass.
    fn after(&mut self, call: &ModuleCall<'_>) -> Result<Option<Tensor>>;
}

/// A closure is a hook that only looks after calls.
impl<F: FnMut(&ModuleCall<'_>) -> Result<Option<Tensor>>> ForwardHook for F {
    fn after(&mut self, call: &ModuleCall<'_>) -> Result<Option<Tensor>> {
        self(call)
    }
}

/// The state of one forward pass: its [`Mode`], the dotted name of the module running now, the
/// hooks (called in the order they were added), and the modules that run in [`Mode::Eval`] even
/// in a training pass (a fine-tuned network's pretrained batch norms, say).
///
/// ```
/// use convkit_nn::layers::{Linear, LinearConfig, ReLU, Sequential};
/// use convkit_nn::{ForwardPass, Mode, ModuleCall};
/// use convkit_tensor::{seeded_rng, Tensor};
/// let mut rng = seeded_rng(0);
/// let model = Sequential::new(vec![
///     Box::new(Linear::new(4, 3, LinearConfig::default(), &mut rng).unwrap()),
///     Box::new(ReLU),
/// ]);
/// let mut seen = Vec::new();
/// let mut hook = |call: &ModuleCall| {
///     seen.push((call.name.to_string(), call.output.dims().to_vec()));
///     Ok(None)
/// };
/// let x = Tensor::zeros([2, 4]);
/// ForwardPass::new(Mode::Eval).with_hook(&mut hook).run(&model, &x).unwrap();
/// assert_eq!(seen, [("0".to_string(), vec![2, 3]), ("1".to_string(), vec![2, 3])]);
/// ```
pub struct ForwardPass<'h> {
    mode: Mode,
    /// Dotted name of the innermost running call ("" at the root).
    path: String,
    depth: usize,
    hooks: Vec<&'h mut dyn ForwardHook>,
    /// Dotted names of modules run in [`Mode::Eval`] whatever the pass's mode (sorted).
    eval_modules: Vec<String>,
    /// The folded layers of a [`crate::fusion::FusedModel`], run in place of the calls they
    /// replace.
    fusion: Option<FusedCalls<'h>>,
}

impl<'h> ForwardPass<'h> {
    pub fn new(mode: Mode) -> ForwardPass<'h> {
        ForwardPass {
            mode,
            path: String::new(),
            depth: 0,
            hooks: Vec::new(),
            eval_modules: Vec::new(),
            fusion: None,
        }
    }

    /// Runs the modules named `names` (dotted, as in the `state_dict`: `layer1.0.bn1`), and
    /// everything inside them, in [`Mode::Eval`] even when the pass trains: Keras's
    /// `layer(x, training=False)` for some layers of a network. Adds to earlier calls.
    pub fn set_eval_modules(&mut self, names: &[String]) {
        self.eval_modules.extend_from_slice(names);
        self.eval_modules.sort_unstable();
        self.eval_modules.dedup();
    }

    /// An eval-mode pass that runs `fusion`'s folded layers instead of the calls they replace.
    pub(crate) fn fused(fusion: FusedCalls<'h>) -> ForwardPass<'h> {
        ForwardPass {
            fusion: Some(fusion),
            ..ForwardPass::new(Mode::Eval)
        }
    }

    /// The fused layers' state at the end of the pass, if it is a fused one.
    pub(crate) fn fusion(&self) -> Option<&FusedCalls<'h>> {
        self.fusion.as_ref()
    }

    /// Adds a hook that sees every module call of the pass.
    pub fn with_hook(mut self, hook: &'h mut dyn ForwardHook) -> ForwardPass<'h> {
        self.hooks.push(hook);
        self
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Runs the root module of the pass on `x` (the root itself is not shown to the hooks).
    ///
    /// # Errors
    /// The model's or a hook's error.
    pub fn run(&mut self, model: &dyn Module, x: &Tensor) -> Result<Tensor> {
        model.forward_in(x, self)
    }

    /// Runs `child`, named `name` inside the module running now, showing the call to the hooks.
    /// Containers run every child through here.
    ///
    /// # Errors
    /// The child's or a hook's error.
    pub fn call(&mut self, name: &str, child: &dyn Module, x: &Tensor) -> Result<Tensor> {
        if self.is_direct() {
            return child.forward_in(x, self);
        }
        let parent_len = self.path.len();
        self.path = join_name(&self.path, name);
        let mode = self.mode;
        if self.eval_modules.binary_search(&self.path).is_ok() {
            self.mode = Mode::Eval;
        }
        let fused = match &mut self.fusion {
            Some(fusion) => fusion.intercept(&self.path, x),
            None => Ok(None),
        };
        let result = match fused {
            Ok(Some(out)) => Ok(out),
            Ok(None) => self.call_hooked(child, x),
            Err(e) => Err(e),
        };
        self.mode = mode;
        self.path.truncate(parent_len);
        result
    }

    /// Whether calls run their modules directly: no hooks watch them, no module is held in eval
    /// mode and no fused inference replaces them. A module may then fuse consecutive calls into
    /// one op ([`ForwardPass::norm_relu`]), since nothing can observe the calls in between.
    pub fn is_direct(&self) -> bool {
        self.hooks.is_empty() && self.eval_modules.is_empty() && self.fusion.is_none()
    }

    /// `relu(norm(x) + shortcut)` (`relu(norm(x))` without one): the calls `norm_name` and
    /// `relu_name`, with the sum between them. A direct pass ([`ForwardPass::is_direct`]) runs
    /// them as one fused op, which needs `shortcut` first: it computes it then. Otherwise the
    /// calls run one by one in the model's order (the norm, then `shortcut`, then the ReLU).
    ///
    /// # Errors
    /// The norm's or the shortcut's; shapes that differ; a hook's error.
    pub fn norm_relu<const D: usize>(
        &mut self,
        (norm_name, norm): (&str, &BatchNormNd<D>),
        relu_name: &str,
        x: &Tensor,
        shortcut: impl FnOnce(&mut Self) -> Result<Option<Tensor>>,
    ) -> Result<Tensor> {
        if self.is_direct() {
            let shortcut = shortcut(self)?;
            return norm.forward_relu(x, shortcut.as_ref(), self.mode);
        }
        let y = self.call(norm_name, norm, x)?;
        match shortcut(self)? {
            Some(s) => self.residual_relu(relu_name, y, Some(&s)),
            None => self.call(relu_name, &ReLU, &y),
        }
    }

    /// Runs `children` one after the other on `x`, as a `Sequential` does. In a direct pass
    /// ([`ForwardPass::is_direct`]) a 2-D batch norm followed by a ReLU runs as one fused op
    /// ([`ForwardPass::norm_relu`]); otherwise every child is its own call.
    ///
    /// # Errors
    /// A child's or a hook's error.
    pub fn chain(&mut self, children: &[(&str, &dyn Module)], x: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        let mut i = 0;
        while i < children.len() {
            let (name, child) = children[i];
            let norm = (child as &dyn Any).downcast_ref::<BatchNorm2d>();
            let relu = children.get(i + 1).filter(|(_, next)| is_relu(*next));
            if let (true, Some(norm), Some(&(relu_name, _))) = (self.is_direct(), norm, relu) {
                x = self.norm_relu((name, norm), relu_name, &x, |_| Ok(None))?;
                i += 2;
            } else {
                x = self.call(name, child, &x)?;
                i += 1;
            }
        }
        Ok(x)
    }

    /// `relu(residual + shortcut)` (`relu(residual)` without a shortcut), the end of a residual
    /// block, its ReLU shown as the call `relu_name`. A fused pass records no graph and has no
    /// hooks, so there the sum and the ReLU are one in-place pass over `residual`, which must be
    /// the block's own output.
    ///
    /// # Errors
    /// Shapes that differ; a hook's error.
    pub fn residual_relu(
        &mut self,
        relu_name: &str,
        residual: Tensor,
        shortcut: Option<&Tensor>,
    ) -> Result<Tensor> {
        if self.fusion.is_some() && self.hooks.is_empty() {
            match shortcut {
                Some(s) => residual.add_relu_(s)?,
                None => residual.activation_(Activation::Relu)?,
            }
            return Ok(residual);
        }
        let sum = match shortcut {
            Some(s) => residual.add(s)?,
            None => residual,
        };
        self.call(relu_name, &ReLU, &sum)
    }

    fn call_hooked(&mut self, child: &dyn Module, x: &Tensor) -> Result<Tensor> {
        if self.hooks.is_empty() {
            return child.forward_in(x, self);
        }
        for hook in &mut self.hooks {
            hook.before(&self.path, child, x)?;
        }
        self.depth += 1;
        let output = child.forward_in(x, self);
        self.depth -= 1;
        let mut output = output?;
        for hook in &mut self.hooks {
            let call = ModuleCall {
                name: &self.path,
                depth: self.depth,
                module: child,
                input: x,
                output: &output,
            };
            if let Some(replacement) = hook.after(&call)? {
                output = replacement;
            }
        }
        Ok(output)
    }
}

/// Whether `module` is a plain ReLU layer.
fn is_relu(module: &dyn Module) -> bool {
    (module as &dyn Any)
        .downcast_ref::<ActivationLayer>()
        .is_some_and(|a| a.activation() == Activation::Relu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{BatchNorm1d, BatchNormConfig, Sequential};

    #[test]
    fn eval_modules_run_in_eval_inside_a_training_pass() {
        let bn = || BatchNorm1d::new(2, BatchNormConfig::default()).unwrap();
        let model = Sequential::new(vec![
            Box::new(Sequential::new(vec![Box::new(bn())])),
            Box::new(bn()),
        ]);
        let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 6.0], [2, 2]).unwrap();
        let mut pass = ForwardPass::new(Mode::Train);
        pass.set_eval_modules(&["0".to_string()]);
        let y = pass.run(&model, &x).unwrap();
        let stats = |name: &str| {
            let buffers = model.buffers();
            buffers.iter().find(|(n, _)| n == name).unwrap().1.to_vec()
        };
        // `0.0` (inside the eval module) kept its running statistics and normalised by them
        // (mean 0, var 1: the identity up to eps); `1` trained on the batch.
        assert_eq!(stats("0.0.running_mean"), [0.0, 0.0]);
        assert_eq!(stats("0.0.num_batches_tracked"), [0.0]);
        let moved = stats("1.running_mean");
        assert!(
            (moved[0] - 0.2).abs() < 1e-5 && (moved[1] - 0.4).abs() < 1e-5,
            "{moved:?}"
        );
        // `1` normalised with batch statistics: each column is ±1 (up to eps).
        for (got, want) in y.to_vec().iter().zip([-1.0, -1.0, 1.0, 1.0]) {
            assert!((got - want).abs() < 1e-3, "{y:?}");
        }
    }
}
