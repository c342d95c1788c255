//! 3-D convolution (cross-correlation, as in PyTorch) over NCDHW `f32` slices by vol2col + GEMM:
//! forward, input gradient and weight/bias gradient.
//!
//! Per image and group, the column matrix `col [cg_in·kd·kh·kw, od·oh·ow]` (vol2col) turns the
//! convolution into one GEMM, as im2col does in 2-D; it is built for a band of output depths at a
//! time (as conv2d's bands of output rows) so the scratch stays bounded; the input gradient is `Wᵀ·dY` scattered back
//! (col2vol), the weight gradient `dY·colᵀ`. Images run in turn, each GEMM parallel; the column
//! buffer is per-thread scratch, reused.
//!
//! Every kernel **overwrites** its output buffer(s).

use super::axis::Axis;
use super::conv2d::tile_floats;
use super::gemm::sgemm_strided;
use super::im2col::conv_out_len;
use super::with_scratch;

/// Shapes and hyper-parameters of one 3-D convolution, spatial values in (depth, height, width)
/// order.
///
/// Buffers: input `[n, c_in, d, h, w]`, weight `[c_out, c_in/groups, kd, kh, kw]`, bias `[c_out]`,
/// output `[n, c_out, od, oh, ow]`. `groups` must divide `c_in` and `c_out`; strides and dilations
/// must be ≥ 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv3dGeometry {
    pub n: usize,
    pub c_in: usize,
    /// Input (depth, height, width).
    pub size: [usize; 3],
    pub c_out: usize,
    /// Kernel (depth, height, width).
    pub kernel: [usize; 3],
    pub stride: [usize; 3],
    /// Zero padding on each side.
    pub padding: [usize; 3],
    pub dilation: [usize; 3],
    pub groups: usize,
}

impl Conv3dGeometry {
    /// Output size per axis: `floor((len + 2·pad − dil·(k − 1) − 1) / stride) + 1` (0 if the kernel
    /// does not fit).
    pub fn out_size(&self) -> [usize; 3] {
        std::array::from_fn(|i| {
            conv_out_len(
                self.size[i],
                self.kernel[i],
                self.stride[i],
                self.padding[i],
                self.dilation[i],
            )
        })
    }
    /// Elements of the input, `n·c_in·d·h·w`.
    pub fn input_len(&self) -> usize {
        self.n * self.c_in * self.size.iter().product::<usize>()
    }
    /// Elements of the weight, `c_out·(c_in/groups)·kd·kh·kw`.
    pub fn weight_len(&self) -> usize {
        self.c_out * self.col_rows()
    }
    /// Elements of the output, `n·c_out·od·oh·ow`.
    pub fn output_len(&self) -> usize {
        self.n * self.c_out * self.out_size().iter().product::<usize>()
    }
    /// Rows of one group's column matrix, `(c_in/groups)·kd·kh·kw`.
    fn col_rows(&self) -> usize {
        self.c_in / self.groups.max(1) * self.kernel.iter().product::<usize>()
    }
    fn axes(&self) -> [Axis; 3] {
        let out = self.out_size();
        std::array::from_fn(|i| Axis {
            len: self.size[i],
            out: out[i],
            stride: self.stride[i],
            pad: self.padding[i],
            dil: self.dilation[i],
        })
    }
}

/// Per-group sizes the per-image loops need.
struct Plan {
    axes: [Axis; 3],
    kernel: [usize; 3],
    cg_in: usize,
    cg_out: usize,
    /// Column rows per group.
    kg: usize,
    /// Input and output voxels per channel.
    vol: usize,
    out_vol: usize,
    /// Output voxels per output-depth slice, `oh·ow`.
    slice: usize,
    /// Output-depth slices per band.
    band: usize,
}

impl Plan {
    fn new(g: &Conv3dGeometry) -> Plan {
        assert!(
            // (`is_multiple_of` would need Rust 1.87; the workspace targets 1.85.)
            g.groups >= 1 && divides(g.groups, g.c_in) && divides(g.groups, g.c_out),
            "conv3d: groups {} must divide c_in {} and c_out {}",
            g.groups,
            g.c_in,
            g.c_out
        );
        assert!(
            g.stride.iter().chain(&g.dilation).all(|&v| v >= 1),
            "conv3d: stride and dilation must be >= 1"
        );
        let out = g.out_size();
        Plan {
            axes: g.axes(),
            kernel: g.kernel,
            cg_in: g.c_in / g.groups,
            cg_out: g.c_out / g.groups,
            kg: g.col_rows(),
            vol: g.size.iter().product(),
            out_vol: g.out_size().iter().product(),
            slice: out[1] * out[2],
            band: (tile_floats() / (g.col_rows() * out[1] * out[2]).max(1)).clamp(1, out[0].max(1)),
        }
    }

    /// Output-depth bands `(oz0, oz1)`: the column matrix is built for one band at a time, so its
    /// scratch stays within the conv2d band budget ([`tile_floats`]) however deep the volume.
    fn bands(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let od = self.axes[0].out;
        (0..od)
            .step_by(self.band)
            .map(move |a| (a, (a + self.band).min(od)))
    }

