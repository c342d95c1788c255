//! The convolution driver: forward, input gradient and weight/bias gradient of a 1-D, 2-D or 3-D
//! convolution (cross-correlation, as in PyTorch) described by a [`ConvGeometry`], over NC… `f32`
//! slices.
//!
//! Dense 1-D and 2-D convolutions whose channels fill the direct kernel's vector blocks run on it
//! (`direct_conv/`): forward, weight gradient, and the input gradient at stride 1. Everything else
//! runs by im2col + GEMM, as follows.
//!
//! Every geometry is first lifted to three axes (a 1-D convolution is a 2-D one over a single
//! row, a 2-D one a 3-D one over a single slice), so one driver serves them all; only the column
//! builder differs: im2col (`im2col.rs`) when the depth axis is trivial, vol2col (`vol2col.rs`)
//! otherwise. "Output rows" are the flattened `(depth, row)` indices, `Dout·Hout` rows of `Wout`.
//!
//! Strategy:
//! - The batch is split over the rayon pool (one GEMM per thread at a time, `gemm` single-threaded);
//!   when the batch is smaller than the pool, images run one after another and each GEMM is
//!   parallel instead.
//! - The column matrix is never materialised for a whole image: output rows are processed in bands
//!   whose columns (`C/groups·Πkernel × band`) fit in L2 ([`tile_floats`]), so im2col writes and the
//!   GEMM reads the same cache-resident block. The band buffer is per-thread scratch, reused.
//! - A unit-kernel, stride-1, unpadded convolution skips im2col: the input already is the column
//!   matrix.
//! - Input gradient: `dcol = Wᵀ·dY` per band, then col2im (accumulating) into the image's gradient.
//! - Weight gradient: `dW += dY·colᵀ` per band; each rayon job accumulates into its own partial sum,
//!   and the partials are added at the end.
//!
//! Every kernel **overwrites** its output buffer(s).

use super::conv_geometry::{Conv2dGeometry, Conv3dGeometry, ConvGeometry};
use super::direct_conv::{
    applies, direct_backward_weight, direct_forward, direct_forward_uninit, fills_blocks,
    filter_dims, input_gradient_geometry, uses_winograd_weight_gradient, winograd_backward_weight,
    PackedFilter,
};
use super::gemm::{Gemm, MatMut, MatRef};
use super::im2col::{col2im_rows, im2col_rows};
use super::vol2col::{col2vol_rows, vol2col_rows};
use super::{norm, with_scratch};
use rayon::prelude::*;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// How one group of one image becomes its column matrix, a band of output rows at a time.
enum Columns {
    /// A single input slice and a unit kernel along depth: the 2-D convolution of that slice.
    Plane(Conv2dGeometry),
    /// A genuine 3-D convolution.
    Volume(Conv3dGeometry),
}

impl Columns {
    fn new(g: &Conv3dGeometry) -> Columns {
        g.as_plane().map_or(Columns::Volume(*g), Columns::Plane)
    }

    /// `col [kg, (r1 − r0)·Wout]` (overwritten) from one group's input `x`.
    fn im2col(&self, x: &[f32], (r0, r1): (usize, usize), col: &mut [f32]) {
        match self {
            Columns::Plane(g) => im2col_rows(g, x, r0, r1, col),
            Columns::Volume(g) => vol2col_rows(g, x, (r0, r1), col),
        }
    }

    /// Adds `col` back into one group's input gradient `dx` (`col` may be used as scratch).
    fn col2im(&self, col: &mut [f32], (r0, r1): (usize, usize), dx: &mut [f32]) {
        match self {
            Columns::Plane(g) => col2im_rows(g, col, r0, r1, dx),
            Columns::Volume(g) => col2vol_rows(g, col, (r0, r1), dx),
        }
    }
}

/// Everything derived from the geometry that the per-image loops need.
struct Plan {
    columns: Columns,
    n: usize,
    c_in: usize,
    c_out: usize,
    groups: usize,
    cg_in: usize,
    cg_out: usize,
    /// Rows of the column matrix per group, `cg_in·Πkernel`.
    kg: usize,
    /// Input voxels per channel.
    vol: usize,
    /// Output rows (`Dout·Hout`) and their width `Wout`.
    rows: usize,
    ow: usize,
    /// Output voxels per channel.
    out_vol: usize,
    /// Output rows per band.
    band: usize,
    /// Unit kernel, stride 1, no padding: the input is the column matrix.
    pointwise: bool,
    /// Split the batch over threads (else: images in turn, parallel GEMMs).
    batch_parallel: bool,
}

