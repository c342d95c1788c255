//! Data-parallel training over MPI, plugged into a [`Trainer`] through its extension points (the
//! design of PyTorch DDP, Li et al. 2020): parameters and buffers broadcast from rank 0 when the
//! run starts or resumes (a callback); each rank trains on its part of every batch (the loader's
//! shard); after backward the gradients are summed in buckets, each rank's weighted by its share of
//! the global batch, so that every rank steps exactly as one process on the global batch would (a
//! gradient hook); buffers (BatchNorm's running statistics) follow rank 0 after every step;
//! SyncBatchNorm on demand (the step runs inside [`with_sync_batch_norm`]).
use crate::buckets::{plan, Bucket, BUCKET_BYTES, FIRST_BUCKET_BYTES};
use crate::collectives::Collectives;
use convkit_nn::sync_batch_norm::with_sync_batch_norm;
use convkit_nn::Module;
use convkit_tensor::{BatchStatsReducer, Tensor};
use convkit_train::callback::{Callback, RunStart};
use convkit_train::{GradientHook, Replicas, Result, StepBatch, StepOutput, TrainStep, Trainer};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

/// How the ranks train together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataParallelConfig {
    /// Normalise batch norm by the statistics of the global batch (SyncBatchNorm) instead of each
    /// rank's part of it.
    pub sync_batch_norm: bool,
}

/// What the parts installed in a trainer share.
struct Shared {
    comm: Arc<Collectives>,
    /// The model's buffers, known from the start of the run.
    buffers: RefCell<Vec<Tensor>>,
    /// Images in this rank's part of the current batch.
    local_images: Cell<usize>,
}

/// Makes `trainer` rank `comm.rank()` of a data-parallel job whose global batch is the
/// configuration's batch size, training with `step` (wrapped to record each rank's share and, if
/// asked, to synchronise batch norm).
pub fn make_data_parallel(
    trainer: &mut Trainer,
    comm: &Arc<Collectives>,
    step: impl TrainStep + 'static,
    config: DataParallelConfig,
) {
    let shared = Rc::new(Shared {
        comm: Arc::clone(comm),
        buffers: RefCell::default(),
        local_images: Cell::new(0),
    });
    let sync: Option<Arc<dyn BatchStatsReducer>> = config
        .sync_batch_norm
        .then(|| Arc::new(SyncStatistics(Arc::clone(comm))) as Arc<dyn BatchStatsReducer>);
    trainer
        .set_replicas(Ranks(Rc::clone(&shared)))
        .set_step(ShareRecordingStep {
            inner: Box::new(step),
            shared: Rc::clone(&shared),
            sync,
        })
        .add_gradient_hook(GradientAllReduce {
            shared: Rc::clone(&shared),
            buckets: Vec::new(),
        })
        .add_callback(BroadcastAtStart(shared));
}

/// The job's ranks as the training loop sees them.
struct Ranks(Rc<Shared>);

impl Replicas for Ranks {
    fn rank(&self) -> usize {
        self.0.comm.rank()
    }
    fn size(&self) -> usize {
        self.0.comm.size()
    }
    fn all_sum(&self, values: &mut [f64]) -> Result<()> {
        self.0
            .comm
            .all_sum_f64(values, "a sum of the run's figures");
        Ok(())
    }
}

/// Batch-norm statistics summed over the ranks.
struct SyncStatistics(Arc<Collectives>);

impl BatchStatsReducer for SyncStatistics {
    fn all_sum(&self, values: &mut [f64]) {
        self.0.all_sum_f64(values, "the SyncBatchNorm statistics");
    }
}

/// The run's step, noting the size of this rank's part of the batch, inside a SyncBatchNorm scope
/// when asked.
struct ShareRecordingStep {
    inner: Box<dyn TrainStep>,
    shared: Rc<Shared>,
    sync: Option<Arc<dyn BatchStatsReducer>>,
}

impl TrainStep for ShareRecordingStep {
    fn forward_backward(&mut self, model: &dyn Module, batch: &StepBatch) -> Result<StepOutput> {
        self.shared.local_images.set(batch.labels.len());
        match &self.sync {
            Some(reducer) => with_sync_batch_norm(Arc::clone(reducer), || {
                self.inner.forward_backward(model, batch)
            }),
            None => self.inner.forward_backward(model, batch),
        }
    }
}

