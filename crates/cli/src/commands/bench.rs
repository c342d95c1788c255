//! `convkit bench`: the reference workloads of `shared/bench/WORKLOADS.md`, measured the way the
//! PyTorch anchor script measures them (warm-up, then repetitions of at least `--min-time` seconds;
//! median with min–max), so the figures can be compared as ratios. Labels are those of
//! `shared/bench/pytorch_bench.py` and `benches/workloads_pytorch.py`; `benches/compare.py` runs
//! both sides alternately and prints the ratios.
use anyhow::bail;
use clap::{Args, ValueEnum};
use convkit_models::{build_model, ModelSpec};
use convkit_nn::optim::{Optimizer, Sgd, SgdConfig};
use convkit_nn::Mode;
use convkit_tensor::kernels::conv::{conv_backward_input, conv_backward_weight, conv_forward};
use convkit_tensor::kernels::conv_geometry::Conv2dGeometry;
use convkit_tensor::kernels::depthwise::{
    depthwise_backward_input, depthwise_backward_weight, depthwise_forward, is_depthwise,
};
use convkit_tensor::kernels::gemm::{Gemm, MatMut, MatRef};
use convkit_tensor::{seeded_rng, Tensor};
use std::time::Instant;

mod inference;
mod norm_pool;
mod rss;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// LeNet-5 training steps (forward, backward, SGD momentum), batch 64: images/s.
    W1Train,
    /// LeNet-5 eval-mode forward, batch 256: images/s.
    W1Infer,
    /// ResNet-18, CIFAR stem, training steps (SGD momentum) at batch 64 of 3×32×32: images/s.
    W2Train,
    /// ResNet-18, CIFAR stem, eval-mode forward at batch 64: images/s.
    W2Infer,
    /// torchvision's ResNet-18, eval-mode forward of one 3×224×224 image: latency in ms.
    #[value(name = "w3-b1")]
    W3B1,
    /// torchvision's ResNet-18, eval-mode forward at batch 16 of 3×224×224: images/s.
    #[value(name = "w3-b16")]
    W3B16,
    /// CIFAR ResNet-20 training steps at batch 128 (SGD momentum, weight decay): images/s.
    Resnet20Train,
    /// airbench94 training steps at batch 512 of 3×32×32 (Nesterov SGD): images/s.
    Airbench94Train,
    /// One conv 32×64×56×56 → 64, k3 p1: forward + input grad + weight grad, GFLOP/s.
    W4,
    /// The same conv, forward only: GFLOP/s.
    W4Fwd,
    /// Square SGEMM 1024 and 2048: GFLOP/s.
    W5,
    /// Depthwise conv 32×64×56×56, k3 p1, groups 64 (MobileNet-like; the direct kernel): forward
    /// alone, then forward + input grad + weight grad, GFLOP/s.
    ConvDw,
    /// 1×1 conv 32×64×56×56 → 128 (GEMM on the input, no im2col): forward alone, then forward +
    /// input grad + weight grad, GFLOP/s.
    ConvPw,
    /// Normalisation and pooling ops, forward + backward on 64×64×56×56: iterations/s.
    NormPool,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Workloads to run, comma-separated.
    #[arg(long, alias = "workload", value_enum, value_delimiter = ',', default_values_t = [Workload::W1Train, Workload::W1Infer])]
    pub workloads: Vec<Workload>,
    /// Run the inference workloads through the model's plain eval-mode graph instead of the fused
    /// inference path (labels get `-unfused`), to measure what fusion gains.
    #[arg(long)]
    pub unfused: bool,
    /// Seconds each timed repetition runs at least (at most an hour).
    #[arg(long, default_value_t = 3.0)]
    pub min_time: f64,
    /// Timed repetitions of each workload.
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// Run exactly this many calls per repetition, with no warm-up, instead of timing by
    /// `--min-time` (for profilers and CPU-time counts).
    #[arg(long)]
    pub iters: Option<usize>,
}