impl Plan {
    fn new<const D: usize>(g: &ConvGeometry<D>, op: &str) -> Plan {
        g.assert_valid(op);
        let g3 = g.lift::<3>();
        let [od, oh, ow] = g3.out_size();
        let kg = g.col_rows();
        let rows = od * oh;
        let threads = rayon::current_num_threads();
        Plan {
            columns: Columns::new(&g3),
            n: g.n,
            c_in: g.c_in,
            c_out: g.c_out,
            groups: g.groups,
            cg_in: g.cg_in(),
            cg_out: g.cg_out(),
            kg,
            vol: g.size.iter().product(),
            rows,
            ow,
            out_vol: rows * ow,
            band: (tile_floats() / (kg * ow).max(1)).clamp(1, rows.max(1)),
            pointwise: g.is_pointwise(),
            batch_parallel: threads > 1 && g.n >= threads,
        }
    }

    /// Output-row bands `(r0, r1)`.
    fn bands(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.rows)
            .step_by(self.band)
            .map(|a| (a, (a + self.band).min(self.rows)))
    }

    /// Minimum images per rayon job: about four jobs per thread, for balance.
    fn min_images_per_job(&self) -> usize {
        (self.n / (4 * rayon::current_num_threads())).max(1)
    }

    /// Input and output elements per image.
    fn image_lens(&self) -> (usize, usize) {
        (self.c_in * self.vol, self.c_out * self.out_vol)
    }

    /// Group `grp`'s input-side `[cg_in, vol]` block of an image's `[c_in, vol]` buffer.
    fn in_group<'a>(&self, grp: usize, x: &'a [f32]) -> &'a [f32] {
        &x[grp * self.cg_in * self.vol..][..self.cg_in * self.vol]
    }

    /// Group `grp`'s output-side `[cg_out, out_vol]` block of an image's `[c_out, out_vol]` buffer.
    fn out_group<'a>(&self, grp: usize, y: &'a [f32]) -> &'a [f32] {
        &y[grp * self.cg_out * self.out_vol..][..self.cg_out * self.out_vol]
    }

    /// Group `grp`'s weights `[cg_out, kg]` (or their gradient) out of `[c_out, kg]`.
    fn weight_group<'a>(&self, grp: usize, w: &'a [f32]) -> &'a [f32] {
        &w[grp * self.cg_out * self.kg..][..self.cg_out * self.kg]
    }

    /// The output rows `band` of one group's `[cg_out, out_vol]` output-side block, as a
    /// `[cg_out, band columns]` block of the GEMM.
    fn band_of<'a>(&self, y: &'a mut [f32], (r0, r1): (usize, usize)) -> MatMut<'a> {
        let cols = (r1 - r0) * self.ow;
        MatMut::new(&mut y[r0 * self.ow..], self.cg_out, cols).with_row_stride(self.out_vol)
    }

    /// [`Plan::band_of`] of a read-only block.
    fn band_of_ref<'a>(&self, y: &'a [f32], (r0, r1): (usize, usize)) -> MatRef<'a> {
        let cols = (r1 - r0) * self.ow;
        MatRef::new(&y[r0 * self.ow..], self.cg_out, cols).with_row_stride(self.out_vol)
    }

    /// Scratch floats for one band's columns.
    fn col_len(&self) -> usize {
        self.kg * self.band * self.ow
    }
}

/// The 2-D geometry of `g` when the direct kernel runs it (a dense convolution over one slice).
fn direct_geometry<const D: usize>(g: &ConvGeometry<D>) -> Option<Conv2dGeometry> {
    g.lift::<3>().as_plane().filter(applies)
}

/// [`direct_geometry`] where the direct kernel's output channels (`columns` of the 2-D geometry)
/// fill its vector blocks.
fn direct_with_columns<const D: usize>(
    g: &ConvGeometry<D>,
    columns: impl Fn(&Conv2dGeometry) -> usize,
) -> Option<Conv2dGeometry> {
    direct_geometry(g).filter(|g2| fills_blocks(columns(g2), pulp::Arch::new()))
}

