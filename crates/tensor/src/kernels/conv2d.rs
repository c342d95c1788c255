//! 2-D convolution (cross-correlation, as in PyTorch) over NCHW `f32` slices: forward, input
//! gradient and weight/bias gradient, by im2col + GEMM.
//!
//! Strategy:
//! - The batch is split over the rayon pool (one GEMM per thread at a time, `gemm` single-threaded);
//!   when the batch is smaller than the pool, images run one after another and each GEMM is
//!   parallel instead.
//! - The column matrix is never materialised for a whole image: output rows are processed in bands
//!   whose columns (`C/groups·kh·kw × band`) fit in L2 ([`tile_floats`]), so im2col writes and the
//!   GEMM reads the same cache-resident block. The band buffer is per-thread scratch, reused.
//! - A 1×1, stride-1, unpadded convolution skips im2col: the input already is the column matrix.
//! - Input gradient: `dcol = Wᵀ·dY` per band, then col2im (accumulating) into the image's gradient.
//! - Weight gradient: `dW += dY·colᵀ` per band; each rayon job accumulates into its own partial sum,
//!   and the partials are added at the end.
//!
//! Every kernel **overwrites** its output buffer(s).

use super::gemm::sgemm_strided;
use super::im2col::{col2im_rows, conv_out_len, im2col_rows, PatchGeometry};
use super::with_scratch;
use rayon::prelude::*;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Shapes and hyper-parameters of one 2-D convolution (PyTorch's `Conv2d` arguments).
///
/// Buffers: input `[n, c_in, h, w]`, weight `[c_out, c_in/groups, kh, kw]`, bias `[c_out]`,
/// output `[n, c_out, out_h, out_w]`. `groups` must divide `c_in` and `c_out`; strides and
/// dilations must be ≥ 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub c_in: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// (vertical, horizontal) stride.
    pub stride: (usize, usize),
    /// (vertical, horizontal) zero padding on each side.
    pub padding: (usize, usize),
    /// (vertical, horizontal) dilation.
    pub dilation: (usize, usize),
    /// Channel groups (1: dense, `c_in`: depthwise).
    pub groups: usize,
}

impl Conv2dGeometry {
    /// Output height: `floor((h + 2·ph − dh·(kh − 1) − 1) / sh) + 1` (0 if the kernel does not fit).
    pub fn out_h(&self) -> usize {
        conv_out_len(
            self.h,
            self.kh,
            self.stride.0,
            self.padding.0,
            self.dilation.0,
        )
    }
    /// Output width: `floor((w + 2·pw − dw·(kw − 1) − 1) / sw) + 1` (0 if the kernel does not fit).
    pub fn out_w(&self) -> usize {
        conv_out_len(
            self.w,
            self.kw,
            self.stride.1,
            self.padding.1,
            self.dilation.1,
        )
    }
    /// Elements of the input, `n·c_in·h·w`.
    pub fn input_len(&self) -> usize {
        self.n * self.c_in * self.h * self.w
    }
    /// Elements of the weight, `c_out·(c_in/groups)·kh·kw`.
    pub fn weight_len(&self) -> usize {
        self.c_out * (self.c_in / self.groups.max(1)) * self.kh * self.kw
    }
    /// Elements of the output, `n·c_out·out_h·out_w`.
    pub fn output_len(&self) -> usize {
        self.n * self.c_out * self.out_h() * self.out_w()
    }
    /// Multiply-adds of the forward pass (the backward passes have the same count each).
    pub fn macs(&self) -> usize {
        self.output_len() * (self.c_in / self.groups.max(1)) * self.kh * self.kw
    }
}

/// Floats of im2col scratch a band aims at (per thread): ≈ 512 KiB, half of this machine's L2.
static TILE_FLOATS: AtomicUsize = AtomicUsize::new(128 * 1024);

/// Current band budget in floats (see the module doc).
pub fn tile_floats() -> usize {
    TILE_FLOATS.load(Ordering::Relaxed)
}

