//! The residual blocks' batch norms run fused with the ReLU after them (and the shortcut sum) in a
//! direct training pass, and so do the pre-activation norms of DenseNet's dense layers and every
//! batch norm followed by a ReLU in a `Sequential` (MobileNet v1, the small CNN, the ResNet stem). A pass with a hook runs the same calls one by one; both must give the same
//! loss, gradients and running statistics, for every kind of block and shortcut.
use convkit_models::build_model;
use convkit_nn::{ForwardPass, Mode, Module, ModuleCall};
use convkit_tensor::{seeded_rng, Tensor};

mod zoo_common;
use zoo_common::spec;

/// (loss, every parameter's gradient, every buffer) after one training step's forward and backward.
fn step(model: &dyn Module, x: &Tensor, direct: bool) -> (f32, Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let labels = [3, 7];
    let mut calls = 0;
    let mut hook = |_: &ModuleCall<'_>| {
        calls += 1;
        Ok(None)
    };
    let mut pass = ForwardPass::new(Mode::Train);
    if !direct {
        pass = pass.with_hook(&mut hook);
    }
    assert_eq!(pass.is_direct(), direct);
    let loss = pass.run(model, x).unwrap().cross_entropy(&labels).unwrap();
    drop(pass);
    assert_eq!(calls > 0, !direct, "the hook saw the calls");
    loss.backward().unwrap();
    let grads = model
        .parameters()
        .iter()
        .map(|(_, p)| p.grad().unwrap().to_vec())
        .collect();
    let buffers = model.buffers().iter().map(|(_, b)| b.to_vec()).collect();
    (loss.to_vec()[0], grads, buffers)
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in a.iter().zip(b).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * scale.max(1e-3),
            "{what}[{i}]: {a} vs {b}"
        );
    }
}

#[test]
fn fused_and_unfused_training_passes_agree() {
    // Basic blocks with option A shortcuts, plain blocks, bottlenecks with projections, dense
    // layers, Sequentials of conv, norm and ReLU.
    for (name, size) in [
        ("resnet20", 32),
        ("plain20", 32),
        ("resnet50", 32),
        ("densenet121", 32),
        ("mobilenet-v1", 32),
        ("smallcnn", 32),
    ] {
        let s = spec(3, size, 10);
        let x = Tensor::randn([2, 3, size, size], &mut seeded_rng(1));
        let fused_model = build_model(name, &s, &mut seeded_rng(0)).unwrap();
        let unfused_model = build_model(name, &s, &mut seeded_rng(0)).unwrap();
        let fused = step(fused_model.as_ref(), &x, true);
        let unfused = step(unfused_model.as_ref(), &x, false);
        assert!(
            (fused.0 - unfused.0).abs() < 1e-5,
            "{name}: loss {} vs {}",
            fused.0,
            unfused.0
        );
        let names = fused_model.parameters();
        for (k, (g, h)) in fused.1.iter().zip(&unfused.1).enumerate() {
            assert_close(g, h, &format!("{name}: grad of {}", names[k].0));
        }
        for (k, (b, c)) in fused.2.iter().zip(&unfused.2).enumerate() {
            assert_close(b, c, &format!("{name}: buffer {k}"));
        }
    }
}