/// Checks the buffer lengths against the geometry (`op` names the kernel).
fn check_lengths<const D: usize>(
    g: &ConvGeometry<D>,
    op: &str,
    [input, weight, output]: [usize; 3],
) {
    assert_eq!(input, g.input_len(), "{op}: input length");
    assert_eq!(weight, g.weight_len(), "{op}: weight length");
    assert_eq!(output, g.output_len(), "{op}: output length");
}

/// Forward convolution: `out = conv(input, weight) + bias`.
///
/// - `input`: `[n, c_in, size...]`
/// - `weight`: `[c_out, c_in/groups, kernel...]`
/// - `bias`: `[c_out]` or `None`
/// - `out`: `[n, c_out, out_size...]`, overwritten
///
/// # Panics
/// If a buffer length does not match the geometry or the geometry is invalid (see
/// [`ConvGeometry`]).
pub fn conv_forward<const D: usize>(
    g: &ConvGeometry<D>,
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

/// [`conv_forward`] into a new buffer. Each image's block is first written (bias or zeros) just
/// before its GEMM, while it is in cache, so the output is never zero-filled as a whole first.
///
/// # Panics
/// As [`conv_forward`].
pub fn conv_forward_new<const D: usize>(
    g: &ConvGeometry<D>,
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

/// The forward pass into a possibly uninitialised `out` (`[n, c_out, out_size...]`), which it
/// fully initialises.
fn forward_into<const D: usize>(
    g: &ConvGeometry<D>,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [MaybeUninit<f32>],
) {
    let op = "conv_forward";
    if let Some(g2) = direct_with_columns(g, |g2| g2.c_out) {
        let filter =
            PackedFilter::forward(weight, filter_dims(&g2), pulp::Arch::new()).with_winograd();
        return direct_forward_uninit(&g2, input, &filter, bias, None, out);
    }
    let p = Plan::new(g, op);
    check_lengths(g, op, [input.len(), weight.len(), out.len()]);
    if let Some(b) = bias {
        assert_eq!(b.len(), g.c_out, "{op}: bias length");
    }
    let (x_img, y_img) = p.image_lens();
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
            .with_min_len(p.min_images_per_job())
            .for_each(|(i, y)| run(i, y, false));
    } else {
        out.chunks_mut(y_img)
            .enumerate()
            .for_each(|(i, y)| run(i, y, true));
    }
}

/// Writes one image's output block `[c_out, out_vol]` with the bias of each channel (zeros
/// without bias) and returns it as initialised.
fn init_image<'a>(p: &Plan, bias: Option<&[f32]>, y: &'a mut [MaybeUninit<f32>]) -> &'a mut [f32] {
    match bias {
        Some(b) => {
            for (row, &bv) in y.chunks_exact_mut(p.out_vol).zip(b) {
                row.fill(MaybeUninit::new(bv));
            }
        }
        None => y.fill(MaybeUninit::new(0.0)),
    }
    // SAFETY: every element was written just above (the rows cover `y`: it is `c_out` rows of
    // `out_vol`, and `b` has `c_out` entries), and the layouts of `MaybeUninit<f32>` and `f32` agree.
    unsafe { &mut *(y as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// One image: `x [c_in, vol]`, `y [c_out, out_vol]` holding the bias (or zeros).
fn forward_image(p: &Plan, x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32], par: bool) {
    let acc = bias.is_some();
    for grp in 0..p.groups {
        let (xg, wg) = (p.in_group(grp, x), p.weight_group(grp, w));
        let yg = &mut y[grp * p.cg_out * p.out_vol..][..p.cg_out * p.out_vol];
        if p.pointwise {
            // y_g [cg_out, vol] (+)= w_g [cg_out, cg_in] · x_g [cg_in, vol]
            Gemm {
                a: MatRef::new(wg, p.cg_out, p.kg),
                b: MatRef::new(xg, p.kg, p.vol),
                c: MatMut::new(yg, p.cg_out, p.out_vol),
                accumulate: acc,
                parallel: par,
            }
            .run();
            continue;
        }
        with_scratch(p.col_len(), |col| {
            for band in p.bands() {
                let cols = (band.1 - band.0) * p.ow;
                // y_g[:, band] [cg_out, cols] (+)= w_g [cg_out, kg] · col [kg, cols]
                p.columns.im2col(xg, band, col);
                Gemm {
                    a: MatRef::new(wg, p.cg_out, p.kg),
                    b: MatRef::new(col, p.kg, cols),
                    c: p.band_of(yg, band),
                    accumulate: acc,
                    parallel: par,
                }
                .run();
            }
        });
    }
}

/// The stride-1 convolution that gives `g`'s input gradient on the direct kernel, with its packed
/// filter, when the direct kernel runs it.
fn direct_input_gradient<const D: usize>(
    g: &ConvGeometry<D>,
    weight: &[f32],
) -> Option<(Conv2dGeometry, PackedFilter)> {
    let g2 = direct_with_columns(g, |g2| g2.c_in)?;
    let gi = input_gradient_geometry(&g2)?;
    let filter =
        PackedFilter::input_gradient(weight, filter_dims(&g2), pulp::Arch::new()).with_winograd();
    Some((gi, filter))
}

/// [`conv_backward_input`] into a new buffer, which the direct kernel writes once without a
/// zero-fill first.
///
/// # Panics
/// As [`conv_forward`].
pub fn conv_backward_input_new<const D: usize>(
    g: &ConvGeometry<D>,
    grad_out: &[f32],
    weight: &[f32],
) -> Vec<f32> {
    let len = g.input_len();
    let Some((gi, filter)) = direct_input_gradient(g, weight) else {
        let mut grad_input = vec![0.0; len];
        conv_backward_input(g, grad_out, weight, &mut grad_input);
        return grad_input;
    };
    assert_eq!(
        weight.len(),
        g.weight_len(),
        "conv_backward_input: weight length"
    );
    let mut grad_input = Vec::with_capacity(len);
    direct_forward_uninit(
        &gi,
        grad_out,
        &filter,
        None,
        None,
        &mut grad_input.spare_capacity_mut()[..len],
    );
    // SAFETY: `direct_forward_uninit` initialises all `len` elements (its output is `g`'s input).
    unsafe { grad_input.set_len(len) };
    grad_input
}

/// Input gradient: `grad_input = ∂(Σ out·grad_out)/∂input`.
///
/// - `grad_out`: `[n, c_out, out_size...]`
/// - `weight`: `[c_out, c_in/groups, kernel...]`
/// - `grad_input`: `[n, c_in, size...]`, overwritten
///
/// # Panics
/// As [`conv_forward`].
pub fn conv_backward_input<const D: usize>(
    g: &ConvGeometry<D>,
    grad_out: &[f32],
    weight: &[f32],
    grad_input: &mut [f32],
) {
    let op = "conv_backward_input";
    if let Some((gi, filter)) = direct_input_gradient(g, weight) {
        return direct_forward(&gi, grad_out, &filter, None, None, grad_input);
    }
    let p = Plan::new(g, op);
    check_lengths(g, op, [grad_input.len(), weight.len(), grad_out.len()]);
    let (x_img, y_img) = p.image_lens();
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
            .with_min_len(p.min_images_per_job())
            .for_each(|(i, dx)| run(i, dx, false));
    } else {
        grad_input
            .chunks_mut(x_img)
            .enumerate()
            .for_each(|(i, dx)| run(i, dx, true));
    }
}