    /// Scratch floats for one band's columns.
    fn col_len(&self) -> usize {
        self.kg * self.band * self.slice
    }

    /// Calls `f(col_offset, x_offset, len, stride_w)` for every contiguous run of the band's
    /// column matrix `[kg, (oz1 − oz0)·oh·ow]` (output depths `oz0..oz1`) that reads inside one
    /// group's input `[cg_in, d, h, w]`: column entries `col_offset..+len` read
    /// `x[x_offset + i·stride_w]`. Entries never visited read zero padding.
    fn for_each_run(
        &self,
        (b0, b1): (usize, usize),
        mut f: impl FnMut(usize, usize, usize, usize),
    ) {
        let cols = (b1 - b0) * self.slice;
        let [az, ay, ax] = self.axes;
        let (h, w) = (ay.len, ax.len);
        let (oh, ow) = (ay.out, ax.out);
        let kernel = self.kernel;
        let mut row = 0;
        for c in 0..self.cg_in {
            for tz in 0..kernel[0] {
                let (oz0, oz1, iz0) = az.valid(tz);
                for ty in 0..kernel[1] {
                    let (oy0, oy1, iy0) = ay.valid(ty);
                    for tx in 0..kernel[2] {
                        let (ox0, ox1, ix0) = ax.valid(tx);
                        if ox0 < ox1 {
                            for oz in oz0.max(b0)..oz1.min(b1) {
                                let iz = iz0 + (oz - oz0) * az.stride;
                                for oy in oy0..oy1 {
                                    let iy = iy0 + (oy - oy0) * ay.stride;
                                    f(
                                        row * cols + ((oz - b0) * oh + oy) * ow + ox0,
                                        ((c * az.len + iz) * h + iy) * w + ix0,
                                        ox1 - ox0,
                                        ax.stride,
                                    );
                                }
                            }
                        }
                        row += 1;
                    }
                }
            }
        }
    }
}

/// Forward convolution: `out = conv3d(input, weight) + bias`.
///
/// - `input`: `[n, c_in, d, h, w]`, `weight`: `[c_out, c_in/groups, kd, kh, kw]`,
///   `bias`: `[c_out]` or `None`, `out`: `[n, c_out, od, oh, ow]` (overwritten)
///
/// # Panics
/// If a buffer length does not match the geometry or the geometry is invalid.
pub fn conv3d_forward(
    g: &Conv3dGeometry,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    let p = Plan::new(g);
    check_lengths(g, input.len(), weight.len(), out.len());
    let (x_img, y_img) = (g.c_in * p.vol, g.c_out * p.out_vol);
    if y_img == 0 {
        return;
    }
    for (x, y) in input.chunks_exact(x_img).zip(out.chunks_exact_mut(y_img)) {
        for (co, plane) in y.chunks_exact_mut(p.out_vol).enumerate() {
            plane.fill(bias.map_or(0.0, |b| b[co]));
        }
        for grp in 0..g.groups {
            let xg = &x[grp * p.cg_in * p.vol..][..p.cg_in * p.vol];
            let wg = &weight[grp * p.cg_out * p.kg..][..p.cg_out * p.kg];
            let yg = &mut y[grp * p.cg_out * p.out_vol..][..p.cg_out * p.out_vol];
            with_scratch(p.col_len(), |col| {
                for band in p.bands() {
                    let cols = (band.1 - band.0) * p.slice;
                    let col = &mut col[..p.kg * cols];
                    vol2col(&p, band, xg, col);
                    // y_g[:, band] [cg_out, cols] += w_g [cg_out, kg] · col [kg, cols]
                    let yb = &mut yg[band.0 * p.slice..];
                    let (m, k) = (p.cg_out, p.kg);
                    sgemm_strided(
                        m, cols, k, wg, k, false, col, cols, false, yb, p.out_vol, true, true,
                    );
                }
            });
        }
    }
}

/// Input gradient: `grad_input = ∂(Σ out·grad_out)/∂input`.
///
/// - `grad_out`: `[n, c_out, od, oh, ow]`, `weight`: `[c_out, c_in/groups, kd, kh, kw]`,
///   `grad_input`: `[n, c_in, d, h, w]` (overwritten)
///
/// # Panics
/// As [`conv3d_forward`].
pub fn conv3d_backward_input(
    g: &Conv3dGeometry,
    grad_out: &[f32],
    weight: &[f32],
    grad_input: &mut [f32],
) {
    let p = Plan::new(g);
    check_lengths(g, grad_input.len(), weight.len(), grad_out.len());
    grad_input.fill(0.0);
    let (x_img, y_img) = (g.c_in * p.vol, g.c_out * p.out_vol);
    if x_img == 0 || y_img == 0 {
        return;
    }
    for (dx, dy) in grad_input
        .chunks_exact_mut(x_img)
        .zip(grad_out.chunks_exact(y_img))
    {
        for grp in 0..g.groups {
            let dxg = &mut dx[grp * p.cg_in * p.vol..][..p.cg_in * p.vol];
            let wg = &weight[grp * p.cg_out * p.kg..][..p.cg_out * p.kg];
            let dyg = &dy[grp * p.cg_out * p.out_vol..][..p.cg_out * p.out_vol];
            with_scratch(p.col_len(), |col| {
                for band in p.bands() {
                    let cols = (band.1 - band.0) * p.slice;
                    let col = &mut col[..p.kg * cols];
                    // dcol [kg, cols] = w_gᵀ [kg, cg_out] · dy_g[:, band] [cg_out, cols]
                    let dyb = &dyg[band.0 * p.slice..];
                    let (m, k) = (p.kg, p.cg_out);
                    sgemm_strided(
                        m, cols, k, wg, m, true, dyb, p.out_vol, false, col, cols, false, true,
                    );
                    col2vol(&p, band, col, dxg);
                }
            });
        }
    }
}

