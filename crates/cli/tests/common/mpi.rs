//! What the MPI test files share: `mpiexec` runs of the binary (built with `--features mpi`), a
//! one-process reference run, and comparing runs' tensors within a tolerance.
use super::{image_folder, ok, stderr, stdout, tensor_bits};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A folder of noisy images (no exact ties for max-pooling to break differently) and a
/// configuration without test-set evaluation: the runs below train only.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    pub config: PathBuf,
}

impl Setup {
    pub fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        image_folder(&data, 70, 40);
        let config = dir.path().join("train-only.toml");
        std::fs::write(&config, "evaluate_test = false\n").unwrap();
        Setup { dir, data, config }
    }

    /// `convkit --threads 1 train` arguments: `model` on the folder, 200 images in steps of a
    /// global batch of 64 (64, 64, 64, 8) and one epoch (convkit's default) unless `extra` says
    /// otherwise, into `out`.
    pub fn train_args(&self, model: &str, out: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "--threads",
            "1",
            "train",
            "--config",
            path(&self.config),
            "--dataset",
            "folder",
            "--data-dir",
            path(&self.data),
            "--model",
            model,
            "--train-limit",
            "200",
            "--seed",
            "3",
            "--out-dir",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(path(&self.dir.path().join(out)).to_string());
        if !extra.contains(&"--batch-size") {
            args.extend(["--batch-size".to_string(), "64".to_string()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// The only run folder in `out`.
    pub fn run_folder(&self, out: &str) -> PathBuf {
        let mut runs = std::fs::read_dir(self.dir.path().join(out)).unwrap();
        runs.next().unwrap().unwrap().path()
    }
}

pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `mpiexec -n <ranks> convkit <args>` with the given launcher options before the command.
pub fn mpiexec_command(ranks: usize, launcher: &[&str], args: &[String]) -> Command {
    let mut command = Command::new("mpiexec");
    command
        .args(launcher)
        .args(["-n", &ranks.to_string(), env!("CARGO_BIN_EXE_convkit")])
        .args(args)
        .env("RAYON_NUM_THREADS", "1");
    command
}

/// Runs `args` on `ranks` ranks, checking the ranks stayed bit-identical after every step.
pub fn mpiexec(ranks: usize, args: &[String]) -> Output {
    let mut args = args.to_vec();
    args.push("--check-replicas".into());
    let out = mpiexec_command(ranks, &[], &args)
        .output()
        .expect("mpiexec runs (apt-get install mpich)");
    ok(&out);
    assert!(
        stdout(&out).contains(&format!(
            "replica check: all {ranks} ranks held bit-identical weights and buffers after each of"
        )),
        "{}",
        stdout(&out)
    );
    out
}

/// Runs `args` in this process alone.
pub fn alone(args: &[String]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_convkit"))
        .args(args)
        .output()
        .unwrap();
    ok(&out);
    out
}

/// How far the model of checkpoint `a` (its weights and buffers) is from `b`'s: the fraction of
/// elements that differ by more than `atol + rtol·|b|`, and the tensor of the worst one.
///
/// Runs that sum in different orders can break a near-tie differently (a ReLU input or two
/// max-pool candidates within rounding of each other), and the gradient then flows through another
/// pixel: the next gradients differ by about 1e-3 all over the network. The optimiser's momentum
/// buffers show that at once; the weights and buffers stay within tolerance but for a few
/// elements, while a real error (per-rank batch statistics) puts most of them out.
pub fn model_difference(a: &Path, b: &Path, atol: f32, rtol: f32) -> Difference {
    let (a, b) = (tensor_bits(a), tensor_bits(b));
    assert_eq!(
        a.iter().map(|t| &t.0).collect::<Vec<_>>(),
        b.iter().map(|t| &t.0).collect::<Vec<_>>()
    );
    let (mut beyond, mut total) = (0usize, 0usize);
    let mut worst = (0.0f32, String::new());
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        if name.starts_with("optimizer.") {
            continue;
        }
        for (&x, &y) in x.iter().zip(y) {
            let (x, y) = (f32::from_bits(x), f32::from_bits(y));
            let ratio = (x - y).abs() / (atol + rtol * y.abs());
            total += 1;
            beyond += usize::from(ratio > 1.0);
            if ratio > worst.0 {
                worst = (ratio, name.clone());
            }
        }
    }
    Difference {
        beyond: beyond as f64 / total as f64,
        worst: worst.0,
        worst_tensor: worst.1,
    }
}

/// What [`model_difference`] finds.
pub struct Difference {
    /// Fraction of the elements beyond tolerance.
    pub beyond: f64,
    /// The largest `|a − b| / (atol + rtol·|b|)`, and the tensor holding it.
    pub worst: f32,
    pub worst_tensor: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "{:.2e} of the elements beyond tolerance, the worst {}× in {}",
            self.beyond, self.worst, self.worst_tensor
        )
    }
}

impl Difference {
    /// Equal within tolerance, but for the few elements a broken near-tie moves (at most 1 in
    /// 10,000).
    pub fn is_within_tolerance(&self) -> bool {
        self.beyond <= 1e-4
    }
}

/// What a failed job printed, both streams.
pub fn all_output(out: &Output) -> String {
    format!("{}\n{}", stdout(out), stderr(out))
}
