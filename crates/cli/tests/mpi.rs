//! Data-parallel training under `mpiexec` (run with `cargo test --release -p convkit --features
//! mpi --test mpi`; the ranks compared with one process at the same global batch, every MPI run
//! checking after every step that all ranks hold bit-identical weights and buffers), and, in the
//! default build, the refusal to start under `mpiexec` without MPI support.
mod common;

#[cfg(not(feature = "mpi"))]
#[test]
fn a_binary_without_mpi_refuses_to_run_as_a_rank() {
    use common::{stderr, stdout};
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_convkit"))
        .args(["train", "--epochs", "1", "--train-limit", "64"])
        .current_dir(dir.path())
        .env("PMI_SIZE", "2")
        .env("PMI_RANK", "1")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", stdout(&out));
    let message = stderr(&out);
    assert!(message.contains("rank 1 of 2"), "{message}");
    assert!(
        message.contains("cargo build --release -p convkit --features mpi"),
        "{message}"
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

#[cfg(feature = "mpi")]
mod with_mpi {
    use super::common::mpi::{alone, model_difference, mpiexec, Setup};
    use super::common::{stdout, tensor_bits};

    /// Float tolerance of a different summation order (the ranks' sums of gradients and batch
    /// statistics are added up in another order than one process's).
    const ATOL: f32 = 1e-5;
    const RTOL: f32 = 1e-4;

    #[test]
    fn ranks_without_batch_norm_train_what_one_process_trains() {
        let setup = Setup::new();
        alone(&setup.train_args("lenet5", "one", &[]));
        let reference = setup.run_folder("one").join("last.safetensors");
        // 3 ranks share 64 images unevenly (22, 21, 21) and the last batch of 8 (3, 3, 2).
        for ranks in [2, 3] {
            let out = format!("ranks{ranks}");
            let printed = stdout(&mpiexec(ranks, &setup.train_args("lenet5", &out, &[])));
            assert!(
                printed.contains(&format!("data-parallel on {ranks} ranks")),
                "{printed}"
            );
            let run = setup.run_folder(&out);
            let difference =
                model_difference(&run.join("last.safetensors"), &reference, ATOL, RTOL);
            assert!(
                difference.is_within_tolerance(),
                "{ranks} ranks: {difference}"
            );
            // Rank 0 alone wrote the run folder: one folder, the usual files.
            for file in ["config.toml", "metrics.csv", "best.safetensors"] {
                assert!(run.join(file).is_file(), "{file}");
            }
        }
    }

    #[test]
    fn batch_norm_differs_per_rank_and_sync_bn_makes_it_equal_again() {
        let setup = Setup::new();
        alone(&setup.train_args("smallcnn", "one", &[]));
        let reference = setup.run_folder("one").join("last.safetensors");
        mpiexec(2, &setup.train_args("smallcnn", "per-rank", &[]));
        mpiexec(2, &setup.train_args("smallcnn", "synced", &["--sync-bn"]));
        mpiexec(3, &setup.train_args("smallcnn", "synced3", &["--sync-bn"]));
        let difference = |out: &str| {
            let run = setup.run_folder(out).join("last.safetensors");
            model_difference(&run, &reference, ATOL, RTOL)
        };
        // The documented difference: each rank normalises by the statistics of its 32 images.
        let per_rank = difference("per-rank");
        assert!(
            per_rank.beyond > 0.1,
            "per-rank statistics should differ: {per_rank}"
        );
        for out in ["synced", "synced3"] {
            let synced = difference(out);
            assert!(synced.is_within_tolerance(), "{out}: {synced}");
        }
    }

    #[test]
    fn a_run_stopped_and_resumed_under_mpi_ends_where_the_straight_run_ends() {
        let setup = Setup::new();
        let two = ["--epochs", "2", "--sync-bn"];
        mpiexec(2, &setup.train_args("smallcnn", "straight", &two));
        let stopped: Vec<&str> = two.iter().copied().chain(["--stop-after", "1"]).collect();
        mpiexec(2, &setup.train_args("smallcnn", "split", &stopped));
        let split = setup.run_folder("split");
        // --sync-bn is an option of the launch, not of the run's config.toml: given again.
        let run = split.to_str().unwrap();
        let resume: Vec<String> = ["--threads", "1", "train", "--resume", run, "--sync-bn"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let printed = stdout(&mpiexec(2, &resume));
        assert!(printed.contains("resuming"), "{printed}");
        assert_eq!(
            tensor_bits(&split.join("last.safetensors")),
            tensor_bits(&setup.run_folder("straight").join("last.safetensors"))
        );
    }
}
