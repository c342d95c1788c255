//! Data-driven parity with PyTorch: every case of every op fixture file is run through the op its
//! metadata names, with the config it gives; output and every gradient the file holds are compared.
//! Ops (or op settings) convkit doesn't implement are reported as skipped by name, never passed.
//! `CONVKIT_FIXTURES=DIR` runs the same tests on another directory of files in this format.
mod activation;
mod conv;
mod loss;
mod norm;
mod pool;

use convkit_tensor::Tensor;
use convkit_testkit::{assert_close, Case, TensorFile};
use std::collections::BTreeMap;

const FORWARD_TOL: (f32, f32) = (1e-5, 1e-4);
const GRAD_TOL: (f32, f32) = (1e-5, 1e-3);

/// The roles that can be differentiable inputs of an op.
const INPUT_ROLES: [&str; 4] = ["input", "weight", "bias", "target"];

enum Outcome {
    Passed,
    Skipped(String),
}

/// The op's result, or None when convkit doesn't implement this op or setting.
type Forward = Option<convkit_tensor::Result<Tensor>>;
/// A case's input tensors by role.
type Inputs = BTreeMap<&'static str, Tensor>;
/// Extra (name, actual, expected) checks an op adds, such as running statistics.
type Extra = Vec<(String, Tensor, Tensor)>;

/// Runs the op a case names on its inputs: each op family's module answers for its own ops.
fn forward(case: &Case, inputs: &Inputs, extra: &mut Extra) -> Forward {
    activation::forward(case, inputs)
        .or_else(|| loss::forward(case, inputs))
        .or_else(|| norm::forward(case, inputs, extra))
        .or_else(|| conv::forward(case, inputs))
        .or_else(|| pool::forward(case, inputs, extra))
}

fn run_case(case: &Case) -> Result<Outcome, String> {
    let mut inputs = BTreeMap::new();
    for role in INPUT_ROLES {
        if case.has(role) {
            let t = case.tensor(role)?;
            t.set_requires_grad(case.has(&format!("grad_{role}")));
            inputs.insert(role, t);
        }
    }
    let mut extra = Vec::new();
    let Some(output) = forward(case, &inputs, &mut extra) else {
        return Ok(Outcome::Skipped(format!("{} ({})", case.op(), case.name)));
    };
    let output = output.map_err(|e| format!("{}: {e}", case.name))?;
    let (atol, rtol) = FORWARD_TOL;
    assert_close(
        &format!("{} output", case.name),
        &output.to_vec(),
        &case.tensor("output")?.to_vec(),
        atol,
        rtol,
    )?;
    for (name, actual, expected) in extra {
        assert_close(
            &format!("{} {name}", case.name),
            &actual.to_vec(),
            &expected.to_vec(),
            atol,
            rtol,
        )?;
    }
    if case.has("grad_out") {
        let grad_out = case.tensor("grad_out")?;
        let grad_out = grad_out.reshape(output.dims()).map_err(|e| e.to_string())?;
        output
            .mul(&grad_out)
            .map_err(|e| e.to_string())?
            .sum()
            .backward()
            .map_err(|e| e.to_string())?;
        for (role, t) in &inputs {
            if let Ok(expected) = case.tensor(&format!("grad_{role}")) {
                let actual = t
                    .grad()
                    .ok_or_else(|| format!("{}: no gradient reached {role}", case.name))?;
                let (atol, rtol) = GRAD_TOL;
                assert_close(
                    &format!("{} grad_{role}", case.name),
                    &actual.to_vec(),
                    &expected.to_vec(),
                    atol,
                    rtol,
                )?;
            }
        }
    }
    Ok(Outcome::Passed)
}

/// Runs every case of one fixture file; fails listing every mismatch, prints the skipped ops.
fn run_file(file_name: &str) {
    let file = TensorFile::load(file_name).unwrap();
    let cases = file.cases().unwrap();
    assert!(!cases.is_empty(), "{file_name} lists no cases");
    let (mut passed, mut skipped, mut failures) = (0, Vec::new(), Vec::new());
    for case in &cases {
        match run_case(case) {
            Ok(Outcome::Passed) => passed += 1,
            Ok(Outcome::Skipped(what)) => skipped.push(what),
            Err(e) => failures.push(e),
        }
    }
    eprintln!(
        "{file_name}: {passed} passed, {} skipped: {}",
        skipped.len(),
        skipped.join(", ")
    );
    assert!(
        failures.is_empty(),
        "{file_name}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(passed > 0, "{file_name}: no case ran");
}

/// [`run_file`] for a fixture file convkit generated itself (tests/fixtures/gen_*.py): another
/// `CONVKIT_FIXTURES` directory need not hold it, and then it is reported as skipped.
fn run_own_file(file_name: &str) {
    if !convkit_testkit::fixture_dir().join(file_name).exists() {
        eprintln!("{file_name}: not in the fixture directory, skipped");
        return;
    }
    run_file(file_name);
}

#[test]
fn activation_fixtures() {
    run_file("activation.safetensors");
}

#[test]
fn loss_fixtures() {
    run_file("loss.safetensors");
}

/// Activation and loss settings beyond the shared files (tests/fixtures/gen_extra_activation_loss.py).
#[test]
fn extra_activation_loss_fixtures() {
    run_own_file("extra_activation_loss.safetensors");
}

#[test]
fn norm_fixtures() {
    run_file("norm.safetensors");
}

#[test]
fn conv_fixtures() {
    run_file("conv.safetensors");
}

#[test]
fn pool_fixtures() {
    run_file("pool.safetensors");
}

/// convkit's own PyTorch references (tests/fixtures/gen_normpool_extra.py) for the norm and pool
/// settings the shared files don't cover.
#[test]
fn normpool_extra_fixtures() {
    run_own_file("normpool_extra.safetensors");
}