/// One image: `dy [c_out, out_vol]`, `dx [c_in, vol]` (overwritten).
fn backward_input_image(p: &Plan, dy: &[f32], w: &[f32], dx: &mut [f32], par: bool) {
    for grp in 0..p.groups {
        let (dyg, wg) = (p.out_group(grp, dy), p.weight_group(grp, w));
        let dxg = &mut dx[grp * p.cg_in * p.vol..][..p.cg_in * p.vol];
        if p.pointwise {
            // dx_g [cg_in, vol] = w_gᵀ [cg_in, cg_out] · dy_g [cg_out, vol]
            Gemm {
                a: MatRef::new(wg, p.cg_out, p.kg).t(),
                b: MatRef::new(dyg, p.cg_out, p.out_vol),
                c: MatMut::new(dxg, p.kg, p.vol),
                accumulate: false,
                parallel: par,
            }
            .run();
            continue;
        }
        dxg.fill(0.0);
        with_scratch(p.col_len(), |col| {
            for band in p.bands() {
                let cols = (band.1 - band.0) * p.ow;
                // dcol [kg, cols] = w_gᵀ [kg, cg_out] · dy_g[:, band] [cg_out, cols]
                Gemm {
                    a: MatRef::new(wg, p.cg_out, p.kg).t(),
                    b: p.band_of_ref(dyg, band),
                    c: MatMut::new(col, p.kg, cols),
                    accumulate: false,
                    parallel: par,
                }
                .run();
                p.columns.col2im(col, band, dxg);
            }
        });
    }
}

