//! The pooling kernels against the direct-loop references.

use super::pool::*;
use super::reference::*;
use super::test_util::{assert_close, random_vec};

#[allow(clippy::too_many_arguments)]
fn pg(
    n: usize,
    c: usize,
    (h, w): (usize, usize),
    (kh, kw): (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    ceil_mode: bool,
) -> Pool2dGeometry {
    Pool2dGeometry {
        n,
        c,
        h,
        w,
        kh,
        kw,
        stride,
        padding,
        dilation,
        ceil_mode,
    }
}

fn geoms() -> Vec<Pool2dGeometry> {
    let mut v = Vec::new();
    for &hw in &[(1, 1), (4, 4), (7, 5), (9, 10)] {
        for &k in &[(1, 1), (2, 2), (3, 3), (3, 2)] {
            for &s in &[(1, 1), (2, 2), (3, 2)] {
                for &p in &[(0, 0), (1, 1), (1, 0)] {
                    for &d in &[(1, 1), (2, 2)] {
                        for ceil in [false, true] {
                            let g = pg(2, 3, hw, k, s, p, d, ceil);
                            // PyTorch's validity rule: padding <= kernel / 2.
                            if p.0 * 2 <= k.0 && p.1 * 2 <= k.1 && g.out_h() > 0 && g.out_w() > 0 {
                                v.push(g);
                            }
                        }
                    }
                }
            }
        }
    }
    v
}

#[test]
fn course_example_max_pool() {
    let x = [
        1., 1., 2., 4., 5., 6., 7., 8., 3., 2., 1., 0., 1., 2., 3., 4.,
    ];
    let g = pg(1, 1, (4, 4), (2, 2), (2, 2), (0, 0), (1, 1), false);
    let (mut y, mut idx) = (vec![0.0; 4], vec![0u32; 4]);
    max_pool2d_forward(&g, &x, &mut y, &mut idx);
    assert_eq!(y, vec![6., 8., 3., 4.]);
    assert_eq!(idx, vec![5, 7, 8, 15]);
    let mut gx = vec![f32::NAN; 16];
    max_pool2d_backward(&g, &[1., 2., 3., 4.], &idx, &mut gx);
    let mut expect = vec![0.0; 16];
    (expect[5], expect[7], expect[8], expect[15]) = (1., 2., 3., 4.);
    assert_eq!(gx, expect);
}

#[test]
fn ceil_mode_output_sizes() {
    // PyTorch: MaxPool2d(2, 2, ceil_mode=True) on 5x5 -> 3x3; (3, 2, pad 1, ceil) on 6 -> 4.
    assert_eq!(
        pg(1, 1, (5, 5), (2, 2), (2, 2), (0, 0), (1, 1), true).out_h(),
        3
    );
    assert_eq!(
        pg(1, 1, (5, 5), (2, 2), (2, 2), (0, 0), (1, 1), false).out_h(),
        2
    );
    assert_eq!(
        pg(1, 1, (6, 6), (3, 3), (2, 2), (1, 1), (1, 1), true).out_h(),
        4
    );
    // The last window would start in the right padding: dropped (out 3, not 4).
    assert_eq!(
        pg(1, 1, (5, 5), (2, 2), (2, 2), (1, 1), (1, 1), true).out_h(),
        3
    );
}

#[test]
fn max_pool_matches_reference() {
    for g in geoms() {
        let x = random_vec(g.input_len(), 11);
        let (mut y, mut idx) = (vec![0.0; g.output_len()], vec![0u32; g.output_len()]);
        let (mut ry, mut ridx) = (y.clone(), idx.clone());
        max_pool2d_forward(&g, &x, &mut y, &mut idx);
        max_pool2d_reference(&g, &x, &mut ry, &mut ridx);
        assert_eq!(y, ry, "{g:?}");
        assert_eq!(idx, ridx, "{g:?}");
        // Backward: scatter by index equals the reference scatter.
        let go = random_vec(g.output_len(), 12);
        let mut gx = vec![f32::NAN; g.input_len()];
        max_pool2d_backward(&g, &go, &idx, &mut gx);
        let mut rx = vec![0.0f64; g.input_len()];
        let (hw, op) = (g.h * g.w, g.out_h() * g.out_w());
        // u32::MAX marks a window with no real cell (possible with dilation + ceil mode).
        for (o, &i) in ridx.iter().enumerate().filter(|(_, &i)| i != u32::MAX) {
            rx[(o / op) * hw + i as usize] += go[o] as f64;
        }
        let rx: Vec<f32> = rx.iter().map(|&v| v as f32).collect();
        assert_close(&gx, &rx, 1e-6, 1e-6, &format!("{g:?}"));
    }
}

#[test]
fn max_pool_ties_nan_and_negative() {
    // Ties: first in window order; all-negative windows never pick the padding.
    let g = pg(1, 1, (2, 2), (3, 3), (1, 1), (1, 1), (1, 1), false);
    let x = [-5.0, -5.0, -7.0, -5.0];
    let (mut y, mut idx) = (vec![0.0; 4], vec![0u32; 4]);
    max_pool2d_forward(&g, &x, &mut y, &mut idx);
    assert_eq!(y, vec![-5.0; 4]);
    assert_eq!(idx, vec![0, 0, 0, 0]);
    let x = [1.0, f32::NAN, 3.0, 2.0];
    max_pool2d_forward(&g, &x, &mut y, &mut idx);
    assert!(y.iter().all(|v| v.is_nan()));
    assert_eq!(idx, vec![1; 4]);
}

#[test]
fn max_pool_2x2_fast_path_ties_nan_and_values_only() {
    // ReLU-like input: many exact zeros (ties keep the first cell in window order) and NaNs
    // (the last NaN of a window wins, as in the reference and PyTorch).
    // Rows of 4 windows (scalar), 14 (a vector of 8, then one overlapping it) and 17 (odd width).
    for size in [(6, 8), (6, 28), (4, 35)] {
        let g = pg(2, 3, size, (2, 2), (2, 2), (0, 0), (1, 1), false);
        let mut x = random_vec(g.input_len(), 21);
        x.iter_mut().for_each(|v| *v = v.max(0.0));
        for (k, i) in [9, 10, 17, 50, 71, 72, 100].into_iter().enumerate() {
            x[i] = f32::from_bits(f32::NAN.to_bits() + k as u32);
        }
        let (mut y, mut idx) = (vec![0.0; g.output_len()], vec![0u32; g.output_len()]);
        let (mut ry, mut ridx) = (y.clone(), idx.clone());
        max_pool2d_forward(&g, &x, &mut y, &mut idx);
        max_pool2d_reference(&g, &x, &mut ry, &mut ridx);
        assert_eq!(idx, ridx, "{size:?}");
        assert_eq!(bits(&y), bits(&ry), "{size:?}");
    }
    // The values-only kernel agrees on every geometry (the no-grad path).
    for g in geoms() {
        let x = random_vec(g.input_len(), 22);
        let (mut y, mut idx) = (vec![0.0; g.output_len()], vec![0u32; g.output_len()]);
        max_pool2d_forward(&g, &x, &mut y, &mut idx);
        let mut v = vec![f32::NAN; g.output_len()];
        max_pool2d_forward_values(&g, &x, &mut v);
        assert_eq!(v, y, "{g:?}");
    }
}

/// Bit patterns, so that NaNs compare equal to themselves and their payloads count.
fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// A xorshift stream of small integers for drawing random geometries.
fn draws(seed: u64) -> impl FnMut(usize) -> usize {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move |n| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 33) as usize % n
    }
}

