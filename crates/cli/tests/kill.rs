//! Crash safety: a real `convkit train` process killed with SIGKILL at random moments leaves only
//! checkpoints that load, and `--resume` then continues exactly (same final weights as a run that
//! was never killed) or says clearly why it can't. 10 kills in the default suite; 100 with
//! `cargo test --release -p convkit --test kill -- --ignored --nocapture`.
mod common;
use common::{image_folder, ok, stderr, tensor_bits};
use convkit_train::checkpoint::load_model;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Instant;

const EPOCHS: &str = "6";

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_convkit"));
    command.args(args).env("RAYON_NUM_THREADS", "2");
    command
}

fn train_args<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--dataset",
        "folder",
        "--data-dir",
        data,
        "--out-dir",
        out,
        "--epochs",
        EPOCHS,
        "--batch-size",
        "4",
        "--seed",
        "3",
        "--augment",
        "flip",
    ]
}

fn start(data: &Path, out: &Path) -> Child {
    let (data, out) = (data.to_str().unwrap(), out.to_str().unwrap());
    command(&train_args(data, out))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("convkit starts")
}

/// The only folder in `out`, if the run got as far as creating it.
fn run_folder(out: &Path) -> Option<PathBuf> {
    let entry = std::fs::read_dir(out).ok()?.next()?;
    Some(entry.unwrap().path())
}

/// Every `*.safetensors` in `run` loads as a model checkpoint; returns how many there were.
fn check_checkpoints_load(run: &Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(run).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "safetensors") {
            load_model(&path).unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()));
            count += 1;
        }
    }
    count
}

/// What happened to one killed run.
#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum Fate {
    /// Killed before the run folder held a finished epoch: resume says so.
    BeforeFirstCheckpoint,
    /// Killed mid-run: resumed to the end, equal to the uninterrupted run.
    ResumedExactly,
    /// The run had finished before the kill.
    AlreadyFinished,
}

fn kill_and_check(kills: usize) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    image_folder(&data, 12, 120);
    let reference_out = dir.path().join("reference");
    let started = Instant::now();
    let output = command(&train_args(
        data.to_str().unwrap(),
        reference_out.to_str().unwrap(),
    ))
    .output()
    .unwrap();
    ok(&output);
    let duration = started.elapsed();
    let reference = tensor_bits(&run_folder(&reference_out).unwrap().join("last.safetensors"));

    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut fates = Vec::new();
    for k in 0..kills {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // Uniform over the reference run's life, start-up and the final saves included.
        let delay = duration.mul_f64((state % 1000) as f64 / 1000.0);
        let out = dir.path().join(format!("killed-{k}"));
        let mut child = start(&data, &out);
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL; an error means the run had already exited
        child.wait().unwrap();
        let Some(run) = run_folder(&out) else {
            fates.push(Fate::BeforeFirstCheckpoint);
            continue;
        };
        check_checkpoints_load(&run);
        let resumed: Output = command(&["train", "--resume", run.to_str().unwrap()])
            .output()
            .unwrap();
        let err = stderr(&resumed);
        let fate = if resumed.status.success() {
            Fate::ResumedExactly
        } else if err.contains("no epoch of the run") && err.contains("start it again") {
            Fate::BeforeFirstCheckpoint
        } else if err.contains(&format!("has trained all its {EPOCHS} epochs")) {
            Fate::AlreadyFinished
        } else {
            panic!("kill {k} after {delay:?}: resume failed unclearly: {err}");
        };
        assert!(!err.contains("panicked"), "{err}");
        if fate != Fate::BeforeFirstCheckpoint {
            check_checkpoints_load(&run);
            assert!(
                tensor_bits(&run.join("last.safetensors")) == reference,
                "kill {k} after {delay:?}: the resumed run ends elsewhere than the uninterrupted one"
            );
        }
        fates.push(fate);
    }
    let count = |f: Fate| fates.iter().filter(|&&x| x == f).count();
    println!(
        "kill test: {kills} of {kills} kills left only loadable checkpoints: {} before the first checkpoint, {} resumed exactly, {} after the run had finished (run time {duration:.2?})",
        count(Fate::BeforeFirstCheckpoint),
        count(Fate::ResumedExactly),
        count(Fate::AlreadyFinished)
    );
}

#[test]
fn ten_kills_leave_loadable_checkpoints_and_exact_resumes() {
    kill_and_check(10);
}

#[test]
#[ignore = "about 100 runs; on demand"]
fn a_hundred_kills_leave_loadable_checkpoints_and_exact_resumes() {
    kill_and_check(100);
}

#[test]
fn a_run_killed_before_its_first_epoch_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::write(run.join("config.toml"), "epochs = 2\n").unwrap();
    let out = command(&["train", "--resume", run.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("no epoch of the run") && err.contains("convkit train --config"),
        "{err}"
    );
}
