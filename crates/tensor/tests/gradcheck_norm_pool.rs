//! Finite-difference gradient checks for the normalisation and pooling ops beyond batch norm and
//! plain max/avg pooling: random upstream gradients (inside `check_gradients`), odd sizes, batch 1.
use convkit_tensor::gradcheck::{check_gradients, GradCheckConfig};
use convkit_tensor::ops::adaptive_pool::{
    adaptive_avg_pool2d, adaptive_max_pool2d, adaptive_max_pool2d_with_indices, global_max_pool2d,
};
use convkit_tensor::ops::blur_pool::blur_pool2d;
use convkit_tensor::ops::pool::{channel_max_pool, max_pool2d_with_indices, Pool2dConfig};
use convkit_tensor::ops::unpool::max_unpool2d;
use convkit_tensor::{
    batch_norm, group_norm, instance_norm, layer_norm, local_response_norm, no_grad, seeded_rng,
    BatchNormConfig, InstanceNormConfig, LrnParams, Result, Tensor,
};

fn input(dims: &[usize], seed: u64) -> Tensor {
    Tensor::randn(dims, &mut seeded_rng(seed)).with_grad()
}

/// Distinct values spaced 0.05 apart in random order, so no max is within ε of a tie.
fn distinct(dims: &[usize], seed: u64) -> Tensor {
    let n: usize = dims.iter().product();
    let keys = Tensor::rand([n], &mut seeded_rng(seed)).to_vec();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
    let mut v = vec![0.0; n];
    for (rank, &i) in order.iter().enumerate() {
        v[i] = rank as f32 * 0.05 - n as f32 * 0.025;
    }
    Tensor::from_vec(v, dims).unwrap().with_grad()
}

fn check(f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor]) {
    let config = GradCheckConfig {
        max_checks_per_input: 200,
        ..GradCheckConfig::default()
    };
    check_gradients(f, inputs, &config)
        .expect("op failed")
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn group_norm_gradients() {
    for (dims, groups, seed) in [
        (&[2, 6, 3, 5][..], 3, 1),
        (&[1, 4, 7][..], 1, 2),
        (&[3, 4, 2, 3][..], 4, 3),
    ] {
        let c = dims[1];
        let (w, b) = (input(&[c], seed + 10), input(&[c], seed + 20));
        check(
            |t| group_norm(&t[0], groups, Some(&t[1]), Some(&t[2]), 1e-5),
            &[input(dims, seed), w, b],
        );
        check(
            |t| group_norm(&t[0], groups, None, None, 1e-5),
            &[input(dims, seed + 5)],
        );
    }
}

#[test]
fn layer_norm_gradients() {
    let x = input(&[3, 4, 5, 3], 4);
    let (w, b) = (input(&[5, 3], 5), input(&[5, 3], 6));
    check(
        |t| layer_norm(&t[0], &[5, 3], Some(&t[1]), Some(&t[2]), 1e-5),
        &[x, w, b],
    );
    check(
        |t| layer_norm(&t[0], &[7], None, None, 1e-5),
        &[input(&[1, 7], 7)],
    );
}

#[test]
fn instance_norm_gradients_with_and_without_running_stats() {
    let x = input(&[2, 3, 4, 5], 8);
    let (w, b) = (input(&[3], 9), input(&[3], 10));
    let config = InstanceNormConfig::default();
    check(
        |t| instance_norm(&t[0], None, None, Some(&t[1]), Some(&t[2]), config),
        &[x, w, b],
    );
    let (rm, rv) = (
        Tensor::randn([3], &mut seeded_rng(11)),
        Tensor::full([3], 1.5),
    );
    let eval = InstanceNormConfig {
        use_input_stats: false,
        ..config
    };
    check(
        |t| instance_norm(&t[0], Some(&rm), Some(&rv), None, None, eval),
        &[input(&[1, 3, 3, 3], 12)],
    );
}

#[test]
fn batch_norm_without_affine_or_running_stats() {
    check(
        |t| batch_norm(&t[0], None, None, None, None, BatchNormConfig::default()),
        &[input(&[3, 5, 2, 3], 13)],
    );
}

#[test]
fn local_response_norm_gradients() {
    // A large alpha makes the cross-channel term matter.
    for (size, dims) in [
        (5, &[2, 7, 3, 2][..]),
        (2, &[1, 4, 5][..]),
        (8, &[1, 3, 2, 2][..]),
    ] {
        let params = LrnParams {
            size,
            alpha: 0.5,
            beta: 0.75,
            k: 2.0,
        };
        check(
            |t| local_response_norm(&t[0], &params),
            &[input(dims, size as u64)],
        );
    }
}

#[test]
fn adaptive_pooling_gradients() {
    for (dims, out) in [
        (&[2, 3, 7, 7][..], (3, 3)),
        (&[1, 2, 10, 6][..], (4, 3)),
        (&[1, 1, 3, 5][..], (5, 7)),
        (&[1, 2, 5, 4][..], (1, 1)),
    ] {
        check(|t| adaptive_avg_pool2d(&t[0], out), &[input(dims, 20)]);
        check(|t| adaptive_max_pool2d(&t[0], out), &[distinct(dims, 21)]);
    }
    check(|t| global_max_pool2d(&t[0]), &[distinct(&[2, 3, 4, 5], 22)]);
}

#[test]
fn max_unpool_gradients_and_inverse_property() {
    let x = distinct(&[2, 3, 6, 7], 23);
    let config = Pool2dConfig::new((2, 2), (2, 2), (0, 0));
    let (pooled, indices) = no_grad(|| max_pool2d_with_indices(&x, &config)).unwrap();
    let unpooled = max_unpool2d(&pooled, &indices, indices.input_hw()).unwrap();
    assert_eq!(unpooled.dims(), &[2, 3, 6, 7]);
    // Each window's maximum is back in place; everything else is zero.
    let (xv, uv) = (x.to_vec(), unpooled.to_vec());
    let kept = uv.iter().filter(|&&v| v != 0.0).count();
    assert_eq!(kept, pooled.numel());
    for (a, b) in xv.iter().zip(&uv) {
        assert!(*b == 0.0 || a == b);
    }
    let p = pooled.detach().with_grad();
    check(|t| max_unpool2d(&t[0], &indices, (6, 7)), &[p]);
    // Adaptive max indices feed unpooling the same way (bins that don't overlap: no index twice).
    let (ap, ai) = adaptive_max_pool2d_with_indices(&x, (3, 7)).unwrap();
    check(
        |t| max_unpool2d(&t[0], &ai, ai.input_hw()),
        &[ap.detach().with_grad()],
    );
    assert!(max_unpool2d(&pooled, &indices, (2, 2))
        .unwrap_err()
        .to_string()
        .contains("outside"));
}

#[test]
fn blur_pool_gradients() {
    for (size, stride, pad) in [(3, 2, 1), (5, 2, 2), (2, 1, 0), (3, 1, 1)] {
        check(
            |t| blur_pool2d(&t[0], size, stride, pad),
            &[input(&[2, 3, 7, 6], 30 + size as u64)],
        );
    }
}

#[test]
fn channel_max_pool_gradients() {
    check(
        |t| channel_max_pool(&t[0], 3),
        &[distinct(&[2, 6, 3, 2], 40)],
    );
    check(|t| channel_max_pool(&t[0], 2), &[distinct(&[3, 4], 41)]);
}
