//! `summarize` against numbers worked out by hand from the architectures' definitions, and the
//! published figures of the zoo's larger models (those run when the families are in the zoo).
use convkit_models::{build_model, summarize, LastConvField, ModelSpec, Summary};
use convkit_nn::trace::trace;
use convkit_nn::Mode;
use convkit_tensor::receptive_field::graph_receptive_field;
use convkit_tensor::{seeded_rng, Tensor};

fn summary_of(name: &str, input: [usize; 3], classes: usize) -> Summary {
    let spec = ModelSpec {
        in_channels: input[0],
        num_classes: classes,
        input_size: (input[1], input[2]),
    };
    let model = build_model(name, &spec, &mut seeded_rng(0)).unwrap();
    summarize(&*model, input).unwrap()
}

fn field(s: &Summary) -> (&str, &[usize]) {
    match &s.receptive_field {
        LastConvField::Found { layer, field } => (layer, field),
        LastConvField::NotAvailable(why) => panic!("no receptive field: {why}"),
    }
}

#[test]
fn lenet5_layer_by_layer() {
    let s = summary_of("lenet5", [1, 28, 28], 10);
    let rows: Vec<(&str, &str, &[usize], usize, u64)> = s
        .layers
        .iter()
        .map(|l| {
            (
                l.name.as_str(),
                l.kind.as_str(),
                &l.output_shape[..],
                l.parameters,
                l.macs,
            )
        })
        .collect();
    // Parameters: weights + biases; multiply-adds: output elements · (fan-in without bias).
    let expected: [(&str, &str, &[usize], usize, u64); 10] = [
        (
            "conv1",
            "Conv2d",
            &[20, 28, 28],
            20 * 25 + 20,
            20 * 28 * 28 * 25,
        ),
        ("relu1", "ReLU", &[20, 28, 28], 0, 0),
        ("pool1", "MaxPool2d", &[20, 14, 14], 0, 0),
        (
            "conv2",
            "Conv2d",
            &[50, 14, 14],
            50 * 20 * 25 + 50,
            50 * 14 * 14 * 20 * 25,
        ),
        ("relu2", "ReLU", &[50, 14, 14], 0, 0),
        ("pool2", "MaxPool2d", &[50, 7, 7], 0, 0),
        ("flatten", "Flatten", &[2450], 0, 0),
        ("fc1", "Linear", &[500], 2450 * 500 + 500, 2450 * 500),
        ("relu3", "ReLU", &[500], 0, 0),
        ("fc2", "Linear", &[10], 500 * 10 + 10, 500 * 10),
    ];
    assert_eq!(rows, expected);
    assert_eq!(s.total_parameters, 1_256_080);
    assert_eq!(s.trainable_parameters, 1_256_080);
    assert_eq!(s.total_macs, 6_522_000);
    // 15,680 + 15,680 + 3,920 + 9,800 + 9,800 + 2,450 + 2,450 + 500 + 500 + 10 values.
    assert_eq!(s.activation_bytes, 4 * 60_790);
    assert_eq!(s.output_shape, [10]);
    // conv 5 → 5; pool 2 → 6, jump 2; conv 5 → 6 + 4·2 = 14.
    assert_eq!(field(&s), ("conv2", &[14, 14][..]));
    let table = s.to_string();
    assert!(table.contains("conv2 (Conv2d)"), "{table}");
    assert!(table.contains("Total parameters: 1,256,080"), "{table}");
    assert!(table.contains("last conv layer (conv2): 14×14"), "{table}");
}

/// Multiply-adds at 224×224 counted by forward hooks on torchvision's models (conv: output
/// elements · weight[0].numel(); linear: output elements · in_features), and the course's figures.
const RESNET_MACS: [(&str, u64, f64); 5] = [
    ("resnet18", 1_814_073_344, 1.8e9),
    ("resnet34", 3_663_761_408, 3.6e9),
    ("resnet50", 4_089_184_256, 3.8e9),
    ("resnet101", 7_801_405_440, 7.6e9),
    ("resnet152", 11_513_626_624, 11.3e9),
];

fn check_resnet_macs(names: &[&str]) {
    for &(name, torch_count, course) in RESNET_MACS.iter().filter(|r| names.contains(&r.0)) {
        let s = summary_of(name, [3, 224, 224], 1000);
        assert_eq!(s.total_macs, torch_count, "{name}");
        // Within 10% of the course's rounded figures (ResNet-50 is the farthest, +7.6%: torchvision
        // strides the 3×3 conv of a bottleneck, "v1.5", where the paper strides the 1×1).
        let ratio = s.total_macs as f64 / course;
        assert!((0.99..1.1).contains(&ratio), "{name}: {ratio}");
    }
}

#[test]
fn resnet18_and_50_macs_match_torchvision() {
    check_resnet_macs(&["resnet18", "resnet50"]);
}

/// The deeper ResNets: several seconds each to build and run at 224×224.
#[test]
fn resnet34_101_152_macs_match_torchvision() {
    check_resnet_macs(&["resnet34", "resnet101", "resnet152"]);
}

