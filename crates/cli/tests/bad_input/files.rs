//! Damaged and hostile files: datasets (IDX, gzip, CIFAR, image folders, decompression bombs),
//! checkpoints (safetensors headers, metadata claiming absurd sizes), PyTorch files and
//! configuration files, each given to every subcommand that reads it.
use crate::fixtures::{
    edited_checkpoint, idx_images, idx_labels, lenet_checkpoint, mnist_dir, png_header,
    raw_safetensors, repo, write,
};
use crate::table::{case, refuse_all, Case};
use serde_json::json;
use std::path::Path;

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every MNIST-layout folder damage, given to train, eval (with --dataset) and augment.
#[test]
fn damaged_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ckpt = lenet_checkpoint(&d.join("lenet.safetensors"));
    let labels = idx_labels(&[1, 2]);
    let pixels = [7u8; 2 * 28 * 28];
    let real = |name: &str| std::fs::read(repo().join("data/mnist").join(name)).unwrap();
    let (images_gz, labels_gz) = (
        real("t10k-images-idx3-ubyte.gz"),
        real("t10k-labels-idx1-ubyte.gz"),
    );
    let folders: Vec<(&str, std::path::PathBuf, &[&str])> = vec![
        (
            "truncated",
            mnist_dir(
                &d.join("truncated"),
                &idx_images(2, 28, 28, &pixels[..100]),
                &labels,
            ),
            &["truncated: header says 2 images of 28x28 (1584 bytes) but file holds 116 bytes"],
        ),
        (
            "huge header",
            mnist_dir(
                &d.join("huge"),
                &idx_images(1, 100_000, 100_000, &pixels),
                &labels,
            ),
            &[
                "10000000000 pixels in one image is above convkit's limit",
                "CONVKIT_MAX_IMAGE_PIXELS",
            ],
        ),
        (
            "4 billion images",
            mnist_dir(
                &d.join("count"),
                &idx_images(u32::MAX, 28, 28, &pixels),
                &labels,
            ),
            &["bytes in one dataset file", "CONVKIT_MAX_DATASET_BYTES"],
        ),
        (
            "wrong magic",
            mnist_dir(&d.join("magic"), &labels, &labels),
            &["wrong magic number 0x00000801 (IDX labels: u8, 1-D)"],
        ),
        (
            "count mismatch",
            mnist_dir(
                &d.join("mismatch"),
                &idx_images(2, 28, 28, &pixels),
                &idx_labels(&[1]),
            ),
            &["holds 2 images but", "holds 1 labels"],
        ),
        (
            "label 10",
            mnist_dir(
                &d.join("label"),
                &idx_images(2, 28, 28, &pixels),
                &idx_labels(&[1, 10]),
            ),
            &["label 10 at index 1 is out of range for 10 classes"],
        ),
        (
            "empty files",
            mnist_dir(&d.join("empty"), &[], &[]),
            &["needs 16 header bytes but file holds 0 bytes"],
        ),
        (
            "no images",
            mnist_dir(
                &d.join("zero"),
                &idx_images(0, 28, 28, &[]),
                &idx_labels(&[]),
            ),
            &["holds no images"],
        ),
        (
            "cut gzip",
            mnist_dir(
                &d.join("gzip"),
                &images_gz[..images_gz.len() / 2],
                &labels_gz,
            ),
            &["corrupt gzip data"],
        ),
    ];
    // A folder where a file should be: the OS error once.
    let is_dir = mnist_dir(&d.join("dir"), &[], &labels);
    for name in ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte"] {
        std::fs::remove_file(is_dir.join(name)).unwrap();
        std::fs::create_dir_all(is_dir.join(name)).unwrap();
    }
    let mut cases: Vec<Case> = vec![case(
        &["eval", s(&ckpt), "--data-dir", s(&is_dir)],
        &["Is a directory (os error 21)"],
    )];
    for (what, folder, says) in &folders {
        let eval_says: &[&str] = if *what == "no images" {
            &["holds no images"]
        } else {
            says
        };
        cases.push(case(
            &["train", "--data-dir", s(folder), "--out-dir", "runs"],
            says,
        ));
        cases.push(case(
            &["eval", s(&ckpt), "--data-dir", s(folder)],
            eval_says,
        ));
        if *what != "no images" {
            cases.push(case(
                &["augment", "--data-dir", s(folder), "--out", "a.png"],
                says,
            ));
        }
    }
    // CIFAR: files present but damaged are reported as they are (nothing is downloaded), with a
    // readable message.
    let cifar = d.join("cifar");
    write(&cifar, "test_batch.bin", &vec![3u8; 3073 * 2 + 5]);
    let cifar100 = d.join("cifar100");
    write(&cifar100, "test.bin", &[1u8; 100]);
    let bad_label = d.join("cifar-label");
    write(&bad_label, "test_batch.bin", &[10u8; 3073]);
    cases.extend([
        case(
            &[
                "eval",
                s(&ckpt),
                "--dataset",
                "cifar10",
                "--data-dir",
                s(&cifar),
            ],
            &["holds 6151 bytes: 2 whole 3073-byte records, then 5 bytes of an incomplete one"],
        ),
        case(
            &[
                "train",
                "--dataset",
                "cifar10",
                "--data-dir",
                s(&cifar),
                "--out-dir",
                "runs",
            ],
            &["test_batch.bin", "holds 6151 bytes"],
        ),
        case(
            &[
                "eval",
                s(&ckpt),
                "--dataset",
                "cifar100",
                "--data-dir",
                s(&cifar100),
            ],
            &["holds 100 bytes, less than one 3074-byte record: is it a CIFAR batch file?"],
        ),
        case(
            &[
                "eval",
                s(&ckpt),
                "--dataset",
                "cifar10",
                "--data-dir",
                s(&bad_label),
            ],
            &["label 10 at index 0 is out of range for 10 classes"],
        ),
    ]);
    // Image folders: none, only corrupt images, a decompression bomb, an empty test split.
    let empty = d.join("empty-folder");
    std::fs::create_dir_all(&empty).unwrap();
    let corrupt = d.join("corrupt-folder");
    write(&corrupt, "cat/a.png", b"not a png at all");
    let bomb = d.join("bomb-folder");
    write(&bomb, "cat/a.png", &png_header(100_000, 100_000));
    let no_test = d.join("no-test");
    std::fs::copy(
        repo().join("data/samples/digit3.png"),
        write(&no_test, "train/c/a.png", b""),
    )
    .unwrap();
    std::fs::create_dir_all(no_test.join("test/c")).unwrap();
    let folder = |path: &Path, says: &'static [&'static str]| {
        case(
            &[
                "train",
                "--dataset",
                "folder",
                "--data-dir",
                s(path),
                "--out-dir",
                "runs",
            ],
            says,
        )
    };
    cases.extend([
        folder(&empty, &["no class sub-folders"]),
        folder(&corrupt, &["no readable PNG or JPEG image"]),
        folder(
            &bomb,
            &[
                "a 100000×100000 image: 10000000000 pixels in one image",
                "CONVKIT_MAX_IMAGE_PIXELS",
            ],
        ),
        folder(&no_test, &["no readable PNG or JPEG image"]),
        case(
            &[
                "predict",
                "--checkpoint",
                s(&ckpt),
                s(&bomb.join("cat/a.png")),
            ],
            &["a.png", "10000000000 pixels in one image"],
        ),
        case(
            &[
                "predict",
                "--checkpoint",
                s(&ckpt),
                s(&corrupt.join("cat/a.png")),
            ],
            &["a.png: cannot decode image"],
        ),
        case(
            &["predict", "--checkpoint", s(&ckpt), "missing.png"],
            &["missing.png"],
        ),
    ]);
    println!("{} bad inputs refused", refuse_all(d, &cases));
}