/// Seconds per call of `f`, one figure per repetition, after about a second of warm-up.
fn measure(
    args: &BenchArgs,
    mut f: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Vec<f64>> {
    let warmup = Instant::now();
    while args.iters.is_none() && warmup.elapsed().as_secs_f64() < args.min_time.min(1.0) {
        f()?;
    }
    let mut per_call = Vec::new();
    for _ in 0..args.reps {
        let (start, mut calls) = (Instant::now(), 0);
        while match args.iters {
            Some(n) => calls < n,
            None => calls == 0 || start.elapsed().as_secs_f64() < args.min_time,
        } {
            f()?;
            calls += 1;
        }
        per_call.push(start.elapsed().as_secs_f64() / calls as f64);
    }
    Ok(per_call)
}

/// Prints `RESULT convkit <workload> <median> <min> <max> <unit>` for a rate of `items` per call.
fn report(workload: &str, seconds: &[f64], items: f64, unit: &str) {
    let rates: Vec<f64> = seconds.iter().map(|s| items / s).collect();
    report_values(workload, &rates, unit);
}

/// Prints `RESULT convkit <workload> <median> <min> <max> <unit>` of `values`.
fn report_values(workload: &str, values: &[f64], unit: &str) {
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    let median = values[values.len() / 2];
    println!(
        "RESULT convkit {workload} {median:.4} {:.4} {:.4} {unit}",
        values[0],
        values[values.len() - 1]
    );
}

/// A training workload: a zoo model, its input and SGD settings.
struct TrainWorkload {
    label: &'static str,
    model: &'static str,
    /// `[batch, channels, height, width]`.
    input: [usize; 4],
    sgd: SgdConfig,
}

/// Images/s of full training steps (forward, backward, SGD step) on random images, and the peak
/// resident memory while they ran (`<label>-rss`).
fn train_steps(args: &BenchArgs, w: &TrainWorkload) -> anyhow::Result<()> {
    let was_reset = rss::reset_peak();
    let [batch, channels, h, wid] = w.input;
    let spec = ModelSpec {
        in_channels: channels,
        num_classes: 10,
        input_size: (h, wid),
    };
    let model = build_model(w.model, &spec, &mut seeded_rng(0))?;
    let mut sgd = Sgd::new(model.parameters(), w.sgd)?;
    let images = Tensor::randn(w.input, &mut seeded_rng(1));
    let labels: Vec<usize> = (0..batch).map(|i| (i * 7) % 10).collect();
    let seconds = measure(args, || {
        let loss = model
            .forward(&images, Mode::Train)?
            .cross_entropy(&labels)?;
        sgd.zero_grad();
        loss.backward()?;
        sgd.step()?;
        Ok(())
    })?;
    report(w.label, &seconds, batch as f64, "img/s");
    rss::report(w.label, was_reset);
    Ok(())
}

/// SGD lr 0.01 momentum 0.9, as `pytorch_bench.py` trains W1 and W2.
const ANCHOR_SGD: SgdConfig = SgdConfig {
    lr: 0.01,
    momentum: 0.9,
    dampening: 0.0,
    weight_decay: 0.0,
    nesterov: false,
};

/// W1-train: LeNet-5, batch 64.
const W1_TRAIN: TrainWorkload = TrainWorkload {
    label: "W1-train",
    model: "lenet5",
    input: [64, 1, 28, 28],
    sgd: ANCHOR_SGD,
};

/// W2-train: ResNet-18 with the CIFAR stem, 10 classes, batch 64 of 3×32×32.
const W2_TRAIN: TrainWorkload = TrainWorkload {
    label: "W2-train",
    model: "resnet18-cifar",
    input: [64, 3, 32, 32],
    sgd: ANCHOR_SGD,
};

/// ResNet-20 on CIFAR-sized images with `convkit train`'s CIFAR recipe: batch 128, SGD lr 0.1
/// momentum 0.9, weight decay 5e-4 (`benches/resnet20_pytorch.py` is the PyTorch side).
const RESNET20_TRAIN: TrainWorkload = TrainWorkload {
    label: "resnet20-train",
    model: "resnet20",
    input: [128, 3, 32, 32],
    sgd: SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        dampening: 0.0,
        weight_decay: 5e-4,
        nesterov: false,
    },
};

/// airbench94 with Nesterov momentum 0.85 at batch 512 (the recipe's 1024 costs the same per
/// image; a small rate keeps random labels from blowing the weights up). The PyTorch side is
/// `airbench94-train` in `benches/workloads_pytorch.py`.
const AIRBENCH94_TRAIN: TrainWorkload = TrainWorkload {
    label: "airbench94-train",
    model: "airbench94",
    input: [512, 3, 32, 32],
    sgd: SgdConfig {
        lr: 0.01,
        momentum: 0.85,
        dampening: 0.0,
        weight_decay: 0.0,
        nesterov: true,
    },
};

fn w4(args: &BenchArgs, backward: bool) -> anyhow::Result<()> {
    let g = Conv2dGeometry {
        n: 32,
        c_in: 64,
        c_out: 64,
        size: [56, 56],
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1],
        dilation: [1, 1],
        groups: 1,
    };
    let mut rng = seeded_rng(2);
    let input = Tensor::randn([g.input_len()], &mut rng).to_vec();
    let weight = Tensor::randn([g.weight_len()], &mut rng).to_vec();
    let grad_out = Tensor::randn([g.output_len()], &mut rng).to_vec();
    let (mut out, mut grad_in, mut grad_w) = (
        vec![0.0; g.output_len()],
        vec![0.0; g.input_len()],
        vec![0.0; g.weight_len()],
    );
    let seconds = measure(args, || {
        conv_forward(&g, &input, &weight, None, &mut out);
        if backward {
            conv_backward_input(&g, &grad_out, &weight, &mut grad_in);
            conv_backward_weight(&g, &input, &grad_out, &mut grad_w, None);
        }
        Ok(())
    })?;
    let passes = if backward { 3.0 } else { 1.0 };
    let gflop = 2.0 * g.macs() as f64 * passes / 1e9;
    report(
        if backward { "W4" } else { "W4-fwd" },
        &seconds,
        gflop,
        "GFLOP/s",
    );
    Ok(())
}