/// Input with many ties (values on a coarse grid), −∞ cells and NaNs with distinct payloads (so
/// that the chosen NaN is checked, not just NaN-ness).
fn tricky_input(len: usize, seed: u64) -> Vec<f32> {
    let mut draw = draws(seed);
    random_vec(len, seed)
        .into_iter()
        .map(|v| match draw(40) {
            0 => f32::from_bits(0x7fc0_0000 | draw(1 << 20) as u32),
            1 | 2 => f32::NEG_INFINITY,
            _ => (v * 3.0).round(),
        })
        .collect()
}

/// A random valid geometry: kernel 1–5, stride 1–3, padding up to kernel / 2, dilation up to
/// `max_dilation`, ceil mode or not, odd and tiny sizes; `None` when no window fits.
fn random_geometry(
    draw: &mut impl FnMut(usize) -> usize,
    max_dilation: usize,
) -> Option<Pool2dGeometry> {
    let (kh, kw) = (1 + draw(5), 1 + draw(5));
    let g = pg(
        1 + draw(2),
        1 + draw(3),
        (1 + draw(14), 1 + draw(14)),
        (kh, kw),
        (1 + draw(3), 1 + draw(3)),
        (draw(kh / 2 + 1), draw(kw / 2 + 1)),
        (1 + draw(max_dilation), 1 + draw(max_dilation)),
        draw(2) == 1,
    );
    (g.out_h() > 0 && g.out_w() > 0).then_some(g)
}