/// Sets the band budget in floats (a tuning knob for benchmarks; at least one output row is
/// always processed per band).
pub fn set_tile_floats(floats: usize) {
    TILE_FLOATS.store(floats.max(1), Ordering::Relaxed);
}

/// Everything derived from the geometry that the per-image loops need.
struct Plan {
    patch: PatchGeometry,
    groups: usize,
    cg_in: usize,
    cg_out: usize,
    /// Rows of the column matrix per group, `cg_in·kh·kw`.
    kg: usize,
    hw: usize,
    oh: usize,
    ow: usize,
    ohw: usize,
    /// Output rows per band.
    band: usize,
    /// 1×1, stride 1, no padding: the input is the column matrix.
    pointwise: bool,
    /// Split the batch over threads (else: images in turn, parallel GEMMs).
    batch_parallel: bool,
}

impl Plan {
    fn new(g: &Conv2dGeometry) -> Plan {
        assert!(g.groups >= 1, "conv2d: groups must be >= 1");
        assert!(
            // (`is_multiple_of` would need Rust 1.87; the workspace targets 1.85.)
            (g.c_in / g.groups) * g.groups == g.c_in && (g.c_out / g.groups) * g.groups == g.c_out,
            "conv2d: groups {} must divide c_in {} and c_out {}",
            g.groups,
            g.c_in,
            g.c_out
        );
        assert!(
            g.stride.0 >= 1 && g.stride.1 >= 1,
            "conv2d: stride must be >= 1"
        );
        assert!(
            g.dilation.0 >= 1 && g.dilation.1 >= 1,
            "conv2d: dilation must be >= 1"
        );
        let cg_in = g.c_in / g.groups;
        let patch = PatchGeometry {
            c: cg_in,
            h: g.h,
            w: g.w,
            kh: g.kh,
            kw: g.kw,
            stride: g.stride,
            padding: g.padding,
            dilation: g.dilation,
        };
        let (oh, ow) = (g.out_h(), g.out_w());
        let kg = patch.col_rows();
        let band = (tile_floats() / (kg * ow).max(1)).clamp(1, oh.max(1));
        let threads = rayon::current_num_threads();
        Plan {
            patch,
            groups: g.groups,
            cg_in,
            cg_out: g.c_out / g.groups,
            kg,
            hw: g.h * g.w,
            oh,
            ow,
            ohw: oh * ow,
            band,
            pointwise: g.kh == 1 && g.kw == 1 && g.stride == (1, 1) && g.padding == (0, 0),
            batch_parallel: threads > 1 && g.n >= threads,
        }
    }

    /// Output-row bands `(oh0, oh1)`.
    fn bands(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.oh)
            .step_by(self.band)
            .map(|a| (a, (a + self.band).min(self.oh)))
    }

    /// Minimum images per rayon job: about four jobs per thread, for balance.
    fn min_images_per_job(&self, n: usize) -> usize {
        (n / (4 * rayon::current_num_threads())).max(1)
    }
}

/// Forward convolution: `out = conv(input, weight) + bias`.
///
/// - `input`: `[n, c_in, h, w]`
/// - `weight`: `[c_out, c_in/groups, kh, kw]`
/// - `bias`: `[c_out]` or `None`
/// - `out`: `[n, c_out, out_h, out_w]`, overwritten
///
/// # Panics
/// If a buffer length does not match the geometry or the geometry is invalid (see
/// [`Conv2dGeometry`]).
pub fn conv2d_forward(
    g: &Conv2dGeometry,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    // SAFETY: `MaybeUninit<f32>` has the layout of `f32`, and `forward_into` only ever stores
    // initialised values, so `out` stays valid `f32`s.
    let out = unsafe { &mut *(out as *mut [f32] as *mut [MaybeUninit<f32>]) };
    forward_into(g, input, weight, bias, out);
}

