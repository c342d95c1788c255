//! The MPI operations data-parallel training needs (sums across ranks, broadcast from rank 0),
//! each watched: an operation that gets no answer within the timeout (a rank died, hangs, or the
//! network is gone) ends the whole job with `MPI_Abort` and a message naming this rank and, where
//! it can tell, the rank that is gone — never a hang. So does an error on any rank
//! ([`Collectives::abort`]). Operations are started non-blocking and polled, so the watchdog needs
//! no second thread; MPI is only ever called from the thread that started it.
use crate::error::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::request::{Request, Scope};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;
use mpi::Threading;
use std::io::Write;
use std::sync::Mutex;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

/// Bytes of a host name exchanged at start (longer names are cut).
const HOST_BYTES: usize = 64;

/// A rank's process, as every rank learns at start (to name a rank that is gone).
#[derive(Clone, Debug)]
struct Peer {
    pid: u32,
    host: String,
}

/// What the gradient exchanges cost so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CommStats {
    /// Gradient exchanges (one per step).
    pub exchanges: u64,
    /// Seconds spent in them.
    pub seconds: f64,
    /// Bytes each rank sent into them (the reduced buffers' size).
    pub bytes: u64,
}

/// The job's ranks over MPI. Created once per process with [`MpiJob::init`].
pub struct Collectives {
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
    timeout: Duration,
    peers: Vec<Peer>,
    /// The thread MPI was started on: the only one that may call it.
    thread: ThreadId,
    stats: Mutex<CommStats>,
}

/// MPI for the life of the process: finalised when dropped.
pub struct MpiJob {
    pub collectives: std::sync::Arc<Collectives>,
    _universe: Universe,
}

impl MpiJob {
    /// Starts MPI (once per process) and learns every rank's process id and host.
    ///
    /// # Errors
    /// [`Error::Init`] if MPI cannot start or was started already.
    pub fn init(timeout: Duration) -> Result<MpiJob> {
        let (universe, _threading) = mpi::initialize_with_threading(Threading::Funneled)
            .ok_or_else(|| Error::Init("MPI was initialised already".into()))?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        let mut collectives = Collectives {
            world,
            rank,
            size,
            timeout,
            peers: Vec::new(),
            thread: thread::current().id(),
            stats: Mutex::default(),
        };
        collectives.peers = collectives.gather_peers();
        Ok(MpiJob {
            collectives: std::sync::Arc::new(collectives),
            _universe: universe,
        })
    }
}