#[test]
fn resnet18_receptive_field_by_hand() {
    let s = summary_of("resnet18", [3, 224, 224], 1000);
    // Main path, (field, jump): conv1 7×7 s2 → (7, 2); maxpool 3 s2 → (11, 4); layer1: four 3×3
    // convs → (43, 4); layer2: 3×3 s2 → (51, 8), three 3×3 → (99, 8); layer3 likewise → (115, 16),
    // (211, 16); layer4 → (243, 32), then three 3×3 convs → 307, 371, 435. The last conv called is
    // layer4.1.conv2; the 1×1 downsample shortcuts never see more than the main path.
    assert_eq!(field(&s), ("layer4.1.conv2", &[435, 435][..]));
    assert_eq!(s.total_parameters, 11_689_512);
    let fc = s.layers.last().unwrap();
    assert_eq!((fc.name.as_str(), fc.macs), ("fc", 512 * 1000));
}

#[test]
fn alexnet_feature_map_sizes() {
    // The course's AlexNet at 227×227 and torchvision's at 224×224 both give 55, 27, 13, 6.
    for (name, size) in [("alexnet", 227), ("alexnet-torchvision", 224)] {
        let s = summary_of(name, [3, size, size], 1000);
        let mut sizes: Vec<usize> = s
            .layers
            .iter()
            .filter(|l| l.output_shape.len() == 3)
            .map(|l| l.output_shape[1])
            .collect();
        sizes.dedup();
        assert_eq!(sizes, [55, 27, 13, 6], "{name}");
    }
    assert_eq!(
        summary_of("alexnet-torchvision", [3, 224, 224], 1000).total_macs,
        714_188_480
    );
}

#[test]
fn vgg16_layer_by_layer() {
    let s = summary_of("vgg16", [3, 224, 224], 1000);
    let row = |name: &str| {
        let l = s.layers.iter().find(|l| l.name == name).unwrap();
        (l.output_shape.clone(), l.parameters)
    };
    // The course's VGG-16 table: output size and parameters (3·3·C_in·C_out + C_out) per layer.
    let table: [(&str, [usize; 3], usize); 18] = [
        ("features.0", [64, 224, 224], 1_792),
        ("features.2", [64, 224, 224], 36_928),
        ("features.4", [64, 112, 112], 0),
        ("features.5", [128, 112, 112], 73_856),
        ("features.7", [128, 112, 112], 147_584),
        ("features.9", [128, 56, 56], 0),
        ("features.10", [256, 56, 56], 295_168),
        ("features.12", [256, 56, 56], 590_080),
        ("features.14", [256, 56, 56], 590_080),
        ("features.16", [256, 28, 28], 0),
        ("features.17", [512, 28, 28], 1_180_160),
        ("features.19", [512, 28, 28], 2_359_808),
        ("features.21", [512, 28, 28], 2_359_808),
        ("features.23", [512, 14, 14], 0),
        ("features.24", [512, 14, 14], 2_359_808),
        ("features.26", [512, 14, 14], 2_359_808),
        ("features.28", [512, 14, 14], 2_359_808),
        ("features.30", [512, 7, 7], 0),
    ];
    for (name, shape, params) in table {
        assert_eq!(row(name), (shape.to_vec(), params), "{name}");
    }
    for (name, width, params) in [
        ("classifier.0", 4096, 102_764_544),
        ("classifier.3", 4096, 16_781_312),
        ("classifier.6", 1000, 4_097_000),
    ] {
        assert_eq!(row(name), (vec![width], params), "{name}");
    }
    assert_eq!(s.total_parameters, 138_357_544);
    assert_eq!(s.total_macs, 15_470_264_320); // torchvision's, by forward hooks
                                              // The course counts the input and the conv, pool and fc outputs: ≈ 15.2M values ≈ 58 MiB.
    let counted: usize = 3 * 224 * 224
        + s.layers
            .iter()
            .filter(|l| matches!(l.kind.as_str(), "Conv2d" | "MaxPool2d" | "Linear"))
            .map(|l| l.output_elements())
            .sum::<usize>();
    assert_eq!(counted, 15_237_608);
    assert!((counted as f64 * 4.0 / 1048576.0 - 58.13).abs() < 0.01);
    // Ours counts every layer's output: ReLU (13 + 2 of them) and dropout outputs again and the
    // 7×7 adaptive pool (the flatten is a tensor op, as in torchvision, not a layer), and not the
    // input: 28,676,072 values, ≈ 109.4 MiB.
    assert_eq!(s.activation_bytes, 4 * 28_676_072);
    // conv3 ×2 → 5, pool → 6 (jump 2), conv3 ×2 → 14, pool → 16 (4), conv3 ×3 → 40, pool → 44 (8),
    // conv3 ×3 → 92, pool → 100 (16), conv3 ×3 → 196 at conv5_3 (features.28). The often-quoted
    // 212 is pool5's: 196 + 1·16 (checked below).
    assert_eq!(field(&s), ("features.28", &[196, 196][..]));
}

#[test]
fn vgg16_pool5_receptive_field_is_212() {
    let spec = ModelSpec {
        in_channels: 3,
        num_classes: 10,
        input_size: (64, 64),
    };
    let model = build_model("vgg16", &spec, &mut seeded_rng(0)).unwrap();
    let x = Tensor::zeros([1, 3, 64, 64]).with_grad();
    let (_, records) = trace(model.as_ref(), &x, Mode::Eval).unwrap();
    let output = |name: &str| &records.iter().find(|r| r.name == name).unwrap().output;
    assert_eq!(
        graph_receptive_field(output("features.30"), &x).unwrap(),
        [212, 212]
    );
    assert_eq!(
        graph_receptive_field(output("features.28"), &x).unwrap(),
        [196, 196]
    );
}
