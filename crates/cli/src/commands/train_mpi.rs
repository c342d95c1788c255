//! `mpiexec -n R convkit train ...`: this process as one rank of a data-parallel job. The global
//! batch is `--batch-size`, shared by the ranks; rank 0 prints, evaluates and writes the run
//! folder. Any rank's error ends the whole job with the rank named.
use super::train::TrainArgs;
use super::train::{add_primary_callbacks, report};
use crate::train_args::configured_step;
use anyhow::bail;
use convkit_distributed::launch::Launch;
use convkit_distributed::{
    make_data_parallel, CommReport, DataParallelConfig, MpiJob, ReplicaCheck,
};
use convkit_train::StandardStep;
use std::time::Duration;

/// Trains as one rank of the job `launch` describes.
pub fn run(args: &TrainArgs, launch: Launch) -> anyhow::Result<()> {
    if !(args.mpi_timeout.is_finite() && args.mpi_timeout > 0.0) {
        bail!(
            "--mpi-timeout must be a positive number of seconds, got {}",
            args.mpi_timeout
        );
    }
    let job = MpiJob::init(Duration::from_secs_f64(args.mpi_timeout))?;
    let comm = &job.collectives;
    let primary = comm.rank() == 0;
    if comm.size() != launch.size {
        comm.abort(&format!(
            "MPI counts {} ranks but the launcher said {} ({}): is this binary built against the MPI library of this mpiexec?",
            comm.size(),
            launch.size,
            launch.variable
        ));
    }
    if primary {
        let threads = rayon::current_num_threads();
        println!(
            "data-parallel on {} ranks × {threads} threads ({})",
            comm.size(),
            comm.describe_ranks()
        );
    }
    let mut trainer = match args.trainer(primary) {
        Ok(trainer) => trainer,
        Err(e) => comm.abort(&format!("{e:#}")),
    };
    let config = DataParallelConfig {
        sync_batch_norm: args.sync_bn,
    };
    // The configured step (adversarial training) runs inside the data-parallel one.
    match configured_step(&trainer) {
        Some((step, _)) => make_data_parallel(&mut trainer, comm, step, config),
        None => make_data_parallel(&mut trainer, comm, StandardStep, config),
    }
    if args.check_replicas {
        trainer.add_callback(ReplicaCheck::new(comm));
    }
    if primary {
        add_primary_callbacks(&mut trainer, args);
        trainer.add_callback(CommReport::new(comm));
    } else if let Some(epoch) = args.stop_after {
        trainer.add_callback(convkit_train::callbacks::StopAfter { epoch });
    }
    match trainer.fit() {
        Ok(outcome) if primary => report(&outcome),
        Ok(_) => {}
        Err(e) => comm.abort(&format!("{e:#}")),
    }
    Ok(())
}
