//! The download path against a local HTTP server started by the test: a good file, a checksum
//! mismatch, a 404 and a transfer cut short; none of the failures may leave a file behind.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::thread;

use convkit_data::download::{download, ensure_files, extract_tar_gz, Checksum, RemoteFile};
use convkit_data::{Cifar100, Cifar100Labels, Error, Split};
use sha2::{Digest, Sha256};

const BODY: &[u8] = b"the quick brown fox jumps over the lazy dog, many times over";

/// Serves forever on a free port: `/good` (BODY), `/short` (announces BODY's length but sends half
/// and hangs up), the `extra` routes, anything else 404. Returns the base URL.
fn serve_with(extra: Vec<(String, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut request_line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap() == 0 || header == "\r\n" {
                    break;
                }
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("");
            let (status, announced, body): (&str, usize, &[u8]) = match path {
                "/good" => ("200 OK", BODY.len(), BODY),
                "/short" => ("200 OK", BODY.len(), &BODY[..BODY.len() / 2]),
                other => match extra.iter().find(|(route, _)| route == other) {
                    Some((_, bytes)) => ("200 OK", bytes.len(), bytes),
                    None => ("404 Not Found", 0, b""),
                },
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
            );
            let _ = stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.write_all(body));
        }
    });
    base
}

fn serve() -> String {
    serve_with(Vec::new())
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn remote(base: &str, route: &str, checksum: Checksum) -> RemoteFile {
    RemoteFile {
        url: format!("{base}/{route}"),
        name: "file.bin".to_string(),
        checksum,
    }
}

/// The names of the files in `dir`.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_good_download_is_verified_and_renamed_into_place() {
    let base = serve();
    let dir = tempfile::tempdir().unwrap();
    let md5 = Checksum::Md5(format!("{:x}", md5::Md5::digest(BODY)));
    let path = download(&remote(&base, "good", md5), dir.path()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), BODY);
    let sha = Checksum::Sha256(sha256_hex(BODY).to_uppercase());
    let nested = dir.path().join("sub");
    download(&remote(&base, "good", sha), &nested).unwrap();
    assert_eq!(listing(dir.path()), ["file.bin", "sub"]);
    assert_eq!(listing(&nested), ["file.bin"]);
}

#[test]
fn a_checksum_mismatch_is_an_error_and_leaves_nothing() {
    let base = serve();
    let dir = tempfile::tempdir().unwrap();
    let wrong = Checksum::Sha256(sha256_hex(b"something else"));
    let err = download(&remote(&base, "good", wrong.clone()), dir.path()).unwrap_err();
    assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("sha256 checksum mismatch")
            && message.contains(&sha256_hex(BODY))
            && message.contains("/good"),
        "{message}"
    );
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn a_missing_or_cut_short_file_is_an_error_and_leaves_nothing() {
    let base = serve();
    let dir = tempfile::tempdir().unwrap();
    let sum = Checksum::Sha256(sha256_hex(BODY));
    let err = download(&remote(&base, "nothing-here", sum.clone()), dir.path()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("404") && message.contains("/nothing-here"),
        "{message}"
    );
    let err = download(&remote(&base, "short", sum), dir.path()).unwrap_err();
    assert!(
        matches!(err, Error::Download { .. } | Error::ChecksumMismatch { .. }),
        "{err:?}"
    );
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn ensure_files_only_fetches_what_is_missing() {
    let base = serve();
    let dir = tempfile::tempdir().unwrap();
    // A present file is trusted: its (unreachable) URL is never asked for.
    std::fs::write(dir.path().join("file.bin"), b"local").unwrap();
    let sum = Checksum::Sha256(sha256_hex(BODY));
    ensure_files(dir.path(), &[remote(&base, "nothing-here", sum.clone())]).unwrap();
    let mut good = remote(&base, "good", sum);
    good.name = "other.bin".to_string();
    ensure_files(dir.path(), &[good]).unwrap();
    assert_eq!(std::fs::read(dir.path().join("other.bin")).unwrap(), BODY);
}

/// A gzip-compressed tar holding `files` (path, bytes).
fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for &(path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, bytes).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

#[test]
fn tar_gz_members_under_a_folder_are_unpacked_flat() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a.tar.gz");
    let files: [(&str, &[u8]); 3] = [
        ("batches/x.bin", b"xx"),
        ("other/y.bin", b"y"),
        ("batches/z.txt", b"zzz"),
    ];
    std::fs::write(&archive, tar_gz(&files)).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let names = extract_tar_gz(&archive, "batches", &out).unwrap();
    assert_eq!(names, ["x.bin", "z.txt"]);
    assert_eq!(listing(&out), ["x.bin", "z.txt"]);
    assert_eq!(std::fs::read(out.join("z.txt")).unwrap(), b"zzz");
}

#[test]
fn cifar100_archive_is_downloaded_verified_unpacked_and_loaded() {
    // Two records (coarse, fine, 3,072 pixels) in the official archive layout.
    let mut test_bin = vec![4u8, 30];
    test_bin.extend(std::iter::repeat_n(7u8, 3072));
    test_bin.extend([19u8, 99]);
    test_bin.extend(std::iter::repeat_n(9u8, 3072));
    let archive = tar_gz(&[
        ("cifar-100-binary/test.bin", &test_bin),
        ("cifar-100-binary/train.bin", &test_bin),
    ]);
    let md5 = format!("{:x}", md5::Md5::digest(&archive));
    let base = serve_with(vec![("/c100.tar.gz".to_string(), archive)]);
    let dir = tempfile::tempdir().unwrap();
    let mut remote = Cifar100::remote_archive();
    remote.url = format!("{base}/c100.tar.gz");
    let wrong = RemoteFile {
        checksum: Checksum::Md5("0".repeat(32)),
        ..remote.clone()
    };
    assert!(Cifar100::download_from(dir.path(), &wrong).is_err());
    assert!(
        listing(dir.path()).is_empty(),
        "a bad archive leaves nothing"
    );
    remote.checksum = Checksum::Md5(md5);
    Cifar100::download_from(dir.path(), &remote).unwrap();
    assert_eq!(
        listing(dir.path()),
        ["test.bin", "train.bin"],
        "the archive is removed"
    );
    let ds = Cifar100::load(dir.path(), Split::Test, Cifar100Labels::Fine).unwrap();
    assert_eq!(ds.labels(), [30, 99]);
    assert_eq!(ds.get(1).unwrap().image[3071], 9);
    // Already present: nothing is fetched (the URL now points nowhere).
    remote.url = format!("{base}/gone");
    Cifar100::download_from(dir.path(), &remote).unwrap();
}
