//! Plumbing for the zoo's custom blocks (residual, dense, inverted-residual blocks and the models
//! around them): structs whose forward is not a plain chain. Each lists its children once, in
//! PyTorch's registration order, and gets its `visit` from here and its `describe` from
//! [`crate::parts::describe_children`].
use convkit_nn::{join_name, Module, TensorKind};
use convkit_tensor::Tensor;

/// A block's children with their `state_dict` name segments, in PyTorch's registration order.
pub(crate) type Children<'a> = Vec<(&'a str, &'a dyn Module)>;

/// Visits every child's tensors under `prefix.<child>`, as a PyTorch module's `state_dict` does.
pub(crate) fn visit_children(
    children: &Children<'_>,
    prefix: &str,
    visitor: &mut dyn FnMut(&str, &Tensor, TensorKind),
) {
    for (name, child) in children {
        child.visit(&join_name(prefix, name), visitor);
    }
}
