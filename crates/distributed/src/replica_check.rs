//! A debugging aid: after every step, each rank hashes its weights and buffers and compares the
//! hash with rank 0's, ending the run with an error on the first rank that differs. Data-parallel
//! training keeps the ranks bit-identical; this proves it (the tests use it).
use crate::collectives::Collectives;
use convkit_tensor::Tensor;
use convkit_train::callback::{BatchEnd, Callback, Control, RunEnd, RunStart};
use convkit_train::{Error, Result};
use std::hash::{DefaultHasher, Hasher};
use std::sync::Arc;

/// Compares every rank's weights and buffers with rank 0's after every step.
pub struct ReplicaCheck {
    comm: Arc<Collectives>,
    tensors: Vec<Tensor>,
    steps: u64,
}

impl ReplicaCheck {
    pub fn new(comm: &Arc<Collectives>) -> ReplicaCheck {
        ReplicaCheck {
            comm: Arc::clone(comm),
            tensors: Vec::new(),
            steps: 0,
        }
    }

    /// The hash of the bits of every value, in model order.
    fn hash(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        for t in &self.tensors {
            t.data().iter().for_each(|v| hasher.write_u32(v.to_bits()));
        }
        hasher.finish()
    }
}

impl Callback for ReplicaCheck {
    fn on_run_start(&mut self, event: &RunStart) -> Result<()> {
        self.tensors = event
            .model
            .named_tensors()
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        Ok(())
    }

    fn on_batch_end(&mut self, event: &BatchEnd) -> Result<Control> {
        let mine = self.hash();
        // Rank 0's hash, in two exact halves, by a sum to which the others add nothing.
        let mut primary = [(mine >> 32) as f64, (mine & 0xffff_ffff) as f64];
        if self.comm.rank() != 0 {
            primary = [0.0; 2];
        }
        self.comm
            .all_sum_f64(&mut primary, "the comparison of the weights' hashes");
        let theirs = ((primary[0] as u64) << 32) | primary[1] as u64;
        if theirs != mine {
            return Err(Error::Callback(format!(
                "after step {} of epoch {}, this rank's weights and buffers differ from rank 0's (hash {mine:016x}, rank 0 {theirs:016x})",
                event.step, event.epoch
            )));
        }
        self.steps += 1;
        Ok(Control::Continue)
    }

    fn on_run_end(&mut self, _event: &RunEnd) -> Result<()> {
        if self.comm.rank() == 0 {
            println!(
                "replica check: all {} ranks held bit-identical weights and buffers after each of {} steps",
                self.comm.size(),
                self.steps
            );
        }
        Ok(())
    }
}