/// Both max-pool kernels (with and without indices) equal the reference bit for bit.
#[track_caller]
fn assert_max_pool_matches_reference(g: &Pool2dGeometry, x: &[f32]) {
    let (mut y, mut idx) = (vec![0.0; g.output_len()], vec![0u32; g.output_len()]);
    let (mut ry, mut ridx) = (y.clone(), idx.clone());
    max_pool2d_forward(g, x, &mut y, &mut idx);
    max_pool2d_reference(g, x, &mut ry, &mut ridx);
    assert_eq!(bits(&y), bits(&ry), "values {g:?}");
    assert_eq!(idx, ridx, "indices {g:?}");
    let mut v = vec![0.0; g.output_len()];
    max_pool2d_forward_values(g, x, &mut v);
    assert_eq!(bits(&v), bits(&ry), "values only {g:?}");
}

#[test]
fn max_pool_random_geometries_match_reference() {
    let mut draw = draws(41);
    let geometries: Vec<_> = (0..600)
        .filter_map(|_| random_geometry(&mut draw, 2))
        .collect();
    assert!(
        geometries.len() > 300,
        "only {} valid geometries",
        geometries.len()
    );
    for (case, g) in geometries.iter().enumerate() {
        assert_max_pool_matches_reference(g, &tricky_input(g.input_len(), case as u64));
    }
}

#[test]
fn max_pool_large_planes_split_into_bands_agree() {
    // Batch 1 with few large planes: several bands per plane run as separate jobs.
    for g in [
        pg(1, 2, (203, 150), (3, 3), (2, 2), (1, 1), (1, 1), false),
        pg(1, 1, (120, 301), (2, 2), (2, 2), (1, 0), (1, 1), true),
        pg(1, 3, (90, 97), (5, 3), (1, 3), (2, 1), (2, 1), true),
    ] {
        assert_max_pool_matches_reference(&g, &tricky_input(g.input_len(), 43));
    }
}

#[test]
fn max_pool_all_negative_infinity_picks_first_cell() {
    // Every window all −∞: the value is −∞ and the index the window's first real cell, on the
    // inner (vectorised), 2×2 and clipped border paths alike.
    for g in [
        pg(1, 1, (6, 7), (3, 3), (2, 2), (1, 1), (1, 1), false),
        pg(1, 1, (6, 8), (2, 2), (2, 2), (0, 0), (1, 1), false),
        pg(1, 1, (7, 9), (3, 2), (1, 2), (1, 1), (2, 1), true),
    ] {
        let x = vec![f32::NEG_INFINITY; g.input_len()];
        let (mut y, mut idx) = (vec![0.0; g.output_len()], vec![0u32; g.output_len()]);
        let (mut ry, mut ridx) = (y.clone(), idx.clone());
        max_pool2d_forward(&g, &x, &mut y, &mut idx);
        max_pool2d_reference(&g, &x, &mut ry, &mut ridx);
        assert!(y.iter().all(|&v| v == f32::NEG_INFINITY), "{g:?}");
        assert_eq!(idx, ridx, "{g:?}");
    }
}

