//! `convkit search`: three tiny trials on MNIST's training files alone (the test files are absent:
//! trials are scored on a validation split), ranked, written to search.csv, repeatable from the
//! seed.
mod common;
use common::{convkit, ok, stderr, stdout};
use std::path::Path;

/// A data folder with MNIST's training files only.
fn train_files_only(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mnist = convkit_data::default_mnist_dir();
    for name in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"] {
        std::fs::copy(mnist.join(name), dir.join(name)).unwrap();
    }
}

fn search(data: &Path, out: &Path, seed: &str) -> String {
    let out = convkit(&[
        "search",
        "--trials",
        "3",
        "--epochs",
        "1",
        "--subset",
        "600",
        "--seed",
        seed,
        "--data-dir",
        data.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--batch-sizes",
        "32,64",
    ]);
    ok(&out);
    stdout(&out)
}

/// search.csv's rows without the timing column.
fn rows(out: &Path) -> Vec<Vec<String>> {
    let csv = std::fs::read_to_string(out.join("search-lenet5-mnist/search.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let seconds = header.iter().position(|&h| h == "seconds").unwrap();
    lines
        .map(|l| {
            l.split(',')
                .enumerate()
                .filter(|&(i, _)| i != seconds)
                .map(|(_, v)| v.to_string())
                .collect()
        })
        .collect()
}

#[test]
fn trials_are_ranked_by_validation_accuracy_and_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("mnist-train");
    train_files_only(&data);
    let text = search(&data, &dir.path().join("a"), "3");
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("rank"))
        .skip(1)
        .take(3)
        .collect();
    assert_eq!(table.len(), 3, "{text}");
    let rows_a = rows(&dir.path().join("a"));
    assert_eq!(rows_a.len(), 3);
    // columns: rank, trial, optimizer, lr, weight_decay, momentum, batch_size, val_accuracy, ...
    let accuracies: Vec<f64> = rows_a.iter().map(|r| r[7].parse().unwrap()).collect();
    assert!(
        accuracies.windows(2).all(|w| w[0] >= w[1]),
        "not ranked: {accuracies:?}"
    );
    for r in &rows_a {
        let lr: f64 = r[3].parse().unwrap();
        assert!((1e-4..=1e-1).contains(&lr), "{r:?}");
        assert!(["32", "64"].contains(&r[6].as_str()), "{r:?}");
    }
    let mut trials: Vec<&str> = rows_a.iter().map(|r| r[1].as_str()).collect();
    trials.sort_unstable();
    assert_eq!(trials, ["1", "2", "3"]);
    assert!(dir
        .path()
        .join("a/search-lenet5-mnist/trial-01/last.safetensors")
        .exists());

    search(&data, &dir.path().join("b"), "3");
    assert_eq!(
        rows(&dir.path().join("b")),
        rows_a,
        "the same seed repeats the search"
    );
    search(&data, &dir.path().join("c"), "4");
    assert_ne!(
        rows(&dir.path().join("c")),
        rows_a,
        "another seed, other trials"
    );
}

#[test]
fn a_search_needs_a_validation_split_and_a_sane_space() {
    for (args, needle) in [
        (["--val-fraction", "0"], "--val-fraction"),
        (["--lr-range", "0.1,0.001"], "--lr-range"),
        (["--trials", "0"], "--trials"),
    ] {
        let mut argv = vec!["search"];
        argv.extend_from_slice(&args);
        let out = convkit(&argv);
        assert!(!out.status.success());
        assert!(stderr(&out).contains(needle), "{}", stderr(&out));
    }
}
