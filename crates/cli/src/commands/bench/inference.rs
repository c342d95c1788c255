//! Inference workloads: eval-mode forward passes of a zoo model on a random batch, through the
//! fused inference path (`FusedModel`: batch norms folded, activations in place) unless
//! `--unfused` asks for the plain eval-mode graph (then the label ends in `-unfused`).
use super::{measure, report, report_values, BenchArgs};
use convkit_models::{build_model, ModelSpec};
use convkit_nn::fusion::FusedModel;
use convkit_nn::{Mode, Module};
use convkit_tensor::{no_grad, seeded_rng, Tensor};

/// What an inference workload reports.
#[derive(Clone, Copy)]
pub enum Figure {
    /// Images per second.
    Throughput,
    /// Milliseconds per batch.
    Latency,
}

/// One inference workload: a zoo model at a spec and batch size.
pub struct InferWorkload {
    pub label: &'static str,
    pub model: &'static str,
    pub spec: ModelSpec,
    pub batch: usize,
    pub figure: Figure,
}

/// W1-infer: LeNet-5, batch 256.
pub const W1_INFER: InferWorkload = InferWorkload {
    label: "W1-infer",
    model: "lenet5",
    spec: ModelSpec::MNIST,
    batch: 256,
    figure: Figure::Throughput,
};

/// W2-infer: ResNet-18 with the CIFAR stem, 10 classes, batch 64 of 3×32×32.
pub const W2_INFER: InferWorkload = InferWorkload {
    label: "W2-infer",
    model: "resnet18-cifar",
    spec: ModelSpec::CIFAR,
    batch: 64,
    figure: Figure::Throughput,
};

/// W3-b1: torchvision's ResNet-18, one 3×224×224 image: latency.
pub const W3_B1: InferWorkload = InferWorkload {
    label: "W3-b1",
    model: "resnet18",
    spec: ModelSpec::IMAGENET,
    batch: 1,
    figure: Figure::Latency,
};

/// W3-b16: torchvision's ResNet-18, batch 16 of 3×224×224.
pub const W3_B16: InferWorkload = InferWorkload {
    label: "W3-b16",
    model: "resnet18",
    spec: ModelSpec::IMAGENET,
    batch: 16,
    figure: Figure::Throughput,
};

/// Times `w`'s forward passes and prints its RESULT line.
pub fn run(args: &BenchArgs, w: &InferWorkload) -> anyhow::Result<()> {
    let model = build_model(w.model, &w.spec, &mut seeded_rng(0))?;
    let (h, wid) = w.spec.input_size;
    let images = Tensor::randn([w.batch, w.spec.in_channels, h, wid], &mut seeded_rng(1));
    let seconds = if args.unfused {
        let model: &dyn Module = model.as_ref();
        measure(args, || {
            no_grad(|| model.forward(&images, Mode::Eval))?;
            Ok(())
        })?
    } else {
        let fused = FusedModel::new(model.as_ref())?;
        measure(args, || {
            fused.forward(&images)?;
            Ok(())
        })?
    };
    let label = if args.unfused {
        format!("{}-unfused", w.label)
    } else {
        w.label.to_string()
    };
    match w.figure {
        Figure::Throughput => report(&label, &seconds, w.batch as f64, "img/s"),
        Figure::Latency => {
            let ms: Vec<f64> = seconds.iter().map(|s| s * 1e3).collect();
            report_values(&label, &ms, "ms");
        }
    }
    Ok(())
}
