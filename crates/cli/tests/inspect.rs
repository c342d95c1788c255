//! `convkit inspect`: pictures and raw maps from a LeNet-5 trained for a moment on MNIST, and
//! clear errors for bad requests.
mod common;

use common::{convkit, image_folder, ok, stderr, stdout};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A LeNet-5 checkpoint trained on 640 MNIST images (one epoch, seconds), made once per run.
fn checkpoint() -> &'static Path {
    static CHECKPOINT: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = CHECKPOINT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("runs");
        ok(&convkit(&[
            "train",
            "--model",
            "lenet5",
            "--train-limit",
            "640",
            "--seed",
            "1",
            "--out-dir",
            out.to_str().unwrap(),
        ]));
        let path = out.join("lenet5-mnist").join("best.safetensors");
        (dir, path)
    });
    path
}

fn inspect(args: &[&str], out: &Path) -> std::process::Output {
    let mut all = vec!["inspect"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--checkpoint", checkpoint().to_str().unwrap()]);
    all.extend_from_slice(&["--out", out.to_str().unwrap()]);
    convkit(&all)
}

fn is_png(path: &Path) -> bool {
    image::open(path).is_ok_and(|i| i.width() > 0)
}

#[test]
fn filters_activations_and_saliency_write_pictures_and_raw_maps() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    ok(&inspect(&["filters", "--layer", "conv1"], out));
    assert!(is_png(&out.join("filters-conv1.png")));
    assert!(out.join("filters-conv1.safetensors").exists());

    let run = inspect(
        &[
            "activations",
            "--layer",
            "relu1",
            "--index",
            "3",
            "--max",
            "8",
        ],
        out,
    );
    ok(&run);
    assert!(is_png(&out.join("activations-relu1-mnist-3.png")));

    let run = inspect(
        &[
            "saliency",
            "--index",
            "0",
            "--method",
            "gradient,integrated-gradients,grad-cam,occlusion",
        ],
        out,
    );
    ok(&run);
    let text = stdout(&run);
    assert!(text.contains("completeness gap"), "{text}");
    assert!(text.contains("true 7"), "{text}");
    assert!(is_png(&out.join("saliency-mnist-0.png")));
    let raw = convkit_nn::io::read_safetensors(&out.join("saliency-mnist-0.safetensors")).unwrap();
    let names: Vec<&str> = raw.tensors.iter().map(|(n, _)| n.as_str()).collect();
    for name in ["gradient.heat", "grad-cam.pool2", "occlusion.heat"] {
        assert!(names.contains(&name), "{names:?}");
    }
    let heat = &raw
        .tensors
        .iter()
        .find(|(n, _)| n == "gradient.heat")
        .unwrap()
        .1;
    assert_eq!(heat.dims(), [28, 28]);
}

#[test]
fn bad_requests_fail_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let fails_with = |args: &[&str], message: &str| {
        let run = inspect(args, out);
        assert!(!run.status.success(), "{args:?} succeeded");
        assert!(stderr(&run).contains(message), "{args:?}: {}", stderr(&run));
    };
    fails_with(
        &["filters", "--layer", "conv9"],
        "the model has no module named 'conv9'; its modules are: conv1, relu1, pool1, conv2",
    );
    fails_with(
        &["filters", "--layer", "fc1"],
        "layer 'fc1' is not a 2-D convolution",
    );
    fails_with(
        &[
            "saliency", "--index", "0", "--method", "grad-cam", "--layer", "fc1",
        ],
        "layer 'fc1' has no spatial output (its output has shape [1, 500])",
    );
    fails_with(
        &["saliency", "--index", "0", "--class", "10"],
        "class 10 is out of range: the model has 10 classes",
    );
    fails_with(
        &["activations", "--layer", "relu1", "--index", "99999"],
        "--index 99999 is out of range: the mnist test set has 10000 images",
    );
    let folder = dir.path().join("rgb");
    image_folder(&folder, 1, 100);
    fails_with(
        &[
            "saliency",
            "--index",
            "0",
            "--dataset",
            "folder",
            "--data-dir",
            folder.to_str().unwrap(),
        ],
        "the folder images have 3 channel(s) but the model takes 1",
    );
    fails_with(&["saliency"], "give an image: --image FILE, or --index I");
}

#[test]
fn embed_neighbors_maximize_and_errors_on_a_few_hundred_images() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let run = inspect(
        &[
            "embed",
            "--limit",
            "300",
            "--iterations",
            "300",
            "--perplexity",
            "20",
        ],
        out,
    );
    ok(&run);
    assert!(stdout(&run).contains("features of 300 test images: 500 values each"));
    assert!(is_png(&out.join("embed-tsne.png")));
    let raw = convkit_nn::io::read_safetensors(&out.join("embed.safetensors")).unwrap();
    let dims: Vec<Vec<usize>> = raw.tensors.iter().map(|(_, t)| t.dims().to_vec()).collect();
    assert_eq!(dims, [vec![300, 500], vec![300], vec![300, 2]]);

    ok(&inspect(
        &[
            "neighbors",
            "--index",
            "0,5",
            "--k",
            "4",
            "--limit",
            "500",
            "--metric",
            "cosine",
        ],
        out,
    ));
    assert!(is_png(&out.join("neighbors.png")));

    ok(&inspect(
        &["maximize", "--targets", "3,8", "--steps", "20"],
        out,
    ));
    assert!(is_png(&out.join("maximize-classes.png")));
    let run = inspect(&["maximize", "--layer", "fc2", "--targets", "12"], out);
    assert!(!run.status.success());
    assert!(stderr(&run).contains("channel 12 is out of range: layer 'fc2' has 10 channels"));

    let run = inspect(&["errors", "--limit", "300", "--top", "8"], out);
    ok(&run);
    assert!(stdout(&run).contains("test images misclassified"));
    assert!(stdout(&run).contains("most confused"));
    assert!(is_png(&out.join("errors.png")));
}
