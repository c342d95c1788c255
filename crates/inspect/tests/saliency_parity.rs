//! The saliency methods against PyTorch on a small CNN with random weights (fixture made by
//! tests/fixtures/gen_saliency.py, maps computed in float64 from the methods' definitions).
//! Maps agree to 1e-4 of their largest magnitude.
use convkit_inspect::saliency::{
    grad_cam, grad_cam_plus_plus, guided_backprop, integrated_gradients, occlusion,
    upsample_bilinear, vanilla_gradient, OcclusionConfig,
};
use convkit_nn::layers::{
    Conv2d, Conv2dConfig, Flatten, FlattenConfig, Linear, LinearConfig, MaxPool2d, MaxPool2dConfig,
    ReLU, Sequential,
};
use convkit_nn::{Mode, Module};
use convkit_tensor::{seeded_rng, Tensor};
use convkit_testkit::TensorFile;

struct Fixture {
    file: TensorFile,
    model: Sequential,
}

impl Fixture {
    fn load() -> Fixture {
        let file = TensorFile::load("saliency.safetensors").unwrap();
        let mut rng = seeded_rng(0);
        let conv = |c_in, c_out, rng: &mut _| {
            let config = Conv2dConfig {
                padding: (1, 1),
                ..Default::default()
            };
            Box::new(Conv2d::new(c_in, c_out, (3, 3), config, rng).unwrap()) as Box<dyn Module>
        };
        let layers: Vec<(String, Box<dyn Module>)> = vec![
            ("conv1".into(), conv(3, 4, &mut rng)),
            ("relu1".into(), Box::new(ReLU)),
            (
                "pool1".into(),
                Box::new(MaxPool2d::new((2, 2), MaxPool2dConfig::default()).unwrap()),
            ),
            ("conv2".into(), conv(4, 6, &mut rng)),
            ("relu2".into(), Box::new(ReLU)),
            (
                "flatten".into(),
                Box::new(Flatten::new(FlattenConfig::default())),
            ),
            (
                "fc".into(),
                Box::new(Linear::new(96, 5, LinearConfig::default(), &mut rng).unwrap()),
            ),
        ];
        let model = Sequential::named(layers).unwrap();
        for (name, param) in model.parameters() {
            let reference = &file.tensors[&format!("param.{name}")];
            param.data_mut().copy_from_slice(&reference.data());
        }
        Fixture { file, model }
    }

    fn tensor(&self, name: &str) -> Tensor {
        self.file.tensors[name].clone()
    }

    fn assert_map(&self, name: &str, actual: &Tensor) {
        let expected = self.tensor(name);
        assert_eq!(actual.dims(), expected.dims(), "{name}");
        let scale = expected.to_vec().iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(scale > 0.0, "{name}: the reference map is all zero");
        let worst = actual
            .to_vec()
            .iter()
            .zip(expected.to_vec())
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        println!("{name}: max |convkit − PyTorch| = {worst:.3e} (map scale {scale:.3e})");
        assert!(worst <= 1e-4 * scale, "{name}: {worst} > 1e-4 × {scale}");
    }
}

const CLASS: Option<usize> = Some(2);

#[test]
fn logits_match_so_the_model_is_the_same() {
    let f = Fixture::load();
    let x = f.tensor("input").reshape(&[1, 3, 8, 8]).unwrap();
    let logits = f.model.forward(&x, Mode::Eval).unwrap();
    f.assert_map("logits", &logits.reshape(&[5]).unwrap());
}

#[test]
fn gradient_methods_match_pytorch() {
    let f = Fixture::load();
    let image = f.tensor("input");
    f.assert_map(
        "vanilla",
        &vanilla_gradient(&f.model, &image, CLASS).unwrap().values,
    );
    f.assert_map(
        "guided",
        &guided_backprop(&f.model, &image, CLASS).unwrap().values,
    );
    let ig = integrated_gradients(&f.model, &image, &f.tensor("baseline"), CLASS, 16).unwrap();
    f.assert_map("ig", &ig.attribution.values);
    assert_eq!(ig.attribution.class, 2);
}

#[test]
fn class_activation_maps_match_pytorch() {
    let f = Fixture::load();
    let image = f.tensor("input");
    let cam = grad_cam(&f.model, &image, "relu2", CLASS).unwrap();
    f.assert_map("gradcam.relu2", &cam.values);
    f.assert_map(
        "gradcam.relu2.up",
        &upsample_bilinear(&cam.values, (8, 8)).unwrap(),
    );
    let pre_relu = grad_cam(&f.model, &image, "conv2", CLASS).unwrap();
    f.assert_map("gradcam.conv2", &pre_relu.values);
    let plus_plus = grad_cam_plus_plus(&f.model, &image, "relu2", CLASS).unwrap();
    f.assert_map("gradcampp.relu2", &plus_plus.values);
}

#[test]
fn occlusion_matches_pytorch() {
    let f = Fixture::load();
    let config = OcclusionConfig {
        window: 3,
        stride: 2,
        fill: 0.0,
        batch_size: 4,
    };
    let map = occlusion(&f.model, &f.tensor("input"), CLASS, &config).unwrap();
    f.assert_map("occlusion", &map.values);
}

#[test]
fn bad_requests_are_clear_errors() {
    let f = Fixture::load();
    let image = f.tensor("input");
    let err = |r: convkit_inspect::Result<_>| r.map(|_: ()| ()).unwrap_err().to_string();
    assert_eq!(
        err(grad_cam(&f.model, &image, "fc", CLASS).map(|_| ())),
        "layer 'fc' has no spatial output (its output has shape [1, 5]); Grad-CAM needs a layer \
         with [N, C, H, W] output such as a conv layer"
    );
    assert_eq!(
        err(grad_cam(&f.model, &image, "conv3", CLASS).map(|_| ())),
        "the model has no module named 'conv3'; its modules are: conv1, relu1, pool1, conv2, \
         relu2, flatten, fc"
    );
    assert_eq!(
        err(vanilla_gradient(&f.model, &image, Some(5)).map(|_| ())),
        "class 5 is out of range: the model has 5 classes (0..5)"
    );
    let gray = Tensor::zeros([1, 8, 8]);
    let wrong_channels = err(vanilla_gradient(&f.model, &gray, None).map(|_| ()));
    assert!(
        wrong_channels.contains("input has 1 channels but weight expects 3"),
        "{wrong_channels}"
    );
    let big = OcclusionConfig {
        window: 9,
        ..Default::default()
    };
    assert_eq!(
        err(occlusion(&f.model, &image, None, &big).map(|_| ())),
        "occlusion: window 9 with stride 4 does not fit a 8x8 image"
    );
    // The parameters' gradients are left alone by every method.
    assert!(f.model.parameters().iter().all(|(_, p)| p.grad().is_none()));
}
