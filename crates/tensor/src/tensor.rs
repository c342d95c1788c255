//! Tensor: shared f32 storage + shape + the autodiff link to the op that produced it.
use crate::autograd::{self, Op};
use crate::error::{Error, Result};
use crate::shape::Shape;
use rand::Rng;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// An f32 tensor: contiguous, row-major (NCHW for images). Cloning is cheap: clones share storage,
/// gradient and graph node. Ops return new tensors; only `*_mut`/`*_` methods write in place.
#[derive(Clone)]
pub struct Tensor(Arc<Inner>);

struct Inner {
    id: usize,
    shape: Shape,
    storage: Arc<RwLock<Vec<f32>>>,
    requires_grad: AtomicBool,
    grad: Mutex<Option<Vec<f32>>>,
    /// The op that produced this tensor, when it was recorded for backward.
    node: Option<Op>,
}

impl Tensor {
    fn build(storage: Arc<RwLock<Vec<f32>>>, shape: Shape, node: Option<Op>) -> Tensor {
        let requires_grad = node.is_some();
        Tensor(Arc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            shape,
            storage,
            requires_grad: AtomicBool::new(requires_grad),
            grad: Mutex::new(None),
            node,
        }))
    }

    /// Wraps a buffer the caller guarantees has `shape.numel()` elements (ops use this).
    pub(crate) fn from_parts(data: Vec<f32>, shape: Shape) -> Tensor {
        debug_assert_eq!(data.len(), shape.numel());
        Tensor::build(Arc::new(RwLock::new(data)), shape, None)
    }

    /// The result of an op: recorded in the graph when grad is enabled and an input requires grad.
    pub(crate) fn from_op(data: Vec<f32>, shape: Shape, op: Op) -> Tensor {
        debug_assert_eq!(data.len(), shape.numel());
        let record = autograd::is_grad_enabled() && op.inputs().iter().any(|t| t.requires_grad());
        Tensor::build(Arc::new(RwLock::new(data)), shape, record.then_some(op))
    }

    /// A tensor over `data` with the given shape.
    ///
    /// # Errors
    /// When `data.len()` differs from the number of elements the shape holds.
    pub fn from_vec(data: Vec<f32>, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if data.len() != shape.numel() {
            return Err(Error::shape(
                "from_vec",
                format!(
                    "{} values cannot fill shape {shape} ({} elements)",
                    data.len(),
                    shape.numel()
                ),
            ));
        }
        Ok(Tensor::from_parts(data, shape))
    }

    pub fn scalar(value: f32) -> Tensor {
        Tensor::from_parts(vec![value], Shape::new(&[]))
    }

    pub fn full(shape: impl Into<Shape>, value: f32) -> Tensor {
        let shape = shape.into();
        Tensor::from_parts(vec![value; shape.numel()], shape)
    }

    pub fn zeros(shape: impl Into<Shape>) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    pub fn ones(shape: impl Into<Shape>) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// `[start, start + step, ...]` up to (excluding) `end`, as a 1-D tensor.
    pub fn arange(start: f32, end: f32, step: f32) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || (end - start) / step < 0.0 {
            return Err(Error::config(
                "arange",
                format!("cannot go from {start} to {end} by {step}"),
            ));
        }
        let n = ((end - start) / step).ceil() as usize;
        let data: Vec<f32> = (0..n).map(|i| start + i as f32 * step).collect();
        Ok(Tensor::from_parts(data, Shape::new(&[n])))
    }

    /// Uniform samples in `[low, high)`.
    pub fn uniform(shape: impl Into<Shape>, low: f32, high: f32, rng: &mut impl Rng) -> Tensor {
        let shape = shape.into();
        let data = (0..shape.numel())
            .map(|_| low + (high - low) * rng.random::<f32>())
            .collect();
        Tensor::from_parts(data, shape)
    }

    /// Uniform samples in `[0, 1)`.
    pub fn rand(shape: impl Into<Shape>, rng: &mut impl Rng) -> Tensor {
        Tensor::uniform(shape, 0.0, 1.0, rng)
    }

    /// Standard normal samples (Box–Muller).
    pub fn randn(shape: impl Into<Shape>, rng: &mut impl Rng) -> Tensor {
        let shape = shape.into();
        let data = (0..shape.numel()).map(|_| standard_normal(rng)).collect();
        Tensor::from_parts(data, shape)
    }

    pub fn id(&self) -> usize {
        self.0.id
    }

    pub fn shape(&self) -> &Shape {
        &self.0.shape
    }

    pub fn dims(&self) -> &[usize] {
        self.0.shape.dims()
    }

    pub fn rank(&self) -> usize {
        self.0.shape.rank()
    }

    pub fn numel(&self) -> usize {
        self.0.shape.numel()
    }

    /// Read access to the values (row-major).
    pub fn data(&self) -> RwLockReadGuard<'_, Vec<f32>> {
        self.0.storage.read().expect("tensor storage lock poisoned")
    }

    /// Write access to the values, bypassing autodiff: for optimisers, initialisers and running statistics.
    pub fn data_mut(&self) -> RwLockWriteGuard<'_, Vec<f32>> {
        self.0
            .storage
            .write()
            .expect("tensor storage lock poisoned")
    }

    /// [`Tensor::data_mut`], or `None` while any other guard of the storage is held.
    pub(crate) fn try_data_mut(&self) -> Option<RwLockWriteGuard<'_, Vec<f32>>> {
        self.0.storage.try_write().ok()
    }

    pub fn to_vec(&self) -> Vec<f32> {
        self.data().clone()
    }

    /// The single value of a one-element tensor (a loss, say).
    ///
    /// # Panics
    /// When the tensor holds more than one element: that is a bug in the caller, not bad input.
    pub fn item(&self) -> f32 {
        let data = self.data();
        assert_eq!(
            data.len(),
            1,
            "item() on a tensor of shape {}",
            self.shape()
        );
        data[0]
    }

    /// The element at a multi-index.
    ///
    /// # Errors
    /// When the index has the wrong rank or is out of range.
    pub fn get(&self, index: &[usize]) -> Result<f32> {
        let dims = self.dims();
        if index.len() != dims.len() || index.iter().zip(dims).any(|(i, d)| i >= d) {
            return Err(Error::shape(
                "get",
                format!("index {index:?} is outside shape {}", self.shape()),
            ));
        }
        let offset: usize = index
            .iter()
            .zip(self.shape().strides())
            .map(|(i, s)| i * s)
            .sum();
        Ok(self.data()[offset])
    }

    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.load(Ordering::Relaxed)
    }

    /// Marks a leaf as a trainable parameter (or freezes it with `false`).
    pub fn set_requires_grad(&self, requires_grad: bool) {
        self.0.requires_grad.store(requires_grad, Ordering::Relaxed);
    }

    /// Builder form of [`Tensor::set_requires_grad`]`(true)`.
    pub fn with_grad(self) -> Tensor {
        self.set_requires_grad(true);
        self
    }

    pub fn is_leaf(&self) -> bool {
        self.0.node.is_none()
    }

    pub(crate) fn node(&self) -> Option<&Op> {
        self.0.node.as_ref()
    }

    /// The accumulated gradient of a leaf, if `backward()` reached it.
    pub fn grad(&self) -> Option<Tensor> {
        let grad = self.0.grad.lock().expect("grad lock poisoned");
        grad.as_ref()
            .map(|g| Tensor::from_parts(g.clone(), self.shape().clone()))
    }

    /// Runs `f` over the gradient buffer without copying it (optimisers use this).
    pub fn with_grad_slice<R>(&self, f: impl FnOnce(Option<&[f32]>) -> R) -> R {
        let grad = self.0.grad.lock().expect("grad lock poisoned");
        f(grad.as_deref())
    }

    /// Runs `f` over the gradient buffer for in-place changes (gradient clipping uses this).
    pub fn with_grad_slice_mut<R>(&self, f: impl FnOnce(Option<&mut [f32]>) -> R) -> R {
        let mut grad = self.0.grad.lock().expect("grad lock poisoned");
        f(grad.as_deref_mut())
    }

    /// Replaces the gradient (data-parallel training writes the one averaged over the ranks).
    ///
    /// # Errors
    /// A gradient whose length is not this tensor's.
    pub fn set_grad(&self, grad: Vec<f32>) -> Result<()> {
        if grad.len() != self.numel() {
            return Err(Error::shape(
                "set_grad",
                format!(
                    "{} values for a tensor of shape {}",
                    grad.len(),
                    self.shape()
                ),
            ));
        }
        *self.0.grad.lock().expect("grad lock poisoned") = Some(grad);
        Ok(())
    }

    pub fn zero_grad(&self) {
        *self.0.grad.lock().expect("grad lock poisoned") = None;
    }

    /// Adds `incoming` to the gradient; the first contribution is moved in, not copied.
    pub(crate) fn accumulate_grad(&self, incoming: Vec<f32>) {
        let mut grad = self.0.grad.lock().expect("grad lock poisoned");
        match grad.as_mut() {
            Some(g) => crate::kernels::map::zip_in_place(g, &incoming, |g, x| g + x),
            None => *grad = Some(incoming),
        }
    }

    /// A tensor sharing this one's values but cut from the graph.
    pub fn detach(&self) -> Tensor {
        Tensor::build(self.0.storage.clone(), self.shape().clone(), None)
    }

    /// A new tensor sharing storage under another shape of the same size (no graph link).
    pub(crate) fn share_storage(&self, shape: Shape, node: Option<Op>) -> Tensor {
        let record = node.filter(|_| autograd::is_grad_enabled() && self.requires_grad());
        Tensor::build(self.0.storage.clone(), shape, record)
    }

    /// Reverse-mode autodiff from this scalar: fills (accumulates into) the gradient of every leaf that
    /// requires grad and was used to compute it.
    ///
    /// # Errors
    /// When the tensor holds more than one value or does not depend on anything that requires grad.
    pub fn backward(&self) -> Result<()> {
        autograd::backward(self)
    }
}

