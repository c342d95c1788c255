//! Direct 2-D convolution (dense, `groups == 1`): output pixels × output channels are accumulated
//! in registers straight from the input (`tile.rs`), with no column matrix, for any kernel size,
//! stride, padding and dilation. The input gradient of a stride-1 convolution is the same kernel
//! run on the output gradient with the packed filter transposed and flipped
//! ([`PackedFilter::input_gradient`]).
//!
//! Layout stays NCHW. A padded copy of the input (zero borders) makes every tap of every pixel a
//! plain offset, so pixels of a tile may sit anywhere — across rows or images. Pixels of the whole
//! batch are cut into blocks, and output channels into groups when there are too few blocks to
//! keep every thread busy (batch 1), so both cores work at any batch size. A job accumulates its
//! block in a pixel-major buffer over input-channel slices sized for the cache, then writes it out
//! channel-major with the bias and the activation applied (the fused epilogue).
//!
//! 3×3 convolutions at stride 1 with enough channels (forward, input and weight gradient) take
//! Winograd's F(2×2, 3×3) instead (`winograd/`): 16 multiplications per 2×2 output tile and
//! channel pair instead of 36, run on the same register tile and epilogue.

mod epilogue;
mod filter;
mod forward;
mod padded;
mod tile;
mod weight_gradient;
mod winograd;

pub use filter::PackedFilter;
pub use weight_gradient::direct_backward_weight;
pub use winograd::winograd_backward_weight;

