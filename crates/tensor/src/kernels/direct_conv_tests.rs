//! The direct convolution kernel against the direct-loop references, on every instruction set
//! this CPU has: scalar and AVX2 + FMA everywhere on x86-64, AVX-512 where the CPU has it (the
//! test says which ran).

use super::conv_geometry::Conv2dGeometry;
use super::direct_conv::{
    applies, direct_backward_weight, direct_forward, fills_blocks, filter_dims,
    input_gradient_geometry, uses_winograd, uses_winograd_weight_gradient,
    winograd_backward_weight, PackedFilter,
};
use super::reference::*;
use super::test_util::{assert_close, random_vec};
use crate::ops::activation::Activation;

/// The instruction sets to test: scalar, then each SIMD level this CPU supports.
fn instruction_sets() -> Vec<(&'static str, pulp::Arch)> {
    let mut sets = vec![("scalar", pulp::Arch::Scalar)];
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(v3) = pulp::x86::V3::try_new() {
            sets.push(("avx2", pulp::Arch::V3(v3)));
        }
        if let Some(v4) = pulp::x86::V4::try_new() {
            sets.push(("avx512", pulp::Arch::V4(v4)));
        } else {
            eprintln!("direct conv: this CPU has no AVX-512; its path is not tested here");
        }
    }
    sets
}

/// Geometries covering odd sizes, every padding up to the kernel, strides, dilations, channel
/// counts below, at and above a vector block, batch 1 and more.
fn geometries() -> Vec<Conv2dGeometry> {
    let mut out = Vec::new();
    for (kernel, stride, padding, dilation) in [
        ([3, 3], [1, 1], [1, 1], [1, 1]),
        ([3, 3], [2, 2], [1, 1], [1, 1]),
        ([1, 1], [2, 2], [0, 0], [1, 1]),
        ([1, 1], [1, 1], [1, 0], [1, 1]),
        ([5, 3], [1, 2], [2, 0], [1, 1]),
        ([3, 3], [1, 1], [2, 2], [2, 2]),
        ([7, 7], [2, 2], [3, 3], [1, 1]),
        ([2, 4], [3, 1], [0, 3], [2, 1]),
        ([3, 1], [1, 1], [0, 0], [1, 1]),
    ] {
        // The fourth has enough pixels per image that the weight gradient splits the batch; the
        // last, enough images that a padded forward runs image by image on up to 8 threads.
        for (n, c_in, c_out, size) in [
            (1, 1, 1, [5, 6]),
            (2, 3, 17, [9, 7]),
            (3, 20, 40, [6, 11]),
            (5, 3, 17, [23, 25]),
            (17, 5, 24, [12, 11]),
        ] {
            let g = Conv2dGeometry {
                n,
                c_in,
                c_out,
                size,
                kernel,
                stride,
                padding,
                dilation,
                groups: 1,
            };
            if g.output_len() > 0 && applies(&g) {
                out.push(g);
            }
        }
    }
    out
}

/// Tolerance for sums of `terms` products of values in [-1, 1].
fn tolerance(terms: usize) -> f32 {
    4e-6 * (terms.max(1) as f32).sqrt() * 4.0
}

#[test]
fn forward_matches_the_reference_with_bias_and_activation() {
    for (isa, arch) in instruction_sets() {
        for (i, g) in geometries().iter().enumerate() {
            let x = random_vec(g.input_len(), 3 * i as u64);
            let w = random_vec(g.weight_len(), 3 * i as u64 + 1);
            let b = random_vec(g.c_out, 3 * i as u64 + 2);
            let filter = PackedFilter::forward(&w, filter_dims(g), arch);
            for (bias, activation) in [(None, None), (Some(&b[..]), Some(Activation::Relu))] {
                let mut want = vec![0.0; g.output_len()];
                conv_reference_forward(g, &x, &w, bias, &mut want);
                if let Some(a) = activation {
                    want.iter_mut().for_each(|v| *v = a.apply(*v));
                }
                let mut got = vec![f32::NAN; g.output_len()];
                direct_forward(g, &x, &filter, bias, activation, &mut got);
                let what = format!("{isa} forward {g:?} bias {}", bias.is_some());
                assert_close(&got, &want, tolerance(g.col_rows()), 1e-4, &what);
            }
        }
    }
}