impl Collectives {
    pub fn rank(&self) -> usize {
        self.rank
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// The gradient exchanges so far.
    pub fn stats(&self) -> CommStats {
        *self.stats.lock().expect("stats lock")
    }

    /// Every rank's process id and host, in rank order.
    fn gather_peers(&self) -> Vec<Peer> {
        let mut mine = [0u8; HOST_BYTES];
        let host = mpi::environment::processor_name().unwrap_or_default();
        let cut = host.len().min(HOST_BYTES);
        mine[..cut].copy_from_slice(&host.as_bytes()[..cut]);
        let mut hosts = vec![0u8; HOST_BYTES * self.size];
        let mut pids = vec![0u32; self.size];
        let pid = std::process::id();
        mpi::request::scope(|scope| {
            let request = self
                .world
                .immediate_all_gather_into(scope, &pid, &mut pids[..]);
            self.finish("the exchange of process ids at start", vec![request]);
        });
        mpi::request::scope(|scope| {
            let request = self
                .world
                .immediate_all_gather_into(scope, &mine[..], &mut hosts[..]);
            self.finish("the exchange of host names at start", vec![request]);
        });
        pids.iter()
            .zip(hosts.chunks(HOST_BYTES))
            .map(|(&pid, name)| Peer {
                pid,
                host: String::from_utf8_lossy(name)
                    .trim_end_matches('\0')
                    .to_string(),
            })
            .collect()
    }

    /// Replaces every value with its sum over all ranks.
    pub fn all_sum_f64(&self, values: &mut [f64], what: &str) {
        let send = values.to_vec();
        mpi::request::scope(|scope| {
            let sum = SystemOperation::sum();
            let request = self
                .world
                .immediate_all_reduce_into(scope, &send[..], values, sum);
            self.finish(what, vec![request]);
        });
    }

    /// Replaces every bucket with its sum over all ranks, the buckets exchanged concurrently in
    /// the order given; counted in [`CommStats`].
    pub fn all_sum_buckets(&self, buckets: &mut [Vec<f32>]) {
        let start = Instant::now();
        let sends: Vec<Vec<f32>> = buckets.to_vec();
        mpi::request::scope(|scope| {
            let requests = sends
                .iter()
                .zip(buckets.iter_mut())
                .map(|(send, bucket)| {
                    let sum = SystemOperation::sum();
                    self.world
                        .immediate_all_reduce_into(scope, &send[..], &mut bucket[..], sum)
                })
                .collect();
            self.finish("the gradient all-reduce", requests);
        });
        let mut stats = self.stats.lock().expect("stats lock");
        stats.exchanges += 1;
        stats.seconds += start.elapsed().as_secs_f64();
        stats.bytes += sends.iter().map(|b| (b.len() * 4) as u64).sum::<u64>();
    }

    /// Overwrites `values` with rank 0's.
    pub fn broadcast_f32(&self, values: &mut [f32], what: &str) {
        let root = self.world.process_at_rank(0);
        mpi::request::scope(|scope| {
            let request = root.immediate_broadcast_into(scope, values);
            self.finish(what, vec![request]);
        });
    }

    /// Ends the whole job: prints `message` naming this rank and aborts every rank.
    pub fn abort(&self, message: &str) -> ! {
        let line = format!("error: rank {} of {}: {message}\n", self.rank, self.size);
        // One write, then a moment for the launcher to forward it before it tears the job down.
        let _ = std::io::stderr().write_all(line.as_bytes());
        thread::sleep(Duration::from_millis(200));
        self.world.abort(1)
    }

    /// Polls `pending` to completion, aborting the job when it takes longer than the timeout.
    fn finish<'a, D: ?Sized, S: Scope<'a>>(&self, what: &str, mut pending: Vec<Request<'a, D, S>>) {
        if thread::current().id() != self.thread {
            self.abort(&format!(
                "{what}: MPI called from a thread other than the one that started it"
            ));
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            pending = pending.into_iter().filter_map(|r| r.test().err()).collect();
            if pending.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                self.abort(&self.timeout_message(what));
            }
            // Leave the core to the other ranks when there are more ranks than cores.
            thread::yield_now();
        }
    }

    /// Every rank's process: `rank 0: pid 812 on node1, rank 1: pid 813 on node2` (so that a
    /// launcher's report of a dead process id can be read as a rank).
    pub fn describe_ranks(&self) -> String {
        let ranks: Vec<String> = self
            .peers
            .iter()
            .enumerate()
            .map(|(rank, p)| format!("rank {rank}: pid {} on {}", p.pid, p.host))
            .collect();
        ranks.join(", ")
    }

    /// What the watchdog says: what timed out, and which ranks on this host are gone or stopped.
    fn timeout_message(&self, what: &str) -> String {
        let this_host = self.peers.get(self.rank).map(|p| p.host.as_str());
        let stuck: Vec<String> = self
            .peers
            .iter()
            .enumerate()
            .filter(|(rank, p)| *rank != self.rank && Some(p.host.as_str()) == this_host)
            .filter_map(|(rank, p)| {
                let state = process_state(p.pid)?;
                Some(format!("rank {rank} (pid {} on {}) {state}", p.pid, p.host))
            })
            .collect();
        let who = if stuck.is_empty() {
            "another rank has died or hangs".to_string()
        } else {
            stuck.join(", ")
        };
        format!(
            "{what} got no answer within {} s (the watchdog timeout): {who}; ending the job",
            self.timeout.as_secs_f64()
        )
    }
}

/// What is wrong with process `pid` on this host, if anything: gone, or stopped.
fn process_state(pid: u32) -> Option<&'static str> {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Some("is gone");
    };
    // The state follows the parenthesised command name.
    let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
    match state {
        'Z' | 'X' => Some("is gone"),
        'T' | 't' => Some("is stopped"),
        _ => None,
    }
}