use super::conv_geometry::Conv2dGeometry;
use super::with_scratch;
use crate::ops::activation::Activation;
use forward::Plan;
use padded::padded;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Whether the direct kernel runs `g`: a dense 2-D convolution with a non-trivial window (unit
/// kernels with stride 1 and no padding are plain GEMMs on the input).
pub fn applies(g: &Conv2dGeometry) -> bool {
    g.groups == 1 && !g.is_pointwise() && g.output_len() > 0 && g.c_in > 0
}

/// Whether `channels` output channels fill at least three quarters of the lanes of the kernel's
/// channel blocks under `arch`: with fewer (LeNet's 6) most of each tile would be padding, and
/// im2col + GEMM is faster.
pub fn fills_blocks(channels: usize, arch: pulp::Arch) -> bool {
    let width = 2 * tile::lanes(arch);
    4 * channels >= 3 * channels.div_ceil(width) * width
}

/// Whether [`direct_forward`] runs `g` by Winograd's F(2×2, 3×3) (3×3, stride 1, no dilation,
/// at least 32 channels in and out, at most 256 × 512) rather than the direct tile, given a filter that allows it
/// ([`PackedFilter::with_winograd`]).
pub fn uses_winograd(g: &Conv2dGeometry) -> bool {
    winograd::applies(g)
}

/// Whether [`winograd_backward_weight`] rather than [`direct_backward_weight`] runs the weight
/// gradient of `g`.
pub fn uses_winograd_weight_gradient(g: &Conv2dGeometry) -> bool {
    winograd::weight_gradient_applies(g)
}

/// `[c_out, c_in, kh·kw]` of `g`'s filter, as [`PackedFilter`] takes them.
pub fn filter_dims(g: &Conv2dGeometry) -> [usize; 3] {
    [g.c_out, g.c_in, g.kernel[0] * g.kernel[1]]
}

/// The geometry of the stride-1 convolution of `grad_out` that yields the input gradient of `g`,
/// when there is one (stride 1 and padding at most the dilated kernel's reach).
pub fn input_gradient_geometry(g: &Conv2dGeometry) -> Option<Conv2dGeometry> {
    let reach: [usize; 2] = std::array::from_fn(|a| g.dilation[a] * (g.kernel[a] - 1));
    let ok = g.groups == 1 && g.stride == [1, 1] && (0..2).all(|a| g.padding[a] <= reach[a]);
    ok.then(|| Conv2dGeometry {
        n: g.n,
        c_in: g.c_out,
        c_out: g.c_in,
        size: g.out_size(),
        kernel: g.kernel,
        stride: [1, 1],
        padding: std::array::from_fn(|a| reach[a] - g.padding[a]),
        dilation: g.dilation,
        groups: 1,
    })
}

/// `out = activation(conv(input, filter) + bias)`, overwriting `out` (`[n, c_out, out_size]`).
///
/// # Panics
/// If the buffers or the filter do not match `g`, or `g` is not one the kernel [`applies`] to.
pub fn direct_forward(
    g: &Conv2dGeometry,
    input: &[f32],
    filter: &PackedFilter,
    bias: Option<&[f32]>,
    activation: Option<Activation>,
    out: &mut [f32],
) {
    // SAFETY: `MaybeUninit<f32>` has the layout of `f32`, and only initialised values are stored.
    let out = unsafe { &mut *(out as *mut [f32] as *mut [MaybeUninit<f32>]) };
    direct_forward_uninit(g, input, filter, bias, activation, out);
}

/// [`direct_forward`] into a possibly uninitialised `out`, which it fully initialises.
///
/// # Panics
/// As [`direct_forward`].
pub fn direct_forward_uninit(
    g: &Conv2dGeometry,
    input: &[f32],
    filter: &PackedFilter,
    bias: Option<&[f32]>,
    activation: Option<Activation>,
    out: &mut [MaybeUninit<f32>],
) {
    let op = "direct_forward";
    g.assert_valid(op);
    assert!(applies(g), "{op}: not a dense 2-D convolution: {g:?}");
    assert_eq!(input.len(), g.input_len(), "{op}: input length");
    assert_eq!(out.len(), g.output_len(), "{op}: output length");
    assert_eq!(
        filter.dims(),
        [g.c_out, g.c_in, g.kernel[0] * g.kernel[1]],
        "{op}: filter"
    );
    if let Some(b) = bias {
        assert_eq!(b.len(), g.c_out, "{op}: bias length");
    }
    if filter.allows_winograd() && winograd::applies(g) {
        return winograd::forward(g, input, filter, bias, activation, out.as_mut_ptr().cast());
    }
    // One job: a pixel block × channel group of `plan`, from the padded input `x` into `out`.
    let run_job = |plan: &Plan, x: &[f32], job: usize, out: &SharedOut, acc: &mut [f32]| {
        let (block, group) = (job / plan.groups, job % plan.groups);
        plan.accumulate(x, filter, block, group, acc);
        // SAFETY: the jobs of a plan write disjoint (pixel block × channel group) parts of its
        // output (the batch's, or one image's), and `Plan::write_out` keeps their offsets inside
        // it; the lengths were checked above.
        unsafe { plan.write_out(acc, block, group, bias, activation, out) };
    };
    if by_image(g) {
        // An image per job, padded into a buffer that stays in the core's cache while the tiles
        // read it (no pass writing the whole padded batch to memory for the tiles to read back).
        // The images keep the threads busy: one channel group, so each tile reads its image once.
        let image = Conv2dGeometry { n: 1, ..*g };
        let plan = Plan::new(&image, filter, 1);
        out.par_chunks_mut(image.output_len())
            .zip(input.par_chunks(image.input_len()))
            .for_each_init(Vec::new, |padded, (out, x)| {
                padded::pad_images_into(&image, x, padded);
                let out = SharedOut(out.as_mut_ptr().cast::<f32>());
                with_scratch(plan.buffer_len(), |acc| {
                    (0..plan.jobs()).for_each(|job| run_job(&plan, padded, job, &out, acc))
                });
            });
        return;
    }
    let plan = Plan::new(g, filter, 4 * rayon::current_num_threads());
    let padded = padded(g, input);
    let out = SharedOut(out.as_mut_ptr().cast::<f32>());
    (0..plan.jobs()).into_par_iter().for_each(|job| {
        with_scratch(plan.buffer_len(), |acc| {
            run_job(&plan, &padded, job, &out, acc)
        });
    });
}

/// Whether [`direct_forward_uninit`] runs `g` image by image: a padded input, at least two images
/// per thread, and images of at least a pixel block (smaller ones lose more to their last,
/// partial tile than the cache saves).
fn by_image(g: &Conv2dGeometry) -> bool {
    let [oh, ow] = g.out_size();
    g.padding != [0, 0]
        && g.n >= 2 * rayon::current_num_threads()
        && oh * ow >= forward::BLOCK_PIXELS
}

/// The output's base pointer, shared by jobs that write disjoint elements.
struct SharedOut(*mut f32);
// SAFETY: only used for writes to disjoint elements (see `direct_forward`).
unsafe impl Sync for SharedOut {}