/// Weight (and bias) gradient, summed over the batch.
///
/// - `input`: `[n, c_in, d, h, w]`, `grad_out`: `[n, c_out, od, oh, ow]`,
///   `grad_weight`: `[c_out, c_in/groups, kd, kh, kw]` (overwritten),
///   `grad_bias`: `[c_out]` (overwritten) or `None`
///
/// # Panics
/// As [`conv3d_forward`].
pub fn conv3d_backward_weight(
    g: &Conv3dGeometry,
    input: &[f32],
    grad_out: &[f32],
    grad_weight: &mut [f32],
    mut grad_bias: Option<&mut [f32]>,
) {
    let p = Plan::new(g);
    check_lengths(g, input.len(), grad_weight.len(), grad_out.len());
    grad_weight.fill(0.0);
    if let Some(db) = grad_bias.as_deref_mut() {
        assert_eq!(
            db.len(),
            g.c_out,
            "conv3d_backward_weight: grad_bias length"
        );
        db.fill(0.0);
    }
    let (x_img, y_img) = (g.c_in * p.vol, g.c_out * p.out_vol);
    if y_img == 0 {
        return;
    }
    for (x, dy) in input.chunks_exact(x_img).zip(grad_out.chunks_exact(y_img)) {
        if let Some(db) = grad_bias.as_deref_mut() {
            for (b, plane) in db.iter_mut().zip(dy.chunks_exact(p.out_vol)) {
                *b += plane.iter().sum::<f32>();
            }
        }
        for grp in 0..g.groups {
            let xg = &x[grp * p.cg_in * p.vol..][..p.cg_in * p.vol];
            let dyg = &dy[grp * p.cg_out * p.out_vol..][..p.cg_out * p.out_vol];
            let dwg = &mut grad_weight[grp * p.cg_out * p.kg..][..p.cg_out * p.kg];
            with_scratch(p.col_len(), |col| {
                for band in p.bands() {
                    let cols = (band.1 - band.0) * p.slice;
                    let col = &mut col[..p.kg * cols];
                    vol2col(&p, band, xg, col);
                    // dw_g [cg_out, kg] += dy_g[:, band] [cg_out, cols] · colᵀ [cols, kg]
                    let dyb = &dyg[band.0 * p.slice..];
                    let (m, n) = (p.cg_out, p.kg);
                    sgemm_strided(
                        m, n, cols, dyb, p.out_vol, false, col, cols, true, dwg, n, true, true,
                    );
                }
            });
        }
    }
}

/// Whether `d` divides `v` (`d ≥ 1`).
pub(crate) fn divides(d: usize, v: usize) -> bool {
    v / d * d == v
}

fn check_lengths(g: &Conv3dGeometry, input: usize, weight: usize, out: usize) {
    assert_eq!(input, g.input_len(), "conv3d: input length");
    assert_eq!(weight, g.weight_len(), "conv3d: weight length");
    assert_eq!(out, g.output_len(), "conv3d: output length");
}

/// The band's `col [kg, (oz1 − oz0)·oh·ow]` from one group's input `x [cg_in, d, h, w]`
/// (padding reads zero).
fn vol2col(p: &Plan, band: (usize, usize), x: &[f32], col: &mut [f32]) {
    col.fill(0.0);
    p.for_each_run(band, |c0, x0, len, s| {
        let dst = &mut col[c0..c0 + len];
        if s == 1 {
            dst.copy_from_slice(&x[x0..x0 + len]);
        } else {
            dst.iter_mut()
                .zip(x[x0..].iter().step_by(s))
                .for_each(|(d, v)| *d = *v);
        }
    });
}

/// Adds the band's columns back into the group's input gradient `dx [cg_in, d, h, w]` (the
/// adjoint of [`vol2col`]).
fn col2vol(p: &Plan, band: (usize, usize), col: &[f32], dx: &mut [f32]) {
    p.for_each_run(band, |c0, x0, len, s| {
        let src = &col[c0..c0 + len];
        if s == 1 {
            dx[x0..x0 + len]
                .iter_mut()
                .zip(src)
                .for_each(|(d, v)| *d += v);
        } else {
            dx[x0..]
                .iter_mut()
                .step_by(s)
                .zip(src)
                .for_each(|(d, v)| *d += v);
        }
    });
}
