//! Run folders: a fresh folder per run (never another run's), the run's identity, and clean-up of
//! the temporary files a killed save leaves behind.
use crate::error::{Error, Result};
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

/// Creates a fresh folder `<out_dir>/<base>[-k]`: the first of `base`, `base-2`, `base-3`, ...
/// that does not exist yet (created atomically, so two runs starting at once get different ones).
///
/// # Errors
/// [`Error::Io`] naming the folder that could not be created.
pub fn new_run_dir(out_dir: &Path, base: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    for k in 1.. {
        let dir = out_dir.join(if k == 1 {
            base.to_string()
        } else {
            format!("{base}-{k}")
        });
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&dir, e)),
        }
    }
    unreachable!("some suffix is free")
}

/// A new run identity: 16 hex digits from the clock, the process and the seed.
pub fn new_run_id(seed: u64) -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    h.write_u64(seed);
    format!("{:016x}", h.finish())
}

/// Removes the `*.tmp` files of saves that a crash interrupted (the file they were replacing is
/// intact beside them).
///
/// # Errors
/// [`Error::Io`] when the folder cannot be listed or a file removed.
pub fn remove_stale_temporaries(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.extension().is_some_and(|e| e == "tmp") && path.is_file() {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_folders_never_reuse_a_name() {
        let out = tempfile::tempdir().unwrap();
        let a = new_run_dir(out.path(), "lenet5-mnist").unwrap();
        let b = new_run_dir(out.path(), "lenet5-mnist").unwrap();
        assert_eq!(a.file_name().unwrap(), "lenet5-mnist");
        assert_eq!(b.file_name().unwrap(), "lenet5-mnist-2");
        assert_ne!(new_run_id(1), new_run_id(1));
    }
}