#[test]
fn input_gradient_of_stride_one_convolutions_matches_the_reference() {
    let mut tested = 0;
    for (isa, arch) in instruction_sets() {
        for (i, g) in geometries().iter().enumerate() {
            let Some(gi) = input_gradient_geometry(g) else {
                continue;
            };
            let dy = random_vec(g.output_len(), 5 * i as u64);
            let w = random_vec(g.weight_len(), 5 * i as u64 + 1);
            let mut want = vec![0.0; g.input_len()];
            conv_reference_backward_input(g, &dy, &w, &mut want);
            let mut got = vec![f32::NAN; g.input_len()];
            let filter = PackedFilter::input_gradient(&w, filter_dims(g), arch);
            direct_forward(&gi, &dy, &filter, None, None, &mut got);
            let terms = g.c_out * g.kernel[0] * g.kernel[1];
            assert_close(
                &got,
                &want,
                tolerance(terms),
                1e-4,
                &format!("{isa} dx {g:?}"),
            );
            tested += 1;
        }
    }
    assert!(
        tested >= 8,
        "only {tested} geometries had a direct input gradient"
    );
}

/// 3×3 stride-1 geometries that take F(2×2, 3×3): odd and even sizes (half-outside tiles),
/// outputs of one pixel, padding 0–2, channel counts that need two input slices and several
/// output groups, batches whose tile blocks cross images, rows of more tiles than a block, and
/// enough tiles that the weight gradient splits them between threads.
fn winograd_geometries() -> Vec<Conv2dGeometry> {
    [
        (1, 64, 64, [4, 4], 1),
        (3, 32, 40, [6, 7], 1),
        (2, 64, 65, [7, 9], 1),
        (3, 72, 80, [5, 6], 0),
        (1, 65, 64, [3, 3], 0),
        (2, 64, 64, [1, 2], 2),
        (1, 130, 150, [6, 5], 1),
        (5, 64, 72, [8, 8], 1),
        (1, 64, 64, [3, 52], 1),
        (4, 64, 67, [14, 13], 1),
    ]
    .into_iter()
    .map(|(n, c_in, c_out, size, pad)| Conv2dGeometry {
        n,
        c_in,
        c_out,
        size,
        kernel: [3, 3],
        stride: [1, 1],
        padding: [pad, pad],
        dilation: [1, 1],
        groups: 1,
    })
    .collect()
}

#[test]
fn winograd_forward_and_gradients_match_the_reference() {
    let three_threads = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .expect("a thread pool");
    for (isa, arch) in instruction_sets() {
        for (i, g) in winograd_geometries().iter().enumerate() {
            assert!(uses_winograd(g), "{g:?}");
            let x = random_vec(g.input_len(), 13 * i as u64);
            let w = random_vec(g.weight_len(), 13 * i as u64 + 1);
            let b = random_vec(g.c_out, 13 * i as u64 + 2);
            let mut want = vec![0.0; g.output_len()];
            conv_reference_forward(g, &x, &w, Some(&b), &mut want);
            want.iter_mut().for_each(|v| *v = v.max(0.0));
            let mut got = vec![f32::NAN; g.output_len()];
            let filter = PackedFilter::forward(&w, filter_dims(g), arch).with_winograd();
            direct_forward(g, &x, &filter, Some(&b), Some(Activation::Relu), &mut got);
            let what = format!("{isa} winograd forward {g:?}");
            assert_close(&got, &want, tolerance(g.col_rows()), 1e-4, &what);

            let gi = input_gradient_geometry(g).expect("stride 1");
            let dy = random_vec(g.output_len(), 13 * i as u64 + 3);
            let mut want = vec![0.0; g.input_len()];
            conv_reference_backward_input(g, &dy, &w, &mut want);
            let mut got = vec![f32::NAN; g.input_len()];
            let filter = PackedFilter::input_gradient(&w, filter_dims(g), arch).with_winograd();
            direct_forward(&gi, &dy, &filter, None, None, &mut got);
            let what = format!("{isa} winograd dx {g:?}");
            assert_close(&got, &want, tolerance(g.c_out * 9), 1e-4, &what);

            let mut want = vec![0.0; g.weight_len()];
            conv_reference_backward_weight(g, &x, &dy, &mut want, None);
            let mut got = vec![f32::NAN; g.weight_len()];
            // Three threads, so that tiles or channels split unevenly between them.
            three_threads.install(|| winograd_backward_weight(g, &x, &dy, &mut got, arch));
            let terms = g.n * g.out_size().iter().product::<usize>();
            let what = format!("{isa} winograd dw {g:?}");
            assert_close(&got, &want, tolerance(terms), 1e-4, &what);
        }
    }
}