#[test]
fn avg_pool_matches_reference() {
    for g in geoms().into_iter().filter(|g| g.dilation == (1, 1)) {
        for cip in [true, false] {
            let x = random_vec(g.input_len(), 13);
            let (mut y, mut r) = (vec![f32::NAN; g.output_len()], vec![0.0; g.output_len()]);
            avg_pool2d_forward(&g, cip, &x, &mut y);
            avg_pool2d_reference(&g, cip, &x, &mut r);
            assert_close(&y, &r, 1e-6, 1e-5, &format!("fwd {cip} {g:?}"));
            let go = random_vec(g.output_len(), 14);
            let (mut gx, mut rx) = (vec![f32::NAN; g.input_len()], vec![0.0; g.input_len()]);
            avg_pool2d_backward(&g, cip, &go, &mut gx);
            avg_pool2d_backward_reference(&g, cip, &go, &mut rx);
            assert_close(&gx, &rx, 1e-6, 1e-5, &format!("bwd {cip} {g:?}"));
        }
    }
}

#[test]
fn avg_pool_random_geometries_match_reference() {
    // Inner windows (one tap across the row at a time) next to border windows clipped by
    // padding or ceil mode.
    let mut draw = draws(47);
    for case in 0..300 {
        let Some(g) = random_geometry(&mut draw, 1) else {
            continue;
        };
        let cip = draw(2) == 1;
        let x = random_vec(g.input_len(), case);
        let (mut y, mut r) = (vec![f32::NAN; g.output_len()], vec![0.0; g.output_len()]);
        avg_pool2d_forward(&g, cip, &x, &mut y);
        avg_pool2d_reference(&g, cip, &x, &mut r);
        assert_close(&y, &r, 1e-6, 1e-5, &format!("fwd {cip} {g:?}"));
        let go = random_vec(g.output_len(), case + 1000);
        let (mut gx, mut rx) = (vec![f32::NAN; g.input_len()], vec![0.0; g.input_len()]);
        avg_pool2d_backward(&g, cip, &go, &mut gx);
        avg_pool2d_backward_reference(&g, cip, &go, &mut rx);
        assert_close(&gx, &rx, 1e-6, 1e-5, &format!("bwd {cip} {g:?}"));
    }
}

#[test]
fn avg_pool_count_include_pad_example() {
    // 2x2 of ones, kernel 3, pad 1: corner windows hold 4 real cells of 9.
    let g = pg(1, 1, (2, 2), (3, 3), (1, 1), (1, 1), (1, 1), false);
    let mut y = vec![0.0; 4];
    avg_pool2d_forward(&g, true, &[1.0; 4], &mut y);
    assert_close(&y, &[4.0 / 9.0; 4], 1e-7, 0.0, "include pad");
    avg_pool2d_forward(&g, false, &[1.0; 4], &mut y);
    assert_close(&y, &[1.0; 4], 1e-7, 0.0, "exclude pad");
}

#[test]
fn large_calls_run_in_parallel_and_agree() {
    let g = pg(8, 16, (32, 32), (3, 3), (2, 2), (1, 1), (1, 1), true);
    let x = random_vec(g.input_len(), 15);
    let (mut y, mut idx) = (vec![0.0; g.output_len()], vec![0u32; g.output_len()]);
    let (mut ry, mut ridx) = (y.clone(), idx.clone());
    max_pool2d_forward(&g, &x, &mut y, &mut idx);
    max_pool2d_reference(&g, &x, &mut ry, &mut ridx);
    assert_eq!((y, idx), (ry, ridx));
    let (mut a, mut r) = (vec![0.0; g.output_len()], vec![0.0; g.output_len()]);
    avg_pool2d_forward(&g, true, &x, &mut a);
    avg_pool2d_reference(&g, true, &x, &mut r);
    assert_close(&a, &r, 1e-6, 1e-5, "avg large");
}

