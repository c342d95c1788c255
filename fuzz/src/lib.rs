//! What the fuzz targets share: the parsers under test read files, so each input is written to a
//! scratch file (in /dev/shm when it exists: memory, not disk) that this process reuses.
use std::path::{Path, PathBuf};

/// A folder of this process's own for scratch files, created once.
pub fn scratch_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("convkit-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder can be created");
        dir
    })
}

/// Writes `bytes` to `name` (a relative path, folders created) in the scratch folder.
pub fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch_dir().join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("scratch sub-folders can be created");
    }
    std::fs::write(&path, bytes).expect("a scratch file can be written");
    path
}

/// Splits the input into a mode byte (which variant of the target to run) and the file bytes.
pub fn mode_and_bytes(data: &[u8]) -> Option<(u8, &[u8])> {
    data.split_first().map(|(&mode, rest)| (mode, rest))
}