/// Weight (and bias) gradient, summed over the batch.
///
/// - `input`: `[n, c_in, size...]`
/// - `grad_out`: `[n, c_out, out_size...]`
/// - `grad_weight`: `[c_out, c_in/groups, kernel...]`, overwritten
/// - `grad_bias`: `[c_out]` (`Σ_{n, voxels} grad_out`), overwritten, or `None`
///
/// # Panics
/// As [`conv_forward`].
pub fn conv_backward_weight<const D: usize>(
    g: &ConvGeometry<D>,
    input: &[f32],
    grad_out: &[f32],
    grad_weight: &mut [f32],
    mut grad_bias: Option<&mut [f32]>,
) {
    let op = "conv_backward_weight";
    let p = Plan::new(g, op);
    check_lengths(g, op, [input.len(), grad_weight.len(), grad_out.len()]);
    if let Some(db) = grad_bias.as_deref() {
        assert_eq!(db.len(), g.c_out, "{op}: grad_bias length");
    }
    if let Some(g2) = direct_with_columns(g, |g2| g2.c_out) {
        let arch = pulp::Arch::new();
        if uses_winograd_weight_gradient(&g2) {
            winograd_backward_weight(&g2, input, grad_out, grad_weight, arch);
        } else {
            direct_backward_weight(&g2, input, grad_out, grad_weight, arch);
        }
        if let Some(db) = grad_bias {
            bias_gradient(&p, grad_out, db);
        }
        return;
    }
    let (x_img, y_img) = p.image_lens();
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
        .with_min_len(p.min_images_per_job())
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

/// `db [c_out]` (overwritten) `= Σ_{n, voxels} grad_out`, channels in parallel, each channel's
/// planes in the f64 lanes of [`norm::sum`] (a serial chain of f32 adds cost as much as a
/// 16-channel layer's weight gradient), so the result does not depend on the thread count.
fn bias_gradient(p: &Plan, grad_out: &[f32], db: &mut [f32]) {
    let image = (p.c_out * p.out_vol).max(1);
    db.par_iter_mut().enumerate().for_each(|(c, b)| {
        let planes = grad_out
            .chunks_exact(image)
            .map(|img| &img[c * p.out_vol..][..p.out_vol]);
        *b = norm::sum(planes) as f32;
    });
}

/// One image, accumulating: `x [c_in, vol]`, `dy [c_out, out_vol]`, `dw [c_out, kg]` and
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
        for (b, row) in db.iter_mut().zip(dy.chunks_exact(p.out_vol)) {
            *b += norm::sum(std::iter::once(row)) as f32;
        }
    }
    for grp in 0..p.groups {
        let (xg, dyg) = (p.in_group(grp, x), p.out_group(grp, dy));
        let dwg = &mut dw[grp * p.cg_out * p.kg..][..p.cg_out * p.kg];
        if p.pointwise {
            // dw_g [cg_out, cg_in] += dy_g [cg_out, vol] · x_gᵀ [vol, cg_in]
            Gemm {
                a: MatRef::new(dyg, p.cg_out, p.out_vol),
                b: MatRef::new(xg, p.kg, p.vol).t(),
                c: MatMut::new(dwg, p.cg_out, p.kg),
                accumulate: true,
                parallel: par,
            }
            .run();
            continue;
        }
        with_scratch(p.col_len(), |col| {
            for band in p.bands() {
                let cols = (band.1 - band.0) * p.ow;
                // dw_g [cg_out, kg] += dy_g[:, band] [cg_out, cols] · colᵀ [cols, kg]
                p.columns.im2col(xg, band, col);
                Gemm {
                    a: p.band_of_ref(dyg, band),
                    b: MatRef::new(col, p.kg, cols).t(),
                    c: MatMut::new(dwg, p.cg_out, p.kg),
                    accumulate: true,
                    parallel: par,
                }
                .run();
            }
        });
    }
}