/// [`conv2d_forward`] into a new buffer. Each image's block is first written (bias or zeros) just
/// before its GEMM, while it is in cache, so the output is never zero-filled as a whole first.
///
/// # Panics
/// As [`conv2d_forward`].
pub fn conv2d_forward_new(
    g: &Conv2dGeometry,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let len = g.output_len();
    let mut out = Vec::with_capacity(len);
    forward_into(g, input, weight, bias, &mut out.spare_capacity_mut()[..len]);
    // SAFETY: `forward_into` initialises every element of its output (see `init_image`).
    unsafe { out.set_len(len) };
    out
}

/// The forward pass into a possibly uninitialised `out` (`[n, c_out, out_h, out_w]`), which it
/// fully initialises.
fn forward_into(
    g: &Conv2dGeometry,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [MaybeUninit<f32>],
) {
    let p = Plan::new(g);
    assert_eq!(input.len(), g.input_len(), "conv2d_forward: input length");
    assert_eq!(
        weight.len(),
        g.weight_len(),
        "conv2d_forward: weight length"
    );
    assert_eq!(out.len(), g.output_len(), "conv2d_forward: out length");
    if let Some(b) = bias {
        assert_eq!(b.len(), g.c_out, "conv2d_forward: bias length");
    }
    let (x_img, y_img) = (g.c_in * p.hw, g.c_out * p.ohw);
    if y_img == 0 {
        return;
    }
    let run = |i: usize, y: &mut [MaybeUninit<f32>], par: bool| {
        let y = init_image(&p, bias, y);
        forward_image(&p, &input[i * x_img..][..x_img], weight, bias, y, par)
    };
    if p.batch_parallel {
        out.par_chunks_mut(y_img)
            .enumerate()
            .with_min_len(p.min_images_per_job(g.n))
            .for_each(|(i, y)| run(i, y, false));
    } else {
        out.chunks_mut(y_img)
            .enumerate()
            .for_each(|(i, y)| run(i, y, true));
    }
}

