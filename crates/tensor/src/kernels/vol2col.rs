//! vol2col and its adjoint col2vol: im2col for one group of channels of one image of a 3-D
//! convolution `g` (`C = g.c_in / g.groups` channels of `[D, H, W]`; `g.n` and `g.c_out` play no
//! part).
//!
//! Column layout: `col[C·kd·kh·kw, Dout·Hout·Wout]`, row `((c·kd + z)·kh + y)·kw + x` holding, for
//! every output voxel in row-major order, the input value its kernel tap `(z, y, x)` reads (0 in
//! the padding). Like the 2-D `_rows` functions, both work on a band of *output rows*: the
//! flattened `(depth, row)` indices `r0..r1` of the `Dout·Hout` rows of `Wout` voxels each.

use super::conv_geometry::Conv3dGeometry;

/// Calls `f(col_offset, x_offset, len, stride_w)` for every contiguous run of the band's column
/// matrix `[C·kd·kh·kw, (r1 − r0)·Wout]` that reads inside the group's input `[C, D, H, W]`:
/// column entries `col_offset..+len` read `x[x_offset + i·stride_w]`. Entries never visited read
/// zero padding.
fn for_each_run(
    g: &Conv3dGeometry,
    (r0, r1): (usize, usize),
    mut f: impl FnMut(usize, usize, usize, usize),
) {
    let [az, ay, ax] = g.axes();
    let [kd, kh, kw] = g.kernel;
    let cols = (r1 - r0) * ax.out;
    let mut row = 0;
    for c in 0..g.cg_in() {
        for tz in 0..kd {
            let (oz0, oz1, iz0) = az.valid(tz);
            for ty in 0..kh {
                let (oy0, oy1, iy0) = ay.valid(ty);
                for tx in 0..kw {
                    let (ox0, ox1, ix0) = ax.valid(tx);
                    if ox0 < ox1 {
                        for r in r0..r1 {
                            let (oz, oy) = (r / ay.out, r % ay.out);
                            if !(oz0..oz1).contains(&oz) || !(oy0..oy1).contains(&oy) {
                                continue;
                            }
                            let iz = iz0 + (oz - oz0) * az.stride;
                            let iy = iy0 + (oy - oy0) * ay.stride;
                            f(
                                row * cols + (r - r0) * ax.out + ox0,
                                ((c * az.len + iz) * ay.len + iy) * ax.len + ix0,
                                ox1 - ox0,
                                ax.stride,
                            );
                        }
                    }
                    row += 1;
                }
            }
        }
    }
}

/// The band's `col [C·kd·kh·kw, (r1 − r0)·Wout]` (fully overwritten) from one group's input
/// `x [C, D, H, W]`.
pub fn vol2col_rows(g: &Conv3dGeometry, x: &[f32], band: (usize, usize), col: &mut [f32]) {
    let cols = (band.1 - band.0) * g.out_size()[2];
    col[..g.col_rows() * cols].fill(0.0);
    for_each_run(g, band, |c0, x0, len, s| {
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

/// Adds the band's columns back into the group's input gradient `dx [C, D, H, W]` (the adjoint
/// of [`vol2col_rows`]).
pub fn col2vol_rows(g: &Conv3dGeometry, col: &[f32], band: (usize, usize), dx: &mut [f32]) {
    for_each_run(g, band, |c0, x0, len, s| {
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