/// One standard normal sample by the Box–Muller transform.
fn standard_normal(rng: &mut impl Rng) -> f32 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // in (0, 1], so ln is finite
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = self.data();
        let preview: Vec<f32> = data.iter().take(8).copied().collect();
        write!(
            f,
            "Tensor(shape={}, requires_grad={}, data={:?}{})",
            self.shape(),
            self.requires_grad(),
            preview,
            if data.len() > 8 { " ..." } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded_rng;

    #[test]
    fn from_vec_checks_length() {
        let err = Tensor::from_vec(vec![1.0; 5], [2, 3]).unwrap_err();
        assert!(
            err.to_string()
                .contains("5 values cannot fill shape [2, 3]"),
            "{err}"
        );
        let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]).unwrap();
        assert_eq!(t.get(&[1, 2]).unwrap(), 6.0);
        assert!(t.get(&[2, 0]).is_err());
    }

    #[test]
    fn constructors() {
        assert_eq!(
            Tensor::arange(0.0, 5.0, 2.0).unwrap().to_vec(),
            vec![0.0, 2.0, 4.0]
        );
        assert!(Tensor::arange(0.0, 5.0, -1.0).is_err());
        assert_eq!(Tensor::full([2], 3.5).to_vec(), vec![3.5, 3.5]);
        let mut rng = seeded_rng(7);
        let n = Tensor::randn([10_000], &mut rng).to_vec();
        let mean = n.iter().sum::<f32>() / n.len() as f32;
        let var = n.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n.len() as f32;
        assert!(
            mean.abs() < 0.05 && (var - 1.0).abs() < 0.05,
            "mean {mean} var {var}"
        );
        let u = Tensor::uniform([1000], -2.0, 3.0, &mut rng).to_vec();
        assert!(u.iter().all(|x| (-2.0..3.0).contains(x)));
        let a = Tensor::randn([4], &mut seeded_rng(1)).to_vec();
        assert_eq!(a, Tensor::randn([4], &mut seeded_rng(1)).to_vec());
    }
}
