//! Comparing a model's `state_dict` names and shapes with torchvision's, listed in
//! `tests/fixtures/<name>.keys` (one `name dim,dim,...` line per tensor, written by torchvision).
use convkit_nn::Module;

/// Asserts that `model`'s tensors have exactly the names, order and shapes of the fixture.
pub fn assert_matches_torchvision(model: &dyn Module, fixture: &str) {
    let path = format!(
        "{}/tests/fixtures/{fixture}.keys",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let expected: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let ours: Vec<String> = model
        .named_tensors()
        .iter()
        .map(|(name, t)| {
            let dims: Vec<String> = t.dims().iter().map(usize::to_string).collect();
            format!("{name} {}", dims.join(","))
        })
        .collect();
    let first_difference = ours.iter().zip(&expected).position(|(a, b)| a != b);
    assert!(
        ours == expected,
        "{fixture}: {} tensors vs torchvision's {}; first difference at {first_difference:?}: {:?} vs {:?}",
        ours.len(),
        expected.len(),
        first_difference.map(|i| &ours[i]),
        first_difference.map(|i| &expected[i]),
    );
}
