//! PyTorch weights in and out, against files written by torch.save (tests/fixtures/pth, made by
//! tests/fixtures/gen_pth_fixtures.py): the `.pth` reader gives the same tensors as safetensors,
//! decodes strided views and every storage type, refuses anything but tensors and dicts (naming the
//! global), and a model's import/export round-trips PyTorch's state_dict layout.
use convkit_nn::io::{read_safetensors, Dtype};
use convkit_nn::layers::{
    BatchNorm2d, BatchNormConfig, Conv2d, Conv2dConfig, Flatten, FlattenConfig, Linear,
    LinearConfig, Sequential,
};
use convkit_nn::torch::{export_state_dict, import_state_dict, read_pth, read_state_dict};
use convkit_nn::Module;
use convkit_tensor::seeded_rng;
use convkit_testkit::fixture_dir;
use std::path::PathBuf;

fn pth(name: &str) -> PathBuf {
    fixture_dir().join("pth").join(name)
}

/// The convkit twin of the generator's `Sequential(Conv2d(2, 3, 3), BatchNorm2d(3), Flatten(),
/// Linear(3, out))`.
fn model(out: usize) -> Sequential {
    let rng = &mut seeded_rng(0);
    Sequential::new(vec![
        Box::new(Conv2d::new(2, 3, (3, 3), Conv2dConfig::default(), rng).unwrap()),
        Box::new(BatchNorm2d::new(3, BatchNormConfig::default()).unwrap()),
        Box::new(Flatten::new(FlattenConfig::default())),
        Box::new(Linear::new(3, out, LinearConfig::default(), rng).unwrap()),
    ])
}

#[test]
fn pth_and_safetensors_give_identical_tensors() {
    let from_pth = read_pth(pth("state_dict.pth")).unwrap();
    let from_st = read_safetensors(&pth("state_dict.safetensors"))
        .unwrap()
        .tensors;
    let names = |v: &[(String, convkit_tensor::Tensor)]| {
        v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
    };
    // The .pth keeps PyTorch's order; safetensors sorts, so compare as sets, then value by value.
    let mut sorted = names(&from_pth);
    sorted.sort();
    let mut st_names = names(&from_st);
    st_names.sort();
    assert_eq!(sorted, st_names);
    assert_eq!(names(&from_pth)[..3], ["0.weight", "0.bias", "1.weight"]);
    for (name, t) in &from_pth {
        let (_, s) = from_st.iter().find(|(n, _)| n == name).unwrap();
        assert_eq!(t.dims(), s.dims(), "{name}");
        assert_eq!(t.to_vec(), s.to_vec(), "{name}");
    }
    let (_, count) = from_pth
        .iter()
        .find(|(n, _)| n == "1.num_batches_tracked")
        .unwrap();
    assert_eq!((count.dims().len(), count.item()), (0, 12.0));
}

#[test]
fn pth_views_and_storage_types_decode_exactly() {
    let got = read_pth(pth("views.pth")).unwrap();
    let expected = read_safetensors(&pth("views_expected.safetensors"))
        .unwrap()
        .tensors;
    assert_eq!(got.len(), expected.len());
    for (name, t) in &got {
        let (_, e) = expected.iter().find(|(n, _)| n == name).unwrap();
        assert_eq!(t.dims(), e.dims(), "{name}");
        assert_eq!(t.to_vec(), e.to_vec(), "{name}");
    }
}

#[test]
fn pth_reader_refuses_other_globals_and_names_them() {
    let err = read_pth(pth("refused_global.pth")).unwrap_err().to_string();
    assert!(
        err.contains("refused_global.pth") && err.contains("refused global 'posix.system'"),
        "{err}"
    );
    let err = read_pth(pth("full_model.pth")).unwrap_err().to_string();
    assert!(
        err.contains("full_model.pth") && err.contains("torch.nn.modules.container.Sequential"),
        "{err}"
    );
    let err = read_pth(pth("state_dict.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a zip archive"), "{err}");
}

#[test]
fn import_loads_pytorch_weights_and_reports_every_mismatch() {
    let net = model(2);
    for file in ["state_dict.pth", "state_dict.safetensors"] {
        let tensors = read_state_dict(pth(file)).unwrap();
        import_state_dict(&net, &tensors, file).unwrap();
        for (name, t) in net.named_tensors() {
            let (_, src) = tensors.iter().find(|(n, _)| *n == name).unwrap();
            assert_eq!(t.to_vec(), src.to_vec(), "{name}");
        }
    }
    let tensors = read_state_dict(pth("state_dict.pth")).unwrap();
    let err = import_state_dict(&model(4), &tensors, "state_dict.pth")
        .unwrap_err()
        .to_string();
    assert!(err.contains("state_dict.pth"), "{err}");
    assert!(
        err.contains("shape mismatch for 3.weight: expected [4, 3], found [2, 3]"),
        "{err}"
    );
    let renamed: Vec<_> = tensors
        .iter()
        .map(|(n, t)| (n.replace("3.bias", "3.b"), t.clone()))
        .collect();
    let err = import_state_dict(&net, &renamed, "renamed")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing tensor 3.bias") && err.contains("unexpected tensor 3.b "),
        "{err}"
    );
}

#[test]
fn export_has_pytorch_keys_shapes_and_dtypes() {
    let file = std::fs::read(pth("state_dict.safetensors")).unwrap();
    let torch = safetensors::SafeTensors::deserialize(&file).unwrap();
    let mut expected: Vec<(String, Vec<usize>, Dtype)> = torch
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.shape().to_vec(), v.dtype()))
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let exported = export_state_dict(&model(2));
    let mut got: Vec<(String, Vec<usize>, Dtype)> = exported
        .iter()
        .map(|t| (t.name.clone(), t.dims.clone(), t.dtype))
        .collect();
    // PyTorch's registration order: num_batches_tracked right after running_var.
    let order: Vec<&str> = got.iter().map(|(n, _, _)| n.as_str()).collect();
    let torch_order: Vec<String> = read_pth(pth("state_dict.pth"))
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(order, torch_order);
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, expected);
}

#[test]
fn counters_load_when_present_and_are_optional() {
    let net = model(2);
    let tensors = read_state_dict(pth("state_dict.pth")).unwrap();
    import_state_dict(&net, &tensors, "state_dict.pth").unwrap();
    let count = |m: &Sequential| {
        m.named_tensors()
            .into_iter()
            .find(|(n, _)| n == "1.num_batches_tracked")
            .unwrap()
            .1
            .item()
    };
    assert_eq!(count(&net), 12.0);
    let exported = export_state_dict(&net);
    let counter = exported
        .iter()
        .find(|t| t.name == "1.num_batches_tracked")
        .unwrap();
    assert_eq!(counter.bytes, 12i64.to_le_bytes());
    let without: Vec<_> = tensors
        .into_iter()
        .filter(|(n, _)| !n.ends_with("num_batches_tracked"))
        .collect();
    import_state_dict(&net, &without, "no counters").unwrap();
    assert_eq!(count(&net), 12.0);
}