#[test]
fn global_avg_pool() {
    for (planes, hw) in [(1, 1), (3, 7), (64, 49), (512, 64)] {
        let x = random_vec(planes * hw, 16);
        let mut y = vec![f32::NAN; planes];
        global_avg_pool2d_forward(planes, hw, &x, &mut y);
        let r: Vec<f32> = x
            .chunks(hw)
            .map(|p| (p.iter().map(|&v| v as f64).sum::<f64>() / hw as f64) as f32)
            .collect();
        assert_close(&y, &r, 1e-6, 1e-5, "gap fwd");
        let go = random_vec(planes, 17);
        let mut gx = vec![f32::NAN; planes * hw];
        global_avg_pool2d_backward(planes, hw, &go, &mut gx);
        for (p, chunk) in gx.chunks(hw).enumerate() {
            assert!(chunk.iter().all(|&v| (v - go[p] / hw as f32).abs() < 1e-7));
        }
    }
}

/// Milliseconds per call of the pooling kernels on CNN-sized geometries: an `#[ignore]`d test
/// (timings are never asserted). Run with
/// `RAYON_NUM_THREADS=2 cargo test --release -p convkit-tensor pool_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn pool_throughput() {
    use std::time::{Duration, Instant};
    // The fastest call: steadier than the median on a machine shared with other work.
    let min_ms = |f: &mut dyn FnMut()| {
        f();
        let (start, mut samples) = (Instant::now(), Vec::new());
        while start.elapsed() < Duration::from_millis(500) || samples.len() < 5 {
            let t = Instant::now();
            f();
            samples.push(t.elapsed().as_secs_f64() * 1e3);
        }
        samples.into_iter().fold(f64::INFINITY, f64::min)
    };
    let cases = [
        (
            "resnet stem k3s2p1 1x64x112",
            pg(1, 64, (112, 112), (3, 3), (2, 2), (1, 1), (1, 1), false),
        ),
        (
            "norm-pool k3s2p1 64x64x56",
            pg(64, 64, (56, 56), (3, 3), (2, 2), (1, 1), (1, 1), false),
        ),
        (
            "vgg k2s2 1x64x224",
            pg(1, 64, (224, 224), (2, 2), (2, 2), (0, 0), (1, 1), false),
        ),
        (
            "shortcut k1s2 8x64x56",
            pg(8, 64, (56, 56), (1, 1), (2, 2), (0, 0), (1, 1), false),
        ),
        (
            "k3s1p1 1x64x56",
            pg(1, 64, (56, 56), (3, 3), (1, 1), (1, 1), (1, 1), false),
        ),
        (
            "k3s2p1 ceil dil2 1x64x112",
            pg(1, 64, (112, 112), (3, 3), (2, 2), (1, 1), (2, 2), true),
        ),
        (
            "one plane k3s2p1 1x1x1024",
            pg(1, 1, (1024, 1024), (3, 3), (2, 2), (1, 1), (1, 1), false),
        ),
    ];
    for (name, g) in cases {
        let x = random_vec(g.input_len(), 31);
        let go = random_vec(g.output_len(), 32);
        let (mut y, mut idx) = (vec![0.0; g.output_len()], vec![0u32; g.output_len()]);
        let mut gx = vec![0.0; g.input_len()];
        let values = min_ms(&mut || max_pool2d_forward_values(&g, &x, &mut y));
        let indexed = min_ms(&mut || max_pool2d_forward(&g, &x, &mut y, &mut idx));
        let backward = min_ms(&mut || max_pool2d_backward(&g, &go, &idx, &mut gx));
        let (avg_fwd, avg_bwd) = if g.dilation == (1, 1) {
            (
                min_ms(&mut || avg_pool2d_forward(&g, true, &x, &mut y)),
                min_ms(&mut || avg_pool2d_backward(&g, true, &go, &mut gx)),
            )
        } else {
            (f64::NAN, f64::NAN)
        };
        println!(
            "{name:<28} max values {values:7.3} ms  indices {indexed:7.3}  backward {backward:7.3}  avg fwd {avg_fwd:7.3}  bwd {avg_bwd:7.3}"
        );
    }
}