/// Writes one image's output block `[c_out, out_h·out_w]` with the bias of each channel (zeros
/// without bias) and returns it as initialised.
fn init_image<'a>(p: &Plan, bias: Option<&[f32]>, y: &'a mut [MaybeUninit<f32>]) -> &'a mut [f32] {
    match bias {
        Some(b) => {
            for (row, &bv) in y.chunks_exact_mut(p.ohw).zip(b) {
                row.fill(MaybeUninit::new(bv));
            }
        }
        None => y.fill(MaybeUninit::new(0.0)),
    }
    // SAFETY: every element was written just above (the rows cover `y`: it is `c_out` rows of
    // `ohw`, and `b` has `c_out` entries), and the layouts of `MaybeUninit<f32>` and `f32` agree.
    unsafe { &mut *(y as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// One image: `x [c_in, h, w]`, `y [c_out, out_h·out_w]` holding the bias (or zeros).
fn forward_image(p: &Plan, x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32], par: bool) {
    let acc = bias.is_some();
    for grp in 0..p.groups {
        let xg = &x[grp * p.cg_in * p.hw..][..p.cg_in * p.hw];
        let wg = &w[grp * p.cg_out * p.kg..][..p.cg_out * p.kg];
        let yg = &mut y[grp * p.cg_out * p.ohw..][..p.cg_out * p.ohw];
        if p.pointwise {
            // y_g [cg_out, hw] = w_g [cg_out, cg_in] · x_g [cg_in, hw]
            sgemm_strided(
                p.cg_out, p.ohw, p.kg, wg, p.kg, false, xg, p.hw, false, yg, p.ohw, acc, par,
            );
            continue;
        }
        with_scratch(p.kg * p.band * p.ow, |col| {
            for (a, b) in p.bands() {
                let cols = (b - a) * p.ow;
                // col [kg, cols]; y_g[:, band] [cg_out, cols] = w_g [cg_out, kg] · col
                im2col_rows(&p.patch, xg, a, b, col);
                let yb = &mut yg[a * p.ow..];
                sgemm_strided(
                    p.cg_out, cols, p.kg, wg, p.kg, false, col, cols, false, yb, p.ohw, acc, par,
                );
            }
        });
    }
}

/// Input gradient: `grad_input = ∂(Σ out·grad_out)/∂input`.
///
/// - `grad_out`: `[n, c_out, out_h, out_w]`
/// - `weight`: `[c_out, c_in/groups, kh, kw]`
/// - `grad_input`: `[n, c_in, h, w]`, overwritten
///
/// # Panics
/// As [`conv2d_forward`].
pub fn conv2d_backward_input(
    g: &Conv2dGeometry,
    grad_out: &[f32],
    weight: &[f32],
    grad_input: &mut [f32],
) {
    let p = Plan::new(g);
    assert_eq!(
        grad_out.len(),
        g.output_len(),
        "conv2d_backward_input: grad_out length"
    );
    assert_eq!(
        weight.len(),
        g.weight_len(),
        "conv2d_backward_input: weight length"
    );
    assert_eq!(
        grad_input.len(),
        g.input_len(),
        "conv2d_backward_input: grad_input length"
    );
    let (x_img, y_img) = (g.c_in * p.hw, g.c_out * p.ohw);
    if x_img == 0 {
        return;
    }
    if y_img == 0 {
        grad_input.fill(0.0);
        return;
    }
    let run = |i: usize, dx: &mut [f32], par: bool| {
        backward_input_image(&p, &grad_out[i * y_img..][..y_img], weight, dx, par)
    };
    if p.batch_parallel {
        grad_input
            .par_chunks_mut(x_img)
            .enumerate()
            .with_min_len(p.min_images_per_job(g.n))
            .for_each(|(i, dx)| run(i, dx, false));
    } else {
        grad_input
            .chunks_mut(x_img)
            .enumerate()
            .for_each(|(i, dx)| run(i, dx, true));
    }
}

/// One image: `dy [c_out, out_h·out_w]`, `dx [c_in, h·w]` (overwritten).
fn backward_input_image(p: &Plan, dy: &[f32], w: &[f32], dx: &mut [f32], par: bool) {
    for grp in 0..p.groups {
        let dyg = &dy[grp * p.cg_out * p.ohw..][..p.cg_out * p.ohw];
        let wg = &w[grp * p.cg_out * p.kg..][..p.cg_out * p.kg];
        let dxg = &mut dx[grp * p.cg_in * p.hw..][..p.cg_in * p.hw];
        if p.pointwise {
            // dx_g [cg_in, hw] = w_gᵀ [cg_in, cg_out] · dy_g [cg_out, hw]
            sgemm_strided(
                p.kg, p.hw, p.cg_out, wg, p.kg, true, dyg, p.ohw, false, dxg, p.hw, false, par,
            );
            continue;
        }
        dxg.fill(0.0);
        with_scratch(p.kg * p.band * p.ow, |col| {
            for (a, b) in p.bands() {
                let cols = (b - a) * p.ow;
                // dcol [kg, cols] = w_gᵀ [kg, cg_out] · dy_g[:, band] [cg_out, cols]
                let dyb = &dyg[a * p.ow..];
                sgemm_strided(
                    p.kg, cols, p.cg_out, wg, p.kg, true, dyb, p.ohw, false, col, cols, false, par,
                );
                col2im_rows(&p.patch, col, a, b, dxg);
            }
        });
    }
}

/// Weight (and bias) gradient, summed over the batch.
///
/// - `input`: `[n, c_in, h, w]`
/// - `grad_out`: `[n, c_out, out_h, out_w]`
/// - `grad_weight`: `[c_out, c_in/groups, kh, kw]`, overwritten
/// - `grad_bias`: `[c_out]` (`Σ_{n,y,x} grad_out`), overwritten, or `None`
///
/// # Panics
/// As [`conv2d_forward`].
pub fn conv2d_backward_weight(
    g: &Conv2dGeometry,
    input: &[f32],
    grad_out: &[f32],
    grad_weight: &mut [f32],
    mut grad_bias: Option<&mut [f32]>,
) {
    let p = Plan::new(g);
    assert_eq!(
        input.len(),
        g.input_len(),
        "conv2d_backward_weight: input length"
    );
    assert_eq!(
        grad_out.len(),
        g.output_len(),
        "conv2d_backward_weight: grad_out length"
    );
    assert_eq!(
        grad_weight.len(),
        g.weight_len(),
        "conv2d_backward_weight: grad_weight length"
    );
    if let Some(db) = grad_bias.as_deref() {
        assert_eq!(
            db.len(),
            g.c_out,
            "conv2d_backward_weight: grad_bias length"
        );
    }
    let (x_img, y_img) = (g.c_in * p.hw, g.c_out * p.ohw);
    let with_bias = grad_bias.is_some();
    let image = |i: usize, dw: &mut [f32], db: Option<&mut [f32]>, par: bool| {
        let x = &input[i * x_img..][..x_img];
        let dy = &grad_out[i * y_img..][..y_img];
        backward_weight_image(&p, x, dy, dw, db, par);
    };
    grad_weight.fill(0.0);
    if let Some(db) = grad_bias.as_deref_mut() {
        db.fill(0.0);
    }
    if y_img == 0 {
        return;
    }
    if !p.batch_parallel {
        for i in 0..g.n {
            image(i, grad_weight, grad_bias.as_deref_mut(), true);
        }
        return;
    }
    // Per-job partial sums [weight_len + c_out], reduced pairwise.
    let wl = grad_weight.len();
    let total = (0..g.n)
        .into_par_iter()
        .with_min_len(p.min_images_per_job(g.n))
        .fold(
            || vec![0.0f32; wl + if with_bias { g.c_out } else { 0 }],
            |mut acc, i| {
                let (dw, db) = acc.split_at_mut(wl);
                image(i, dw, with_bias.then_some(db), false);
                acc
            },
        )
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| *x += *y);
            a
        });
    if let Some(total) = total {
        grad_weight.copy_from_slice(&total[..wl]);
        if let Some(db) = grad_bias {
            db.copy_from_slice(&total[wl..]);
        }
    }
}

