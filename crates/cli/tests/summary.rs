//! `convkit summary`: the zoo list, LeNet-5's table, and the error for an unknown model.
mod common;
use common::{convkit, stdout};

#[test]
fn list_names_the_zoo() {
    let out = convkit(&["summary", "--list"]);
    assert!(out.status.success());
    assert!(
        stdout(&out).lines().any(|l| l == "lenet5"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn lenet5_table() {
    let out = convkit(&["summary", "lenet5", "--input", "1x28x28", "--classes", "10"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let conv1 = text
        .lines()
        .find(|l| l.starts_with("conv1 (Conv2d)"))
        .unwrap_or_else(|| panic!("no conv1 row in\n{text}"));
    // Output [20, 28, 28], 520 parameters, 28·28·20·25 = 392,000 multiply-adds.
    assert!(
        conv1.contains("[20, 28, 28]") && conv1.contains(" 520 ") && conv1.contains("392,000"),
        "{conv1}"
    );
    assert!(text.contains("Total parameters: 1,256,080"), "{text}");
    assert!(
        text.contains("Multiply-adds per image: 6,522,000"),
        "{text}"
    );
    assert!(text.contains("last conv layer (conv2): 14×14"), "{text}");
}

#[test]
fn unknown_model_and_bad_input_are_explained() {
    let out = convkit(&["summary", "lenet6"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown model 'lenet6'") && err.contains("lenet5"),
        "{err}"
    );
    let out = convkit(&["summary", "lenet5", "--input", "28x28"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CxHxW"));
}