/// Sends rank 0's parameters and buffers to every rank when a run starts (fresh or resumed), and
/// notes the buffers for the per-step broadcast.
struct BroadcastAtStart(Rc<Shared>);

impl Callback for BroadcastAtStart {
    fn on_run_start(&mut self, event: &RunStart) -> Result<()> {
        let tensors: Vec<Tensor> = event
            .model
            .named_tensors()
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        broadcast(
            &self.0.comm,
            &tensors,
            "the broadcast of the weights at start",
        );
        *self.0.buffers.borrow_mut() = event.model.buffers().into_iter().map(|(_, t)| t).collect();
        Ok(())
    }
}

/// Overwrites `tensors` with rank 0's values.
fn broadcast(comm: &Collectives, tensors: &[Tensor], what: &str) {
    let mut flat: Vec<f32> = tensors.iter().flat_map(|t| t.to_vec()).collect();
    comm.broadcast_f32(&mut flat, what);
    let mut rest = &flat[..];
    for t in tensors {
        let (mine, others) = rest.split_at(t.numel());
        t.data_mut().copy_from_slice(mine);
        rest = others;
    }
}

/// Sums the gradients over the ranks, each rank's weighted by its images in the step, and
/// divides by the step's images: the gradient of the mean loss over the global batch. Each bucket
/// carries, after its values, one flag per parameter (whether the rank has its gradient), and the
/// first bucket the rank's images.
struct GradientAllReduce {
    shared: Rc<Shared>,
    /// Planned at the first step, from the parameters' sizes.
    buckets: Vec<Bucket>,
}

impl GradientHook for GradientAllReduce {
    fn after_backward(&mut self, params: &[(String, Tensor)]) -> Result<()> {
        if self.buckets.is_empty() {
            let sizes: Vec<usize> = params.iter().map(|(_, t)| t.numel()).collect();
            self.buckets = plan(&sizes, FIRST_BUCKET_BYTES, BUCKET_BYTES);
        }
        let images = self.shared.local_images.get() as f32;
        let mut flat: Vec<Vec<f32>> = self
            .buckets
            .iter()
            .enumerate()
            .map(|(k, bucket)| pack(bucket, params, images, k == 0))
            .collect();
        self.shared.comm.all_sum_buckets(&mut flat);
        let total = *flat[0]
            .last()
            .expect("the first bucket ends with the images");
        for (bucket, values) in self.buckets.iter().zip(&flat) {
            unpack(bucket, params, values, total)?;
        }
        // Running statistics follow rank 0 (they are not trained, and differ per rank).
        broadcast(
            &self.shared.comm,
            &self.shared.buffers.borrow(),
            "the broadcast of the buffers",
        );
        Ok(())
    }
}

/// A bucket's gradients times `images`, a has-gradient flag per parameter, and `images` if `first`.
fn pack(bucket: &Bucket, params: &[(String, Tensor)], images: f32, first: bool) -> Vec<f32> {
    let mut values = Vec::with_capacity(bucket.len + bucket.params.len() + 1);
    for &p in &bucket.params {
        let t = &params[p].1;
        t.with_grad_slice(|g| match g {
            Some(g) => values.extend(g.iter().map(|v| v * images)),
            None => values.resize(values.len() + t.numel(), 0.0),
        });
    }
    for &p in &bucket.params {
        values.push(f32::from(params[p].1.with_grad_slice(|g| g.is_some())));
    }
    if first {
        values.push(images);
    }
    values
}

/// Writes a summed bucket back as gradients divided by `total` images; a parameter no rank has a
/// gradient for keeps none.
fn unpack(bucket: &Bucket, params: &[(String, Tensor)], values: &[f32], total: f32) -> Result<()> {
    let flags = &values[bucket.len..bucket.len + bucket.params.len()];
    let mut offset = 0;
    for (&p, &flag) in bucket.params.iter().zip(flags) {
        let t = &params[p].1;
        let summed = &values[offset..offset + t.numel()];
        offset += t.numel();
        if flag > 0.0 {
            t.set_grad(summed.iter().map(|v| v / total).collect())?;
        }
    }
    Ok(())
}
