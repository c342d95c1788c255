//! The strong-Wolfe line search L-BFGS uses (PyTorch's `_strong_wolfe`, after Nocedal & Wright,
//! algorithms 3.5 and 3.6): bracket a step satisfying both Wolfe conditions, then zoom in on it
//! with safeguarded cubic interpolation.
use crate::error::Result;

/// Sufficient-decrease and curvature constants, and the smallest bracket worth zooming into
/// (PyTorch's values; its L-BFGS does not pass its own `tolerance_change` down).
const C1: f64 = 1e-4;
const C2: f64 = 0.9;
const TOLERANCE_CHANGE: f64 = 1e-9;

/// A trial step: its length, loss, gradient and directional derivative `gᵀd`.
#[derive(Clone)]
struct Point {
    t: f64,
    f: f64,
    g: Vec<f32>,
    gtd: f64,
}

/// The result: the accepted step length, the loss and gradient there, and evaluations made.
pub(super) struct Found {
    pub t: f32,
    pub loss: f32,
    pub grad: Vec<f32>,
    pub evals: usize,
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

/// The minimiser of the cubic through two points with derivatives, clamped to `bounds` (the
/// interval between the points when `None`); the bounds' midpoint when the cubic has none.
fn cubic_interpolate(a: (f64, f64, f64), b: (f64, f64, f64), bounds: Option<(f64, f64)>) -> f64 {
    let ((x1, f1, g1), (x2, f2, g2)) = (a, b);
    let (lo, hi) = bounds.unwrap_or((x1.min(x2), x1.max(x2)));
    let d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    let d2_square = d1 * d1 - g1 * g2;
    if d2_square < 0.0 {
        return (lo + hi) / 2.0;
    }
    let d2 = d2_square.sqrt();
    let min_pos = if x1 <= x2 {
        x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
    } else {
        x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
    };
    min_pos.max(lo).min(hi)
}

/// Searches along `d` from the current point (loss `f`, gradient `g`, `gtd = gᵀd < 0`) starting at
/// step `t`, with at most `max_ls` evaluations after the first; `eval(t)` returns the loss and
/// gradient at `x + t·d` (and leaves `x` unchanged).
pub(super) fn strong_wolfe(
    mut eval: impl FnMut(f32) -> Result<(f32, Vec<f32>)>,
    d: &[f32],
    t: f32,
    f: f32,
    g: &[f32],
    gtd: f64,
    max_ls: usize,
) -> Result<Found> {
    let d_norm = d.iter().fold(0f32, |m, x| m.max(x.abs())) as f64;
    let f = f64::from(f);
    let mut evals = 0;
    let mut probe = |t: f64| -> Result<Point> {
        evals += 1;
        let (loss, grad) = eval(t as f32)?;
        let gtd = dot(&grad, d);
        Ok(Point {
            t,
            f: f64::from(loss),
            g: grad,
            gtd,
        })
    };
    let start = Point {
        t: 0.0,
        f,
        g: g.to_vec(),
        gtd,
    };
    let mut new = probe(f64::from(t))?;
    let mut prev = start.clone();
    let mut ls_iter = 0;
    // Bracketing: `bracket` holds two points around an acceptable step, or the accepted one.
    let mut bracket: Option<Vec<Point>> = None;
    let mut done = false;
    while ls_iter < max_ls {
        // In PyTorch's order: no sufficient decrease, then the curvature condition, then uphill.
        if new.f > f + C1 * new.t * gtd || (ls_iter > 1 && new.f >= prev.f) {
            bracket = Some(vec![prev, new.clone()]);
            break;
        }
        if new.gtd.abs() <= -C2 * gtd {
            bracket = Some(vec![new.clone()]);
            done = true;
            break;
        }
        if new.gtd >= 0.0 {
            bracket = Some(vec![prev, new.clone()]);
            break;
        }
        let bounds = (new.t + 0.01 * (new.t - prev.t), new.t * 10.0);
        let next_t = cubic_interpolate(
            (prev.t, prev.f, prev.gtd),
            (new.t, new.f, new.gtd),
            Some(bounds),
        );
        prev = new;
        new = probe(next_t)?;
        ls_iter += 1;
    }
    let mut bracket = bracket.unwrap_or_else(|| vec![start, new]);
    // Zoom: shrink the bracket until a point satisfies both conditions.
    let order = |b: &[Point]| {
        if b[0].f <= b[b.len() - 1].f {
            (0, 1)
        } else {
            (1, 0)
        }
    };
    let (mut low, mut high) = order(&bracket);
    let mut insufficient_progress = false;
    while !done && ls_iter < max_ls {
        let (b0, b1) = (&bracket[0], &bracket[1]);
        if (b1.t - b0.t).abs() * d_norm < TOLERANCE_CHANGE {
            break;
        }
        let mut t = cubic_interpolate((b0.t, b0.f, b0.gtd), (b1.t, b1.f, b1.gtd), None);
        let (lo, hi) = (b0.t.min(b1.t), b0.t.max(b1.t));
        let eps = 0.1 * (hi - lo);
        // Keep away from the ends of the bracket unless the last step already made progress.
        if (hi - t).min(t - lo) < eps {
            if insufficient_progress || t >= hi || t <= lo {
                t = if (t - hi).abs() < (t - lo).abs() {
                    hi - eps
                } else {
                    lo + eps
                };
                insufficient_progress = false;
            } else {
                insufficient_progress = true;
            }
        } else {
            insufficient_progress = false;
        }
        let new = probe(t)?;
        ls_iter += 1;
        if new.f > f + C1 * new.t * gtd || new.f >= bracket[low].f {
            bracket[high] = new;
            (low, high) = order(&bracket);
        } else {
            if new.gtd.abs() <= -C2 * gtd {
                done = true;
            } else if new.gtd * (bracket[high].t - bracket[low].t) >= 0.0 {
                bracket[high] = bracket[low].clone();
            }
            bracket[low] = new;
        }
    }
    let best = bracket.swap_remove(low);
    Ok(Found {
        t: best.t as f32,
        loss: best.f as f32,
        grad: best.g,
        evals,
    })
}
