//! A checkpoint that cannot be written (an obstacle where the temporary file goes, a full disk)
//! stops the run with an error naming the path, and the previous checkpoint stays intact and
//! resumable.
mod common;
use common::{convkit, image_folder, ok, only_run, stderr, train_on_folder};
use convkit_train::checkpoint::{load_model, SavedRun};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A run of 1 epoch (of 2) in `out`; returns its folder.
fn one_epoch(data: &Path, out: &Path) -> PathBuf {
    let args = ["--epochs", "2", "--stop-after", "1", "--batch-size", "4"];
    ok(&train_on_folder(data, out, &args));
    only_run(out)
}

fn assert_epoch_1_intact(run: &Path) {
    load_model(&run.join("last.safetensors")).unwrap();
    assert_eq!(SavedRun::load(run).unwrap().state.epoch, 1);
}

#[test]
fn a_failed_save_names_the_path_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    image_folder(&data, 4, 120);
    let run = one_epoch(&data, &dir.path().join("runs"));
    // A folder where the save's temporary file goes makes the write fail before the rename.
    let obstacle = run.join("last.safetensors.tmp");
    std::fs::create_dir(&obstacle).unwrap();
    let out = convkit(&["train", "--resume", run.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("last.safetensors.tmp"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_epoch_1_intact(&run);
    std::fs::remove_dir(&obstacle).unwrap();
    ok(&convkit(&["train", "--resume", run.to_str().unwrap()]));
    assert_eq!(SavedRun::load(&run).unwrap().state.epoch, 2);
}

/// Mounts a tmpfs of `bytes` at `at`; false where this process may not mount (not root, or a
/// sandbox without the capability).
fn mount_tmpfs(at: &Path, bytes: u64) -> bool {
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
        .arg(at)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_full_disk_names_the_path_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    image_folder(&data, 4, 120);
    let run = one_epoch(&data, &dir.path().join("runs"));
    let used: u64 = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len().div_ceil(4096) * 4096)
        .sum();
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    // Room for the run as it is and a little more, not for a second copy of last.safetensors.
    if !mount_tmpfs(&small, used + 64 * 1024) {
        eprintln!("skipped: cannot mount a small tmpfs here (needs root)");
        return;
    }
    let full = small.join("run");
    std::fs::create_dir(&full).unwrap();
    for entry in std::fs::read_dir(&run).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, full.join(path.file_name().unwrap())).unwrap();
    }
    let out = convkit(&["train", "--resume", full.to_str().unwrap()]);
    let err = stderr(&out);
    // Checked before unmounting (which removes the files), asserted after.
    let intact = std::panic::catch_unwind(|| assert_epoch_1_intact(&full));
    let _ = Command::new("umount").arg(&small).status();
    assert!(!out.status.success(), "the save succeeded on a full disk");
    assert!(
        err.contains("No space left on device") && err.contains(full.to_str().unwrap()),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(intact.is_ok(), "the last good checkpoint was damaged");
}

#[test]
fn an_output_folder_that_cannot_be_made_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    image_folder(&data, 4, 120);
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let out_dir = file.join("runs");
    let out = train_on_folder(&data, &out_dir, &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(out_dir.to_str().unwrap()) && err.contains("Not a directory"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
