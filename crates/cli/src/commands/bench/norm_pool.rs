//! Normalisation and pooling workloads: forward + backward of each op on a ResNet-stage-sized
//! batch (64×64×56×56), the loss `sum(y · g)` with a fixed random `g`, as the PyTorch script
//! `benches/norm_pool_pytorch.py` times `(y * g).sum().backward()`. The `baseline_loss_only`
//! workload times that loss alone, to be subtracted from the others.
use super::{measure, report, BenchArgs};
use convkit_tensor::ops::adaptive_pool::{adaptive_avg_pool2d, adaptive_max_pool2d};
use convkit_tensor::ops::pool::{avg_pool2d, max_pool2d, Pool2dConfig};
use convkit_tensor::{
    batch_norm, group_norm, instance_norm, layer_norm, local_response_norm, seeded_rng,
    BatchNormConfig, InstanceNormConfig, LrnParams, Result, Tensor,
};

const DIMS: [usize; 4] = [64, 64, 56, 56];

type OpFn = Box<dyn Fn(&Tensor, &Tensor, &Tensor) -> Result<Tensor>>;

/// (name, op on (x, weight, bias)) for every workload.
fn workloads() -> Vec<(&'static str, OpFn)> {
    let c = DIMS[1];
    let op = |name, f: OpFn| (name, f);
    vec![
        // The loss alone (y = x): subtract its time from the others to get the op's own.
        op("baseline_loss_only", Box::new(|x, _, _| Ok(x.clone()))),
        op(
            "batch_norm2d",
            Box::new(move |x, w, b| {
                let (rm, rv) = (Tensor::zeros([c]), Tensor::ones([c]));
                batch_norm(
                    x,
                    Some(&rm),
                    Some(&rv),
                    Some(w),
                    Some(b),
                    BatchNormConfig::default(),
                )
            }),
        ),
        op(
            "layer_norm_chw",
            Box::new(|x, _, _| layer_norm(x, &DIMS[1..], None, None, 1e-5)),
        ),
        op(
            "group_norm_g32",
            Box::new(|x, w, b| group_norm(x, 32, Some(w), Some(b), 1e-5)),
        ),
        op(
            "instance_norm2d",
            Box::new(|x, w, b| {
                instance_norm(
                    x,
                    None,
                    None,
                    Some(w),
                    Some(b),
                    InstanceNormConfig::default(),
                )
            }),
        ),
        op(
            "lrn_size5",
            Box::new(|x, _, _| {
                local_response_norm(
                    x,
                    &LrnParams {
                        k: 2.0,
                        ..LrnParams::default()
                    },
                )
            }),
        ),
        op(
            "max_pool_k3s2p1",
            Box::new(|x, _, _| max_pool2d(x, &Pool2dConfig::new((3, 3), (2, 2), (1, 1)))),
        ),
        op(
            "avg_pool_k2s2",
            Box::new(|x, _, _| avg_pool2d(x, &Pool2dConfig::square(2))),
        ),
        op(
            "adaptive_avg_7x7",
            Box::new(|x, _, _| adaptive_avg_pool2d(x, (7, 7))),
        ),
        op(
            "adaptive_max_7x7",
            Box::new(|x, _, _| adaptive_max_pool2d(x, (7, 7))),
        ),
    ]
}

pub(super) fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let mut rng = seeded_rng(4);
    let x = Tensor::randn(DIMS, &mut rng).with_grad();
    let w = Tensor::randn([DIMS[1]], &mut rng).with_grad();
    let b = Tensor::randn([DIMS[1]], &mut rng).with_grad();
    for (name, op) in workloads() {
        let g = op(&x, &w, &b)?.detach();
        let g = Tensor::randn(g.dims(), &mut rng);
        let seconds = measure(args, || {
            for t in [&x, &w, &b] {
                t.zero_grad();
            }
            op(&x, &w, &b)?.mul(&g)?.sum().backward()?;
            Ok(())
        })?;
        report(&format!("{name}-fwd-bwd"), &seconds, 1.0, "it/s");
    }
    Ok(())
}
