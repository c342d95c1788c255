//! Throughput benchmark of the convolution kernels (an `#[ignore]`d test, so it never times
//! anything in the default suite). Run with:
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo test --release -p convkit-tensor kernels::bench -- --ignored --nocapture
//! ```
//!
//! `CONVKIT_TILE_FLOATS=<n>` overrides the im2col band budget (see `conv::set_tile_floats`).

use super::conv::*;
use super::conv_geometry::Conv2dGeometry;
use super::test_util::random_vec;
use std::time::{Duration, Instant};

/// Seconds per call of `f`: the median over calls filling about `budget` (or the minimum, with
/// `CONVKIT_BENCH_MIN=1`, which is steadier on a machine shared with other work).
fn time(mut f: impl FnMut(), budget: Duration) -> f64 {
    f();
    f();
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget || samples.len() < 5 {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64());
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    if std::env::var("CONVKIT_BENCH_MIN").is_ok_and(|v| v == "1") {
        samples[0]
    } else {
        samples[samples.len() / 2]
    }
}

fn bench(name: &str, g: &Conv2dGeometry, budget: Duration) -> f64 {
    let x = random_vec(g.input_len(), 1);
    let w = random_vec(g.weight_len(), 2);
    let b = random_vec(g.c_out, 3);
    let dy = random_vec(g.output_len(), 4);
    let (mut y, mut dx) = (vec![0.0; g.output_len()], vec![0.0; g.input_len()]);
    let (mut dw, mut db) = (vec![0.0; g.weight_len()], vec![0.0; g.c_out]);
    let flop = 2.0 * g.macs() as f64;
    let tf = time(|| conv_forward(g, &x, &w, Some(&b), &mut y), budget);
    let td = time(|| conv_backward_input(g, &dy, &w, &mut dx), budget);
    let tw = time(
        || conv_backward_weight(g, &x, &dy, &mut dw, Some(&mut db)),
        budget,
    );
    let gf = |t: f64| flop / t / 1e9;
    println!(
        "{name:<34} fwd {:7.1} GFLOP/s ({:8.3} ms)  dgrad {:7.1} ({:8.3} ms)  wgrad {:7.1} ({:8.3} ms)  all3 {:7.1} GFLOP/s",
        gf(tf),
        tf * 1e3,
        gf(td),
        td * 1e3,
        gf(tw),
        tw * 1e3,
        3.0 * flop / (tf + td + tw) / 1e9
    );
    tf + td + tw
}

#[test]
#[ignore = "benchmark; run with --ignored --nocapture"]
fn conv_throughput() {
    if let Some(t) = std::env::var("CONVKIT_TILE_FLOATS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        set_tile_floats(t);
    }
    println!(
        "rayon threads: {}, band budget: {} floats",
        rayon::current_num_threads(),
        tile_floats()
    );
    let conv = |n, c_in, c_out, hw, k, p| Conv2dGeometry {
        n,
        c_in,
        c_out,
        size: [hw, hw],
        kernel: [k, k],
        stride: [1, 1],
        padding: [p, p],
        dilation: [1, 1],
        groups: 1,
    };
    let w4 = conv(32, 64, 64, 56, 3, 1);
    println!("W4 {:.3} GFLOP per pass", 2.0 * w4.macs() as f64 / 1e9);
    bench("W4 32x64x56x56 ->64 k3 p1", &w4, Duration::from_secs(3));
    let t1 = bench(
        "LeNet conv1 64x1x28x28 ->20 k5 p2",
        &conv(64, 1, 20, 28, 5, 2),
        Duration::from_secs(1),
    );
    let t2 = bench(
        "LeNet conv2 64x20x14x14 ->50 k5 p2",
        &conv(64, 20, 50, 14, 5, 2),
        Duration::from_secs(1),
    );
    println!(
        "LeNet both convs, fwd+dgrad+wgrad at batch 64: {:.3} ms",
        (t1 + t2) * 1e3
    );
    bench(
        "ResNet 64x64x32x32 ->64 k3 p1",
        &conv(64, 64, 64, 32, 3, 1),
        Duration::from_secs(1),
    );
    for (c, hw) in [(16, 32), (32, 16), (64, 8)] {
        bench(
            &format!("ResNet-20 128x{c}x{hw}x{hw} ->{c} k3 p1"),
            &conv(128, c, c, hw, 3, 1),
            Duration::from_secs(1),
        );
    }
    bench(
        "1x1 64x256x14x14 ->64",
        &conv(64, 256, 64, 14, 1, 0),
        Duration::from_secs(1),
    );
    bench(
        "batch1 1x64x56x56 ->64 k3 p1",
        &conv(1, 64, 64, 56, 3, 1),
        Duration::from_secs(1),
    );
}

