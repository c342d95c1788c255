//! `summarize` against numbers worked out by hand from the architectures' definitions, and the
//! published figures of the zoo's larger models (those run when the families are in the zoo).
use convkit_models::{build_model, summarize, LastConvField, ModelSpec, Summary};
use convkit_tensor::seeded_rng;

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