#[test]
fn winograd_runs_only_where_it_measured_faster() {
    let conv = |c_in, c_out| Conv2dGeometry {
        n: 1,
        c_in,
        c_out,
        size: [7, 7],
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1],
        dilation: [1, 1],
        groups: 1,
    };
    assert!(!uses_winograd(&conv(16, 32)));
    assert!(!uses_winograd(&conv(32, 16)));
    assert!(uses_winograd(&conv(32, 32)));
    assert!(uses_winograd(&conv(64, 64)));
    assert!(uses_winograd(&conv(256, 256)));
    assert!(uses_winograd(&conv(256, 512)));
    assert!(!uses_winograd(&conv(512, 512)));
    // The weight gradient also needs tiles for every thread, and four of them per output row
    // unless the channels are many.
    let batch = |n, c, size| Conv2dGeometry {
        n,
        size: [size, size],
        padding: [1, 1],
        ..conv(c, c)
    };
    let threads = rayon::current_num_threads();
    assert!(uses_winograd_weight_gradient(&batch(64 * threads, 64, 32)));
    assert!(uses_winograd_weight_gradient(&batch(64 * threads, 256, 8)));
    assert!(uses_winograd_weight_gradient(&batch(128 * threads, 64, 8)));
    assert!(!uses_winograd_weight_gradient(&batch(512 * threads, 64, 4)));
    assert!(uses_winograd_weight_gradient(&batch(512 * threads, 128, 4)));
    assert!(!uses_winograd_weight_gradient(&batch(1, 64, 4)));
    assert!(!uses_winograd_weight_gradient(&batch(
        128 * threads,
        32,
        16
    )));
}

#[test]
fn weight_gradient_matches_the_reference() {
    for (isa, arch) in instruction_sets() {
        for (i, g) in geometries().iter().enumerate() {
            let x = random_vec(g.input_len(), 7 * i as u64);
            let dy = random_vec(g.output_len(), 7 * i as u64 + 1);
            let mut want = vec![0.0; g.weight_len()];
            conv_reference_backward_weight(g, &x, &dy, &mut want, None);
            let mut got = vec![f32::NAN; g.weight_len()];
            direct_backward_weight(g, &x, &dy, &mut got, arch);
            let terms = g.n * g.out_size().iter().product::<usize>();
            assert_close(
                &got,
                &want,
                tolerance(terms),
                1e-4,
                &format!("{isa} dw {g:?}"),
            );
        }
    }
}

