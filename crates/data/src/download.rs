//! Fetching a dataset's official files: streamed to a `.part` file next to the destination while
//! hashed and shown on a progress bar, verified against the published checksum, and only then
//! renamed into place, so a failed or interrupted download never looks like a complete file.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A published checksum, as lowercase or uppercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    /// SHA-256.
    Sha256(String),
    /// MD5 (what the MNIST-family and CIFAR pages publish).
    Md5(String),
}

/// One file of a dataset as its authors publish it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// Where to fetch it.
    pub url: String,
    /// The file name to store it under.
    pub name: String,
    /// Its published checksum.
    pub checksum: Checksum,
}

/// A running hash of either kind.
enum Hasher {
    Sha256(Sha256),
    Md5(Md5),
}

impl Hasher {
    fn new(checksum: &Checksum) -> Self {
        match checksum {
            Checksum::Sha256(_) => Hasher::Sha256(Sha256::new()),
            Checksum::Md5(_) => Hasher::Md5(Md5::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Md5(h) => h.update(bytes),
        }
    }

    fn hex(self) -> String {
        let digest = match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Md5(h) => h.finalize().to_vec(),
        };
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Checksum {
    fn expected(&self) -> &str {
        match self {
            Checksum::Sha256(hex) | Checksum::Md5(hex) => hex,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Checksum::Sha256(_) => "sha256",
            Checksum::Md5(_) => "md5",
        }
    }
}

/// Downloads every file of `files` that `dir` lacks (creating `dir` if needed); files already
/// present are trusted as they are.
///
/// # Errors
/// As [`download`].
pub fn ensure_files(dir: &Path, files: &[RemoteFile]) -> Result<()> {
    for file in files {
        if !dir.join(&file.name).is_file() {
            download(file, dir)?;
        }
    }
    Ok(())
}

/// Downloads `file` into `dir/file.name` and returns that path. The bytes go to
/// `dir/file.name.part` first, which is renamed only once the checksum matches and is removed on
/// any failure.
///
/// # Errors
/// [`Error::Download`] if the server can't be reached, answers with an error status, or the
/// transfer breaks off; [`Error::ChecksumMismatch`] if the bytes don't hash to the published sum;
/// [`Error::Io`] if the folder or file can't be written.
pub fn download(file: &RemoteFile, dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let dest = dir.join(&file.name);
    let part = dir.join(format!("{}.part", file.name));
    let result = fetch_to(file, &part)
        .and_then(|()| fs::rename(&part, &dest).map_err(|e| Error::io(&dest, e)));
    if result.is_err() {
        let _ = fs::remove_file(&part); // best effort: the error below is what matters
    }
    result.map(|()| dest)
}

/// Streams `file.url` into `part`, hashing as it goes, and checks the sum.
fn fetch_to(file: &RemoteFile, part: &Path) -> Result<()> {
    let failed = |reason: String| Error::Download {
        url: file.url.clone(),
        reason,
    };
    let response = ureq::get(&file.url)
        .call()
        .map_err(|e| failed(e.to_string()))?;
    let mut body = response.into_body();
    let bar = progress_bar(&file.name, body.content_length());
    let mut reader = body.as_reader();
    let mut out = BufWriter::new(File::create(part).map_err(|e| Error::io(part, e))?);
    let mut hasher = Hasher::new(&file.checksum);
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = reader
            .read(&mut buffer)
            .map_err(|e| failed(format!("transfer broke off: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        out.write_all(&buffer[..n])
            .map_err(|e| Error::io(part, e))?;
        bar.inc(n as u64);
    }
    out.flush().map_err(|e| Error::io(part, e))?;
    bar.finish_and_clear();
    let found = hasher.hex();
    if !found.eq_ignore_ascii_case(file.checksum.expected()) {
        return Err(Error::ChecksumMismatch {
            url: file.url.clone(),
            kind: file.checksum.kind(),
            expected: file.checksum.expected().to_string(),
            found,
        });
    }
    Ok(())
}

/// A byte-count bar on stderr (hidden when stderr is not a terminal).
fn progress_bar(name: &str, len: Option<u64>) -> ProgressBar {
    let bar = match len {
        Some(len) => ProgressBar::new(len),
        None => ProgressBar::no_length(),
    };
    let style = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .expect("the template is valid")
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("downloading {name}"));
    bar
}

/// Unpacks the regular files found under `member_dir/` in the gzip-compressed tar `archive` into
/// `dir`, each written as `.part` then renamed, and returns their names.
///
/// # Errors
/// [`Error::Io`] if the archive can't be read or a file can't be written.
pub fn extract_tar_gz(archive: &Path, member_dir: &str, dir: &Path) -> Result<Vec<String>> {
    let io_err = |e| Error::io(archive, e);
    let file = File::open(archive).map_err(io_err)?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut names = Vec::new();
    for entry in tar.entries().map_err(io_err)? {
        let mut entry = entry.map_err(io_err)?;
        let path = entry.path().map_err(io_err)?.into_owned();
        let (Ok(rest), true) = (
            path.strip_prefix(member_dir),
            entry.header().entry_type().is_file(),
        ) else {
            continue;
        };
        let Some(name) = rest
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let part = dir.join(format!("{name}.part"));
        let mut out = File::create(&part).map_err(|e| Error::io(&part, e))?;
        std::io::copy(&mut entry, &mut out).map_err(io_err)?;
        fs::rename(&part, dir.join(&name)).map_err(|e| Error::io(&part, e))?;
        names.push(name);
    }
    Ok(names)
}