/// One image, accumulating: `x [c_in, h·w]`, `dy [c_out, out_h·out_w]`, `dw [c_out, kg]` and
/// `db [c_out]` are added to.
fn backward_weight_image(
    p: &Plan,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    par: bool,
) {
    if let Some(db) = db {
        for (b, row) in db.iter_mut().zip(dy.chunks_exact(p.ohw)) {
            *b += row.iter().sum::<f32>();
        }
    }
    for grp in 0..p.groups {
        let xg = &x[grp * p.cg_in * p.hw..][..p.cg_in * p.hw];
        let dyg = &dy[grp * p.cg_out * p.ohw..][..p.cg_out * p.ohw];
        let dwg = &mut dw[grp * p.cg_out * p.kg..][..p.cg_out * p.kg];
        if p.pointwise {
            // dw_g [cg_out, cg_in] += dy_g [cg_out, hw] · x_gᵀ [hw, cg_in]
            sgemm_strided(
                p.cg_out, p.kg, p.ohw, dyg, p.ohw, false, xg, p.hw, true, dwg, p.kg, true, par,
            );
            continue;
        }
        with_scratch(p.kg * p.band * p.ow, |col| {
            for (a, b) in p.bands() {
                let cols = (b - a) * p.ow;
                // dw_g [cg_out, kg] += dy_g[:, band] [cg_out, cols] · colᵀ [cols, kg]
                im2col_rows(&p.patch, xg, a, b, col);
                let dyb = &dyg[a * p.ow..];
                sgemm_strided(
                    p.cg_out, p.kg, cols, dyb, p.ohw, false, col, cols, true, dwg, p.kg, true, par,
                );
            }
        });
    }
}
