//! Running a table of bad inputs and checking each outcome the same way: a non-zero exit by
//! `error:` (1) or usage (2), never a signal (an abort or a kill); no panic; no "memory
//! allocation" failure; no hang (60 s); every phrase the message must hold; an OS error printed
//! once; no download attempted; and nothing created or changed in the folder it ran in.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// One bad input: the arguments, extra environment, and phrases the error must contain.
pub struct Case {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub says: Vec<String>,
}

/// A case of `args` whose error must contain each of `says`.
pub fn case(args: &[&str], says: &[&str]) -> Case {
    Case {
        args: args.iter().map(|a| a.to_string()).collect(),
        env: Vec::new(),
        says: says.iter().map(|s| s.to_string()).collect(),
    }
}

impl Case {
    /// The same case with the environment variable `key` set to `value`.
    pub fn with_env(mut self, key: &str, value: &str) -> Case {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// Every file under `dir` with its length and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let (path, meta) = (entry.path(), entry.metadata().unwrap());
            if meta.is_dir() {
                stack.push(path.clone());
            }
            files.insert(path, (meta.len(), meta.modified().unwrap()));
        }
    }
    files
}

/// The exit code, stdout and stderr of `convkit` run in `dir`, or a failure after 60 s.
pub fn run_in(dir: &Path, c: &Case) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_convkit"))
        .args(&c.args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "2")
        .envs(c.env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("convkit starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{:?} hangs (still running after 60 s)", c.args);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts what every refused input must show (see the module doc) on one finished case.
pub fn check_refused(c: &Case, code: Option<i32>, stdout: &str, stderr: &str) {
    let what = format!("{:?}", c.args);
    assert!(
        matches!(code, Some(1 | 2)),
        "{what}: exit {code:?} (want 1 or 2; none is a signal)\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for bad in [
        "panicked",
        "memory allocation",
        "RUST_BACKTRACE",
        "downloading",
    ] {
        assert!(!stderr.contains(bad), "{what}: '{bad}' in\n{stderr}");
    }
    for phrase in &c.says {
        assert!(
            stderr.contains(phrase.as_str()),
            "{what}: no '{phrase}' in\n{stderr}"
        );
    }
    let os_errors = stderr.matches("(os error").count();
    assert!(
        os_errors <= 1,
        "{what}: OS error printed {os_errors} times:\n{stderr}"
    );
}

/// Runs every case in `dir` and checks that each is refused and leaves `dir` as it was; returns
/// how many cases ran.
pub fn refuse_all(dir: &Path, cases: &[Case]) -> usize {
    for c in cases {
        let before = snapshot(dir);
        let (code, stdout, stderr) = run_in(dir, c);
        check_refused(c, code, &stdout, &stderr);
        let after = snapshot(dir);
        assert_eq!(before, after, "{:?} created or changed files", c.args);
    }
    cases.len()
}
