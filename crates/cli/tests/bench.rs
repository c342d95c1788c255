//! `convkit bench`: the W2/W3 workloads print RESULT lines with pytorch_bench.py's labels and
//! units, training workloads their peak RSS, and `--unfused` its own labels. One call each
//! (`--iters 1`): the figures themselves are not checked, only that they are there.
mod common;
use common::{convkit, ok, stdout};

/// `(label, median, unit)` of every RESULT line.
fn results(text: &str) -> Vec<(String, f64, String)> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields[..] {
                ["RESULT", "convkit", label, median, min, max, unit] => {
                    let (median, min, max): (f64, f64, f64) = (
                        median.parse().unwrap(),
                        min.parse().unwrap(),
                        max.parse().unwrap(),
                    );
                    assert!(min <= median && median <= max && min > 0.0, "{line}");
                    Some((label.to_string(), median, unit.to_string()))
                }
                _ => None,
            }
        })
        .collect()
}

fn labels_and_units(out: &std::process::Output) -> Vec<(String, String)> {
    ok(out);
    results(&stdout(out))
        .into_iter()
        .map(|(label, _, unit)| (label, unit))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(l, u)| (l.to_string(), u.to_string()))
        .collect()
}

#[test]
fn w2_and_w3_report_under_the_pytorch_labels() {
    let once = ["--iters", "1", "--reps", "1"];
    let out = convkit(
        &[
            &["bench", "--workload", "w2-train,w2-infer,w3-b1"],
            &once[..],
        ]
        .concat(),
    );
    assert_eq!(
        labels_and_units(&out),
        pairs(&[
            ("W2-train", "img/s"),
            ("W2-train-rss", "MiB"),
            ("W2-infer", "img/s"),
            ("W3-b1", "ms"),
        ])
    );
    let rss = results(&stdout(&out))[1].1;
    assert!(rss > 40.0, "ResNet-18 training in {rss} MiB?");
    let out = convkit(
        &[
            &["bench", "--workloads", "w1-infer,w3-b16", "--unfused"],
            &once[..],
        ]
        .concat(),
    );
    assert_eq!(
        labels_and_units(&out),
        pairs(&[("W1-infer-unfused", "img/s"), ("W3-b16-unfused", "img/s")])
    );
}
