//! Initialisations against PyTorch's (`tests/fixtures/gen_dirac.py`).
use convkit_nn::init::dirac;
use convkit_tensor::{seeded_rng, Tensor};
use convkit_testkit::TensorFile;
use std::collections::BTreeMap;

#[test]
fn dirac_matches_pytorch_for_every_rank_group_count_and_kernel() {
    let file = TensorFile::load("dirac.safetensors").unwrap();
    let groups: BTreeMap<String, usize> = serde_json::from_str(&file.metadata["groups"]).unwrap();
    assert_eq!(groups.len(), 6);
    for (name, want) in &file.tensors {
        let got = Tensor::randn(want.dims(), &mut seeded_rng(1));
        dirac(&got, groups[name]).unwrap();
        assert_eq!(got.data()[..], want.data()[..], "{name}");
    }
}

#[test]
fn dirac_refuses_what_is_not_a_conv_weight() {
    for (dims, groups) in [(vec![4, 4], 1), (vec![4, 4, 3, 3], 3), (vec![4, 4, 3], 0)] {
        let t = Tensor::zeros(&dims[..]);
        let err = dirac(&t, groups).unwrap_err().to_string();
        assert!(err.contains("Dirac init"), "{err}");
    }
}