/// One 32×64×56×56 convolution layer through the kernels `conv2d` dispatches it to (direct
/// depthwise, or im2col/pointwise GEMM): `<name>-fwd` and `<name>` (3 passes), GFLOP/s.
fn conv_layer(
    args: &BenchArgs,
    name: &str,
    c_out: usize,
    k: usize,
    groups: usize,
) -> anyhow::Result<()> {
    let g = Conv2dGeometry {
        n: 32,
        c_in: 64,
        c_out,
        size: [56, 56],
        kernel: [k, k],
        stride: [1, 1],
        padding: [k / 2, k / 2],
        dilation: [1, 1],
        groups,
    };
    let depthwise = is_depthwise(&g);
    let mut rng = seeded_rng(4);
    let input = Tensor::randn([g.input_len()], &mut rng).to_vec();
    let weight = Tensor::randn([g.weight_len()], &mut rng).to_vec();
    let bias = Tensor::randn([g.c_out], &mut rng).to_vec();
    let grad_out = Tensor::randn([g.output_len()], &mut rng).to_vec();
    let (mut out, mut grad_in, mut grad_w, mut grad_b) = (
        vec![0.0; g.output_len()],
        vec![0.0; g.input_len()],
        vec![0.0; g.weight_len()],
        vec![0.0; g.c_out],
    );
    let gflop = 2.0 * g.macs() as f64 / 1e9;
    for backward in [false, true] {
        let seconds = measure(args, || {
            if depthwise {
                depthwise_forward(&g, &input, &weight, Some(&bias), &mut out);
            } else {
                conv_forward(&g, &input, &weight, Some(&bias), &mut out);
            }
            if backward && depthwise {
                depthwise_backward_input(&g, &grad_out, &weight, &mut grad_in);
                depthwise_backward_weight(&g, &input, &grad_out, &mut grad_w, Some(&mut grad_b));
            } else if backward {
                conv_backward_input(&g, &grad_out, &weight, &mut grad_in);
                conv_backward_weight(&g, &input, &grad_out, &mut grad_w, Some(&mut grad_b));
            }
            Ok(())
        })?;
        let (label, passes) = if backward {
            (name.to_string(), 3.0)
        } else {
            (format!("{name}-fwd"), 1.0)
        };
        report(&label, &seconds, gflop * passes, "GFLOP/s");
    }
    Ok(())
}

fn w5(args: &BenchArgs) -> anyhow::Result<()> {
    for n in [1024, 2048] {
        let mut rng = seeded_rng(3);
        let a = Tensor::randn([n * n], &mut rng).to_vec();
        let b = Tensor::randn([n * n], &mut rng).to_vec();
        let mut c = vec![0.0; n * n];
        let seconds = measure(args, || {
            Gemm {
                a: MatRef::new(&a, n, n),
                b: MatRef::new(&b, n, n),
                c: MatMut::new(&mut c, n, n),
                accumulate: false,
                parallel: true,
            }
            .run();
            Ok(())
        })?;
        report(
            &format!("W5-{n}"),
            &seconds,
            2.0 * (n as f64).powi(3) / 1e9,
            "GFLOP/s",
        );
    }
    Ok(())
}

/// The longest `--min-time` accepted: a typo such as 3e9 would otherwise run for a century.
const MAX_MIN_TIME: f64 = 3600.0;

/// Rejects settings that would measure nothing (a throughput of zero calls) or never end.
fn validate(args: &BenchArgs) -> anyhow::Result<()> {
    if args.iters == Some(0) {
        bail!("--iters must be at least 1: a throughput needs at least one timed call");
    }
    if args.reps == 0 {
        bail!("--reps must be at least 1: a throughput needs at least one timed repetition");
    }
    if !(args.min_time > 0.0 && args.min_time <= MAX_MIN_TIME) {
        bail!(
            "--min-time must be a number of seconds above 0 and at most {MAX_MIN_TIME}, got {}",
            args.min_time
        );
    }
    Ok(())
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    validate(&args)?;
    println!("threads: {}", rayon::current_num_threads());
    for workload in args.workloads.clone() {
        match workload {
            Workload::W1Train => train_steps(&args, &W1_TRAIN)?,
            Workload::Resnet20Train => train_steps(&args, &RESNET20_TRAIN)?,
            Workload::Airbench94Train => train_steps(&args, &AIRBENCH94_TRAIN)?,
            Workload::W1Infer => inference::run(&args, &inference::W1_INFER)?,
            Workload::W2Train => train_steps(&args, &W2_TRAIN)?,
            Workload::W2Infer => inference::run(&args, &inference::W2_INFER)?,
            Workload::W3B1 => inference::run(&args, &inference::W3_B1)?,
            Workload::W3B16 => inference::run(&args, &inference::W3_B16)?,
            Workload::W4 => w4(&args, true)?,
            Workload::W4Fwd => w4(&args, false)?,
            Workload::W5 => w5(&args)?,
            Workload::ConvDw => conv_layer(&args, "conv-dw3x3", 64, 3, 64)?,
            Workload::ConvPw => conv_layer(&args, "conv-pw1x1", 128, 1, 1)?,
            Workload::NormPool => norm_pool::run(&args)?,
        }
    }
    Ok(())
}
