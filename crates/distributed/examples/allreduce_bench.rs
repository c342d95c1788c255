//! The gradient all-reduce alone, at ResNet-20's and larger sizes: `mpiexec -n R cargo run
//! --release -p convkit-distributed --features mpi --example allreduce_bench`. Prints, per size,
//! the median time of an exchange and the bandwidths of the usual convention: algorithm bandwidth
//! (bytes / time) and bus bandwidth (× 2(R−1)/R, what each link carries in a ring all-reduce).
use convkit_distributed::MpiJob;
use std::time::{Duration, Instant};

fn main() {
    let job = MpiJob::init(Duration::from_secs(120)).expect("MPI starts");
    let comm = &job.collectives;
    let ranks = comm.size() as f64;
    // ResNet-20's gradients (269,722 values), 8 MB, and one 25 MB bucket (ResNet-50 has four).
    for values in [269_722usize, 2 << 20, 25 << 18] {
        let mut times = Vec::new();
        for _ in 0..12 {
            let mut buckets = vec![vec![1.0f32; values]];
            let start = Instant::now();
            comm.all_sum_buckets(&mut buckets);
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let bytes = (values * 4) as f64;
        if comm.rank() == 0 {
            println!(
                "{:.2} MB: {:.2} ms, algorithm bandwidth {:.2} GB/s, bus bandwidth {:.2} GB/s",
                bytes / 1e6,
                1e3 * median,
                bytes / median / 1e9,
                bytes / median / 1e9 * 2.0 * (ranks - 1.0) / ranks
            );
        }
    }
}