/// Hostile safetensors headers and checkpoint metadata, given to eval, predict, export,
/// `train --resume`, `train --init-from` and import.
#[test]
fn hostile_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = lenet_checkpoint(&d.join("good.safetensors"));
    let digit = repo().join("data/samples/digit3.png");
    let edit =
        |name: &str, f: fn(&mut serde_json::Value)| edited_checkpoint(&good, &d.join(name), f);
    let header = |name: &str, len: u64, text: &str, data: &[u8]| {
        write(d, name, &raw_safetensors(len, text, data))
    };
    let f32_tensor = r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
    let big_shape = r#"{"w":{"dtype":"F32","shape":[100000,100000],"data_offsets":[0,8]}}"#;
    let files: Vec<(std::path::PathBuf, &[&str])> = vec![
        (
            edit("classes.safetensors", |m| {
                m["config"]["spec"]["num_classes"] = json!(1_000_000_000_000u64)
            }),
            &[
                "1000000000000 classes is above convkit's limit",
                "CONVKIT_MAX_CLASSES",
            ],
        ),
        (
            edit("input.safetensors", |m| {
                m["config"]["spec"]["input_size"] = json!([100_000, 100_000])
            }),
            &["input 100000×100000", "CONVKIT_MAX_INPUT_PIXELS"],
        ),
        (
            edit("channels.safetensors", |m| {
                m["config"]["spec"]["in_channels"] = json!(u64::MAX)
            }),
            &["input channels is above convkit's limit"],
        ),
        (
            edit("norm.safetensors", |m| {
                m["normalization"] = json!({"mean": [0.1, 0.2, 0.3], "std": [1, 1, 1]})
            }),
            &["one finite mean and one positive std for each of the model's 1 input channels"],
        ),
        (
            edit("zero-std.safetensors", |m| {
                m["normalization"]["std"] = json!([0.0])
            }),
            &["positive std"],
        ),
        (
            edit("model.safetensors", |m| m["model"] = json!("lenet6")),
            &["unknown model 'lenet6'"],
        ),
        (
            edit("version.safetensors", |m| m["format_version"] = json!(99)),
            &["format version 99 is newer"],
        ),
        (
            edit("spec.safetensors", |m| {
                m["config"] = json!({"dataset": "mnist"})
            }),
            &["no valid model spec"],
        ),
        (
            edit("wrong-shape.safetensors", |m| {
                m["config"]["spec"]["num_classes"] = json!(7)
            }),
            &["shape mismatch for fc2.weight: expected [7, 500], found [10, 500]"],
        ),
        (
            header("huge-header.safetensors", u64::MAX, "{}", &[]),
            &["not a valid checkpoint"],
        ),
        (
            header("bad-json.safetensors", 6, "{nope}", &[]),
            &["not a valid checkpoint"],
        ),
        (
            header(
                "past-end.safetensors",
                f32_tensor.len() as u64,
                f32_tensor,
                &[0; 4],
            ),
            &["not a valid checkpoint"],
        ),
        (
            header(
                "big-shape.safetensors",
                big_shape.len() as u64,
                big_shape,
                &[0; 8],
            ),
            &["not a valid checkpoint"],
        ),
        (
            header(
                "no-meta.safetensors",
                f32_tensor.len() as u64,
                f32_tensor,
                &[0; 8],
            ),
            &["no \"convkit\" metadata"],
        ),
        (
            write(d, "empty.safetensors", &[]),
            &["not a valid checkpoint"],
        ),
    ];
    let mut cases = vec![case(&["eval", s(d)], &["Is a directory (os error 21)"])];
    for (file, says) in &files {
        let f = s(file);
        cases.push(case(&["eval", f], says));
        cases.push(case(&["predict", "--checkpoint", f, s(&digit)], says));
        cases.push(case(&["export", f, "--out", "out.safetensors"], says));
    }
    // --resume of a folder whose last checkpoint is hostile, and hostile run states.
    let resume = |name: &str, source: &Path, says: &'static [&'static str]| -> Case {
        let run = d.join(name);
        std::fs::create_dir_all(&run).unwrap();
        std::fs::copy(source, run.join("last.safetensors")).unwrap();
        case(&["train", "--resume", s(&run)], says)
    };
    let state = |name: &str, f: fn(&mut serde_json::Value)| edit(name, f);
    cases.extend([
        resume("run-no-state", &good, &["holds no run state"]),
        resume(
            "run-bad-state",
            &state("bad-state.safetensors", |m| {
                m["run_id"] = json!("r1");
                m["run_state"] = json!({"epoch": "x"});
            }),
            &["unreadable run state"],
        ),
        resume(
            "run-empty",
            &write(d, "empty2.safetensors", &[]),
            &["not a valid checkpoint"],
        ),
    ]);
    // --init-from and import with PyTorch files that are not what they claim.
    let refused = repo().join("tests/fixtures/pth/refused_global.pth");
    let not_zip = write(d, "text.pth", b"hello");
    let cut = write(
        d,
        "cut.pth",
        &std::fs::read(repo().join("tests/fixtures/pth/state_dict.pth")).unwrap()[..1000],
    );
    for (file, says) in [
        (&refused, &["refus"][..]),
        (&not_zip, &["not a zip archive"][..]),
        (&cut, &["cut.pth"][..]),
        (&files[9].0, &["not a valid checkpoint"][..]),
    ] {
        cases.push(case(
            &[
                "import",
                s(file),
                "--model",
                "lenet5",
                "--out",
                "o.safetensors",
            ],
            says,
        ));
        cases.push(case(
            &[
                "train",
                "--init-from",
                s(file),
                "--out-dir",
                "runs",
                "--train-limit",
                "64",
            ],
            says,
        ));
    }
    // Configuration files.
    let toml = |name: &str, text: &str| write(d, name, text.as_bytes());
    for (file, says) in [
        (
            toml("unknown.toml", "epochz = 3\n"),
            &["unknown field `epochz`"][..],
        ),
        (toml("type.toml", "epochs = \"three\"\n"), &["epochs"][..]),
        (
            toml("zero.toml", "epochs = 0\n"),
            &["--epochs (epochs): must be at least 1"][..],
        ),
        (
            toml("workers.toml", "[data]\nworkers = 100000000\n"),
            &["threads is above the limit"][..],
        ),
        (
            write(d, "binary.toml", &[0xff, 0xfe, 0]),
            &["binary.toml"][..],
        ),
    ] {
        cases.push(case(
            &["train", "--config", s(&file), "--out-dir", "runs"],
            says,
        ));
    }
    println!("{} bad inputs refused", refuse_all(d, &cases));
}