#[test]
#[ignore = "benchmark; run with --ignored --nocapture"]
fn im2col_throughput() {
    use super::im2col::{col2im, im2col};
    for (name, c, hw, k, p) in [
        ("LeNet conv2", 20, 14, 5, 2),
        ("W4", 64, 56, 3, 1),
        ("LeNet conv1", 1, 28, 5, 2),
    ] {
        let g = Conv2dGeometry {
            n: 1,
            c_in: c,
            c_out: 1,
            size: [hw, hw],
            kernel: [k, k],
            stride: [1, 1],
            padding: [p, p],
            dilation: [1, 1],
            groups: 1,
        };
        let x = random_vec(c * hw * hw, 1);
        let mut col = vec![0.0; g.col_rows() * g.out_size().iter().product::<usize>()];
        let t = time(|| im2col(&g, &x, &mut col), Duration::from_millis(500));
        let mut gx = vec![0.0; x.len()];
        let t2 = time(|| col2im(&g, &mut col, &mut gx), Duration::from_millis(500));
        let gb = col.len() as f64 * 4.0 / 1e9;
        println!(
            "{name:<12} im2col {:8.1} us/img ({:5.1} GB/s written)  col2im {:8.1} us/img",
            t * 1e6,
            gb / t,
            t2 * 1e6
        );
    }
}

/// Forward and weight-gradient time of Winograd's F(2×2, 3×3) against the direct tile on ResNet's
/// 3×3 layers (best of three alternating runs), which set `winograd/`'s limits: the transformed
/// filter's size (512 → 512 channels, now over it, measured 1.03–1.66× the direct tile's time)
/// and where the weight gradient takes it.
#[test]
#[ignore = "benchmark; run with --ignored --nocapture"]
fn winograd_against_the_direct_tile() {
    use super::direct_conv::{
        direct_backward_weight, direct_forward, filter_dims, uses_winograd,
        winograd_backward_weight, PackedFilter,
    };
    for (c, hw, n) in [
        (64, 56, 1),
        (128, 28, 1),
        (256, 14, 1),
        (512, 7, 1),
        (256, 14, 16),
        (512, 7, 16),
        (16, 32, 128),
        (32, 16, 128),
        (64, 8, 128),
        (64, 32, 64),
        (128, 16, 64),
        (256, 8, 64),
        (512, 4, 64),
    ] {
        let g = Conv2dGeometry {
            n,
            c_in: c,
            c_out: c,
            size: [hw, hw],
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
            dilation: [1, 1],
            groups: 1,
        };
        if !uses_winograd(&g) {
            println!("{c}ch: too few channels or too large a filter for Winograd, direct only");
            continue;
        }
        let x = random_vec(g.input_len(), 1);
        let w = random_vec(g.weight_len(), 2);
        let mut y = vec![0.0; g.output_len()];
        let d = PackedFilter::forward(&w, filter_dims(&g), pulp::Arch::new());
        let wf = PackedFilter::forward(&w, filter_dims(&g), pulp::Arch::new()).with_winograd();
        let (dy, mut dw) = (random_vec(g.output_len(), 3), vec![0.0; g.weight_len()]);
        let arch = pulp::Arch::new();
        let mut best = [f64::MAX; 4];
        for _ in 0..3 {
            for (k, b) in best.iter_mut().enumerate() {
                let mut run = || match k {
                    0 => direct_forward(&g, &x, &d, None, None, &mut y),
                    1 => direct_forward(&g, &x, &wf, None, None, &mut y),
                    2 => direct_backward_weight(&g, &x, &dy, &mut dw, arch),
                    _ => winograd_backward_weight(&g, &x, &dy, &mut dw, arch),
                };
                *b = b.min(time(&mut run, Duration::from_millis(300)));
            }
        }
        let [fd, fw, wd, ww] = best.map(|t| t * 1e3);
        println!(
            "{c}ch {hw}x{hw} n{n}: forward direct {fd:.3} ms winograd {fw:.3} ms ratio {:.2}; \
             weight gradient direct {wd:.3} ms winograd {ww:.3} ms ratio {:.2}",
            fw / fd,
            ww / wd
        );
    }
}
