//! A data-parallel job never hangs: a rank killed mid-epoch, a rank that stops answering, a rank
//! that fails with an error — each ends the whole job non-zero within the watchdog time, with a
//! message that names the rank; the last good checkpoint survives. Run with `cargo test --release
//! -p convkit --features mpi --test mpi_failures`.
#![cfg(feature = "mpi")]
mod common;
use common::mpi::{all_output, mpiexec_command, path, Setup};
use std::io::{BufRead, BufReader};
use std::process::{Child, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Watchdog timeout of these jobs, seconds.
const TIMEOUT: &str = "8";

/// A long job (50 epochs of small batches) on 2 ranks, its printed lines arriving on the channel.
fn start_long_job(setup: &Setup, out: &str) -> (Child, mpsc::Receiver<String>) {
    let args = setup.train_args(
        "smallcnn",
        out,
        &[
            "--epochs",
            "50",
            "--batch-size",
            "16",
            "--mpi-timeout",
            TIMEOUT,
        ],
    );
    // Stdin closed (mpiexec forwards it to rank 0); stderr read by `finish`, through a file so
    // that a full pipe cannot block the job.
    let stderr = std::fs::File::create(setup.dir.path().join(format!("{out}.stderr"))).unwrap();
    let mut child = mpiexec_command(2, &[], &args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let (lines, received) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    (child, received)
}

/// Waits for a line containing `needle` (panicking after a minute); returns it.
fn wait_for(job: &(Child, mpsc::Receiver<String>), needle: &str, seen: &mut Vec<String>) -> String {
    let lines = &job.1;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(line) = lines.recv_timeout(Duration::from_secs(1)) {
            seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }
    panic!("no line with {needle:?} in a minute:\n{}", seen.join("\n"))
}

/// The process id of `rank` in the table rank 0 prints at the start.
fn pid_of(table: &str, rank: usize) -> i32 {
    let at = table
        .find(&format!("rank {rank}: pid "))
        .expect("the rank table");
    let rest = &table[at + format!("rank {rank}: pid ").len()..];
    rest.split(' ').next().unwrap().parse().unwrap()
}

fn signal(pid: i32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the job's end (at most `limit`), returning its output with the lines read so far
/// in front of what is left, and how long it took.
fn finish(
    setup: &Setup,
    out: &str,
    (mut child, lines): (Child, mpsc::Receiver<String>),
    seen: Vec<String>,
    limit: Duration,
) -> (Output, Duration) {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().ok();
            panic!(
                "the job still runs {limit:?} after the failure:\n{}",
                seen.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = start.elapsed();
    let mut output = child.wait_with_output().unwrap();
    let mut text = seen.join("\n");
    text.extend(lines.try_iter().map(|l| format!("\n{l}")));
    output.stdout = text.into_bytes();
    output.stderr = std::fs::read(setup.dir.path().join(format!("{out}.stderr"))).unwrap();
    (output, took)
}

/// Starts a long job into `out`, sends `sig` to rank 1 once rank 0 has printed `after`, and
/// waits for the job's end: its output, how long it took after the signal, rank 0's table of
/// ranks, and rank 1's process id.
fn signal_rank_1(
    setup: &Setup,
    out: &str,
    after: &str,
    sig: &str,
) -> (Output, Duration, String, i32) {
    let job = start_long_job(setup, out);
    let mut seen = Vec::new();
    let table = wait_for(&job, "data-parallel on 2 ranks", &mut seen);
    wait_for(&job, after, &mut seen);
    let victim = pid_of(&table, 1);
    signal(victim, sig);
    let (output, took) = finish(setup, out, job, seen, Duration::from_secs(60));
    (output, took, table, victim)
}

#[test]
fn a_rank_killed_mid_epoch_ends_the_job_and_the_last_checkpoint_survives() {
    let setup = Setup::new();
    let (out, took, table, victim) = signal_rank_1(&setup, "killed", "epoch 2/50", "-KILL");
    let printed = all_output(&out);
    assert!(!out.status.success(), "{printed}");
    // The launcher names the process id; rank 0's table says which rank that is.
    assert!(printed.contains(&format!("PID {victim} ")), "{printed}");
    assert!(table.contains(&format!("rank 1: pid {victim} ")), "{table}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let last = setup.run_folder("killed").join("last.safetensors");
    let epoch = convkit_nn::checkpoint::Checkpoint::load(&last)
        .unwrap()
        .meta()
        .epoch;
    assert!(epoch >= 2, "epoch {epoch}");
}

#[test]
fn a_rank_that_stops_answering_is_caught_by_the_watchdog() {
    let setup = Setup::new();
    let (out, took, _, victim) = signal_rank_1(&setup, "stopped", "epoch 1/50", "-STOP");
    // Hydra has killed it by now; in case it has not, let it run into its end.
    let _ = std::process::Command::new("kill")
        .args(["-CONT", &victim.to_string()])
        .status();
    let printed = all_output(&out);
    assert!(!out.status.success(), "{printed}");
    assert!(
        printed.contains("error: rank 0 of 2: ")
            && printed.contains(&format!(
                "got no answer within {TIMEOUT} s (the watchdog timeout): rank 1 (pid {victim} on "
            )),
        "{printed}"
    );
    assert!(
        printed.contains(") is stopped; ending the job"),
        "{printed}"
    );
    assert!(took < Duration::from_secs(40), "took {took:?}");
}

#[test]
fn a_rank_that_fails_ends_the_job_with_its_error() {
    let setup = Setup::new();
    let good = setup.train_args("smallcnn", "failed", &[]);
    let mut bad = good.clone();
    let at = bad.iter().position(|a| a == "--data-dir").unwrap() + 1;
    let missing = setup.dir.path().join("missing");
    bad[at] = path(&missing).to_string();
    // MPMD: rank 0 as usual, rank 1 without its data.
    let mut launch: Vec<String> = vec![
        "-n".into(),
        "1".into(),
        env!("CARGO_BIN_EXE_convkit").into(),
    ];
    launch.extend(good);
    launch.extend([
        ":".into(),
        "-n".into(),
        "1".into(),
        env!("CARGO_BIN_EXE_convkit").into(),
    ]);
    launch.extend(bad);
    let start = Instant::now();
    let out = std::process::Command::new("mpiexec")
        .args(&launch)
        .output()
        .unwrap();
    let printed = all_output(&out);
    assert!(!out.status.success(), "{printed}");
    assert!(printed.contains("error: rank 1 of 2: "), "{printed}");
    assert!(printed.contains(path(&missing)), "{printed}");
    assert!(start.elapsed() < Duration::from_secs(30));
}
