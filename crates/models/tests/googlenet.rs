//! GoogLeNet (torchvision's, no auxiliary classifiers): parameters, state_dict names, geometry at
//! 32×32 and 224×224, the smallest input, overfitting one batch.
mod traced;
mod zoo_common;

use convkit_models::{build_model, googlenet};
use convkit_nn::optim::{Adam, AdamConfig};
use convkit_nn::trace::trace;
use convkit_nn::{Mode, Module};
use convkit_tensor::seeded_rng;
use zoo_common::{assert_overfits, batch, output_dims, spec};

#[test]
fn torchvision_parameters_and_names() {
    let spec = spec(3, 224, 1000);
    let model = build_model("googlenet", &spec, &mut seeded_rng(0)).unwrap();
    assert_eq!(model.num_parameters(), 6_624_904);
    assert_eq!(output_dims(model.as_ref(), 1, &spec), [1, 1000]);
    let names: Vec<_> = model.named_tensors().into_iter().map(|(n, _)| n).collect();
    // torchvision's googlenet(aux_logits=False).state_dict() has 344 entries.
    assert_eq!(names.len(), 344);
    assert_eq!(
        names[..7],
        [
            "conv1.conv.weight",
            "conv1.bn.weight",
            "conv1.bn.bias",
            "conv1.bn.running_mean",
            "conv1.bn.running_var",
            "conv1.bn.num_batches_tracked",
            "conv2.conv.weight",
        ]
    );
    assert_eq!(
        names[names.len() - 4..],
        [
            "inception5b.branch4.1.bn.running_var",
            "inception5b.branch4.1.bn.num_batches_tracked",
            "fc.weight",
            "fc.bias",
        ]
    );
    let branch2: Vec<_> = names
        .iter()
        .filter(|n| n.starts_with("inception4a.branch2.1."))
        .collect();
    assert_eq!(
        branch2,
        [
            "inception4a.branch2.1.conv.weight",
            "inception4a.branch2.1.bn.weight",
            "inception4a.branch2.1.bn.bias",
            "inception4a.branch2.1.bn.running_mean",
            "inception4a.branch2.1.bn.running_var",
            "inception4a.branch2.1.bn.num_batches_tracked",
        ]
    );
    let text = model.describe();
    assert!(
        text.starts_with("GoogLeNet(\n  (conv1): BasicConv2d(\n    (conv): Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)\n    (bn): BatchNorm2d(64, eps=0.001"),
        "{text}"
    );
    assert!(text.contains("  (maxpool4): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=True)\n"), "{text}");
}

#[test]
fn geometry_at_32() {
    let spec = spec(3, 32, 10);
    let model = googlenet(&spec, &mut seeded_rng(0)).unwrap();
    traced::assert_every_layer_traced(&model, &spec);
    let (y, records) = trace(&model, &batch(2, &spec), Mode::Eval).unwrap();
    assert_eq!(y.dims(), [2, 10]);
    let dims = |name: &str| {
        let r = records.iter().find(|r| r.name == name).unwrap();
        r.output.dims().to_vec()
    };
    // PyTorch's shapes for torchvision's model at 1×3×32×32 (ceil-mode pools).
    assert_eq!(dims("conv1"), [2, 64, 16, 16]);
    assert_eq!(dims("maxpool1"), [2, 64, 8, 8]);
    assert_eq!(dims("maxpool2"), [2, 192, 4, 4]);
    assert_eq!(dims("inception3b"), [2, 480, 4, 4]);
    assert_eq!(dims("maxpool3"), [2, 480, 2, 2]);
    assert_eq!(dims("maxpool4"), [2, 832, 1, 1]);
    assert_eq!(dims("inception5b"), [2, 1024, 1, 1]);
    assert_eq!(dims("inception4a.branch3.1.conv"), [2, 48, 2, 2]);
    // torchvision takes 15×15 but not 14×14.
    let err = googlenet(&spec_of(14), &mut seeded_rng(0)).err().unwrap();
    assert_eq!(
        err.to_string(),
        "googlenet: input 14x14 is too small: the minimum is 15x15"
    );
    let model = googlenet(&spec_of(15), &mut seeded_rng(0)).unwrap();
    assert_eq!(output_dims(&model, 1, &spec_of(15)), [1, 10]);
}

fn spec_of(size: usize) -> convkit_models::ModelSpec {
    spec(3, size, 10)
}

#[test]
fn overfits_one_batch() {
    let spec = spec(3, 32, 4);
    let model = googlenet(&spec, &mut seeded_rng(1)).unwrap();
    let config = AdamConfig {
        lr: 1e-3,
        ..Default::default()
    };
    let mut opt = Adam::new(model.parameters(), config).unwrap();
    assert_overfits(&model, &mut opt, &spec, (4, 40), Mode::Train);
}