/// A data-parallel run sums each half of the batch and adds the halves; one process sums the
/// whole batch. The weight gradient keeps those two within float noise of each other only if no
/// single chain of additions runs over the whole batch (64 images of 32×32 here).
#[test]
fn weight_gradient_of_a_batch_is_the_sum_of_its_halves() {
    let half = Conv2dGeometry {
        n: 32,
        c_in: 16,
        c_out: 16,
        size: [32, 32],
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1],
        dilation: [1, 1],
        groups: 1,
    };
    let whole = Conv2dGeometry { n: 64, ..half };
    for (isa, arch) in instruction_sets() {
        let x = random_vec(whole.input_len(), 11);
        let dy = random_vec(whole.output_len(), 12);
        let mut all = vec![0.0; whole.weight_len()];
        direct_backward_weight(&whole, &x, &dy, &mut all, arch);
        let (x0, x1) = x.split_at(half.input_len());
        let (dy0, dy1) = dy.split_at(half.output_len());
        let mut sum = vec![0.0; half.weight_len()];
        let mut part = vec![0.0; half.weight_len()];
        direct_backward_weight(&half, x0, dy0, &mut sum, arch);
        direct_backward_weight(&half, x1, dy1, &mut part, arch);
        sum.iter_mut().zip(&part).for_each(|(s, p)| *s += p);
        let scale = all.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = all
            .iter()
            .zip(&sum)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            worst <= 2e-6 * scale,
            "{isa}: whole batch vs halves differ by {worst} (largest value {scale})"
        );
    }
}

#[test]
fn a_filter_runs_with_the_instruction_set_it_was_packed_for() {
    // A filter carries the instruction set it was packed for, and the kernel uses that one.
    let g = geometries()[1];
    let w = random_vec(g.weight_len(), 1);
    let filter = PackedFilter::forward(&w, filter_dims(&g), pulp::Arch::Scalar);
    let x = random_vec(g.input_len(), 2);
    let (mut a, mut b) = (vec![0.0; g.output_len()], vec![0.0; g.output_len()]);
    direct_forward(&g, &x, &filter, None, None, &mut a);
    conv_reference_forward(&g, &x, &w, None, &mut b);
    assert_close(
        &a,
        &b,
        tolerance(g.col_rows()),
        1e-4,
        "scalar-packed filter",
    );
}

#[test]
fn channel_counts_that_leave_most_lanes_idle_go_to_the_gemm_path() {
    for (isa, arch) in instruction_sets() {
        let width = 2 * match isa {
            "scalar" => 1,
            "avx2" => 8,
            _ => 16,
        };
        assert!(fills_blocks(width, arch), "{isa}: a full block");
        assert!(fills_blocks(4 * width, arch), "{isa}: four full blocks");
        assert!(
            !fills_blocks(width + 1, arch) || width == 2,
            "{isa}: one lane of a second block"
        );
        assert_eq!(
            fills_blocks(6, arch),
            width <= 8,
            "{isa}: LeNet's 6 channels"
        );
    }
}

/// Data-parallel training needs each image's output to be the same whatever else is in its batch:
/// the direct and Winograd kernels' tiles and blocks cross images, so this is checked bit for bit.
#[test]
fn an_image_gives_the_same_output_in_any_batch() {
    for (isa, arch) in instruction_sets() {
        for (i, whole) in geometries()
            .into_iter()
            .chain(winograd_geometries())
            .filter(|g| g.n > 1)
            .enumerate()
        {
            let one = Conv2dGeometry { n: 1, ..whole };
            let x = random_vec(whole.input_len(), 17 * i as u64);
            let w = random_vec(whole.weight_len(), 17 * i as u64 + 1);
            let filter = PackedFilter::forward(&w, filter_dims(&whole), arch).with_winograd();
            let mut batch = vec![0.0; whole.output_len()];
            direct_forward(&whole, &x, &filter, None, None, &mut batch);
            for (img, (x, want)) in x
                .chunks(one.input_len())
                .zip(batch.chunks(one.output_len()))
                .enumerate()
            {
                let mut alone = vec![0.0; one.output_len()];
                direct_forward(&one, x, &filter, None, None, &mut alone);
                let same = alone
                    .iter()
                    .zip(want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{isa}: image {img} of {whole:?} differs alone");
            }
        }
    }
}
