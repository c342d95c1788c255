//! Local response normalisation across channels (AlexNet's), PyTorch's formula:
//! `s_c = k + α/size · Σ_{j ∈ win(c)} x_j²`, `y_c = x_c · s_c^(−β)`, with
//! `win(c) = [c − ⌊size/2⌋, c + ⌊(size−1)/2⌋]` clipped to the channels (zero padding).
//!
//! Buffers are `[n, c, spatial]`; images run in parallel, each channel's plane is one vectorised
//! pass per window member.
use rayon::prelude::*;

/// Settings, as PyTorch's `LocalResponseNorm(size, alpha, beta, k)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrnParams {
    pub size: usize,
    pub alpha: f32,
    pub beta: f32,
    pub k: f32,
}

impl LrnParams {
    /// Channels in the window of channel `ch` among `c`.
    fn window(&self, ch: usize, c: usize) -> std::ops::Range<usize> {
        ch.saturating_sub(self.size / 2)..(ch + (self.size - 1) / 2 + 1).min(c)
    }
    /// Channels whose window holds channel `j` among `c`.
    fn windows_holding(&self, j: usize, c: usize) -> std::ops::Range<usize> {
        j.saturating_sub((self.size - 1) / 2)..(j + self.size / 2 + 1).min(c)
    }
}

/// Forward: writes the denominators `s` and the output `y` (both overwritten).
pub fn lrn_forward(
    p: &LrnParams,
    c: usize,
    spatial: usize,
    x: &[f32],
    s: &mut [f32],
    y: &mut [f32],
) {
    let image = (c * spatial).max(1);
    let coef = p.alpha / p.size as f32;
    s.par_chunks_mut(image)
        .zip(y.par_chunks_mut(image))
        .zip(x.par_chunks(image))
        .for_each(|((s, y), x)| {
            for ch in 0..c {
                let plane = ch * spatial..(ch + 1) * spatial;
                let sp = &mut s[plane.clone()];
                sp.fill(0.0);
                for j in p.window(ch, c) {
                    let xj = &x[j * spatial..(j + 1) * spatial];
                    sp.iter_mut().zip(xj).for_each(|(s, &v)| *s += v * v);
                }
                for ((s, y), &x) in sp.iter_mut().zip(&mut y[plane.clone()]).zip(&x[plane]) {
                    *s = p.k + coef * *s;
                    *y = x * s.powf(-p.beta);
                }
            }
        });
}

/// Backward, given the forward's input `x`, denominators `s` and output `y`:
/// `dx_j = g_j·s_j^(−β) − (2αβ/size)·x_j·Σ_{i: j ∈ win(i)} g_i·y_i/s_i` (dx overwritten).
pub fn lrn_backward(
    p: &LrnParams,
    c: usize,
    spatial: usize,
    (x, s, y): (&[f32], &[f32], &[f32]),
    g: &[f32],
    dx: &mut [f32],
) {
    let image = (c * spatial).max(1);
    let coef = 2.0 * p.alpha * p.beta / p.size as f32;
    dx.par_chunks_mut(image).enumerate().for_each(|(i, dx)| {
        let r = i * image..(i + 1) * image;
        let (x, s, y, g) = (&x[r.clone()], &s[r.clone()], &y[r.clone()], &g[r]);
        let t: Vec<f32> = g
            .iter()
            .zip(y)
            .zip(s)
            .map(|((g, y), s)| g * y / s)
            .collect();
        for j in 0..c {
            let plane = j * spatial..(j + 1) * spatial;
            let dxp = &mut dx[plane.clone()];
            dxp.fill(0.0);
            for i in p.windows_holding(j, c) {
                let ti = &t[i * spatial..(i + 1) * spatial];
                dxp.iter_mut().zip(ti).for_each(|(d, &t)| *d += t);
            }
            for (((d, &x), &s), &g) in dxp
                .iter_mut()
                .zip(&x[plane.clone()])
                .zip(&s[plane.clone()])
                .zip(&g[plane])
            {
                *d = g * s.powf(-p.beta) - coef * x * *d;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_each_others_inverse() {
        for size in 1..7 {
            let p = LrnParams {
                size,
                alpha: 1.0,
                beta: 0.5,
                k: 1.0,
            };
            for c in 1..9 {
                for j in 0..c {
                    for i in 0..c {
                        assert_eq!(
                            p.window(i, c).contains(&j),
                            p.windows_holding(j, c).contains(&i)
                        );
                    }
                }
                assert_eq!(p.window(0, c).len(), ((size - 1) / 2 + 1).min(c));
            }
        }
    }
}
