//! L-BFGS for full-batch problems (PyTorch's `LBFGS`, with or without the strong-Wolfe line search).
use super::check_non_negative;
use super::line_search::strong_wolfe;
use crate::error::{Error, Result};
use convkit_tensor::Tensor;
use std::collections::VecDeque;

/// How [`Lbfgs`] picks the step length along its direction (PyTorch's `line_search_fn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineSearch {
    /// A fixed step: `lr`.
    None,
    /// A step satisfying the strong Wolfe conditions, searched from `lr`.
    StrongWolfe,
}

/// Hyper-parameters of [`Lbfgs`], PyTorch's names and defaults (`max_eval` defaults to
/// `max_iter · 5 / 4`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LbfgsConfig {
    pub lr: f32,
    pub max_iter: usize,
    pub max_eval: Option<usize>,
    pub tolerance_grad: f32,
    pub tolerance_change: f32,
    pub history_size: usize,
    pub line_search_fn: LineSearch,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        LbfgsConfig {
            lr: 1.0,
            max_iter: 20,
            max_eval: None,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            history_size: 100,
            line_search_fn: LineSearch::None,
        }
    }
}

/// Limited-memory BFGS, PyTorch's algorithm.
///
/// Each [`Lbfgs::step`] runs up to `max_iter` iterations, calling the closure to re-evaluate the loss
/// and gradients; the closure must clear the gradients, compute the loss, call `backward()` and
/// return the loss. The direction comes from the two-loop recursion over the last `history_size`
/// curvature pairs `(s, y)` (pairs with `yᵀs ≤ 1e-10` are dropped), scaled by `H = yᵀs / yᵀy`; the
/// step is `lr` except on the very first iteration, where it is `lr · min(1, 1 / ‖g‖₁)`; with
/// [`LineSearch::StrongWolfe`] that is the line search's first trial step instead. Iteration
/// stops early when `max|g| ≤ tolerance_grad`, when the directional derivative or the change in
/// parameters or loss falls below `tolerance_change`, or after `max_eval` evaluations. The history
/// carries over between `step` calls, as in PyTorch. Dot products are accumulated in f64.
///
/// Its state is not checkpointed: L-BFGS is for small full-batch problems run in one go.
pub struct Lbfgs {
    config: LbfgsConfig,
    params: Vec<(String, Tensor)>,
    /// Iterations over all `step` calls (PyTorch's `state['n_iter']`).
    n_iter: usize,
    func_evals: usize,
    /// Last direction and step length.
    d: Vec<f32>,
    t: f32,
    old_dirs: VecDeque<Vec<f32>>,
    old_stps: VecDeque<Vec<f32>>,
    ro: VecDeque<f64>,
    h_diag: f64,
    prev_flat_grad: Vec<f32>,
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0f32, |m, x| m.max(x.abs()))
}

impl Lbfgs {
    /// # Errors
    /// A negative or non-finite `lr` or tolerance, `max_iter` or `history_size` of 0, or a parameter
    /// listed twice.
    pub fn new(params: Vec<(String, Tensor)>, config: LbfgsConfig) -> Result<Lbfgs> {
        for (name, value) in [
            ("lr", config.lr),
            ("tolerance_grad", config.tolerance_grad),
            ("tolerance_change", config.tolerance_change),
        ] {
            check_non_negative("LBFGS", name, value)?;
        }
        if config.max_iter == 0 || config.history_size == 0 || config.max_eval == Some(0) {
            return Err(Error::config(
                "LBFGS",
                "max_iter, max_eval and history_size must be at least 1",
            ));
        }
        for (i, (name, _)) in params.iter().enumerate() {
            if params[..i].iter().any(|(other, _)| other == name) {
                return Err(Error::config(
                    "LBFGS",
                    format!("parameter {name} is listed twice"),
                ));
            }
        }
        Ok(Lbfgs {
            config,
            params,
            n_iter: 0,
            func_evals: 0,
            d: Vec::new(),
            t: 0.0,
            old_dirs: VecDeque::new(),
            old_stps: VecDeque::new(),
            ro: VecDeque::new(),
            h_diag: 1.0,
            prev_flat_grad: Vec::new(),
        })
    }

    pub fn lr(&self) -> f32 {
        self.config.lr
    }

    pub fn set_lr(&mut self, lr: f32) {
        self.config.lr = lr;
    }

    /// Loss evaluations over all `step` calls.
    pub fn func_evals(&self) -> usize {
        self.func_evals
    }

    /// All gradients in one vector (zeros for a parameter without one).
    fn flat_grad(&self) -> Vec<f32> {
        let mut out = Vec::new();
        for (_, p) in &self.params {
            p.with_grad_slice(|g| match g {
                Some(g) => out.extend_from_slice(g),
                None => out.extend(std::iter::repeat_n(0.0, p.numel())),
            });
        }
        out
    }

    fn param_values(&self) -> Vec<Vec<f32>> {
        self.params.iter().map(|(_, p)| p.to_vec()).collect()
    }

    fn set_param_values(&self, values: &[Vec<f32>]) {
        for ((_, p), v) in self.params.iter().zip(values) {
            p.data_mut().copy_from_slice(v);
        }
    }

    /// `p += t·d` over the flattened parameters.
    fn add_to_params(&self, t: f32, d: &[f32]) {
        let mut offset = 0;
        for (_, p) in &self.params {
            let mut data = p.data_mut();
            let n = data.len();
            data.iter_mut()
                .zip(&d[offset..offset + n])
                .for_each(|(x, &dx)| *x += t * dx);
            offset += n;
        }
    }

    /// The two-loop recursion: `−H·g` from the stored curvature pairs.
    fn direction(&self, flat_grad: &[f32]) -> Vec<f32> {
        let mut q: Vec<f32> = flat_grad.iter().map(|g| -g).collect();
        let mut al = vec![0f64; self.old_dirs.len()];
        for i in (0..self.old_dirs.len()).rev() {
            al[i] = dot(&self.old_stps[i], &q) * self.ro[i];
            let a = al[i] as f32;
            q.iter_mut()
                .zip(&self.old_dirs[i])
                .for_each(|(q, y)| *q -= a * y);
        }
        let h = self.h_diag as f32;
        let mut r: Vec<f32> = q.iter().map(|q| q * h).collect();
        for (((y, s), ro), al) in self
            .old_dirs
            .iter()
            .zip(&self.old_stps)
            .zip(&self.ro)
            .zip(al)
        {
            let c = (al - dot(y, &r) * ro) as f32;
            r.iter_mut().zip(s).for_each(|(r, s)| *r += c * s);
        }
        r
    }

    /// Records the curvature pair from the last step, dropping the oldest beyond `history_size`.
    fn update_history(&mut self, flat_grad: &[f32]) {
        let y: Vec<f32> = flat_grad
            .iter()
            .zip(&self.prev_flat_grad)
            .map(|(g, pg)| g - pg)
            .collect();
        let s: Vec<f32> = self.d.iter().map(|d| d * self.t).collect();
        let ys = dot(&y, &s);
        if ys > 1e-10 {
            if self.old_dirs.len() == self.config.history_size {
                self.old_dirs.pop_front();
                self.old_stps.pop_front();
                self.ro.pop_front();
            }
            self.h_diag = ys / dot(&y, &y);
            self.old_dirs.push_back(y);
            self.old_stps.push_back(s);
            self.ro.push_back(1.0 / ys);
        }
    }

    /// Runs up to `max_iter` iterations; returns the loss the first closure call reported.
    ///
    /// # Errors
    /// Whatever the closure returns.
    pub fn step(&mut self, mut closure: impl FnMut() -> Result<f32>) -> Result<f32> {
        let c = self.config;
        let max_eval = c.max_eval.unwrap_or(c.max_iter * 5 / 4);
        let orig_loss = closure()?;
        let mut loss = orig_loss;
        let mut current_evals = 1;
        self.func_evals += 1;
        let mut flat_grad = self.flat_grad();
        if max_abs(&flat_grad) <= c.tolerance_grad {
            return Ok(orig_loss);
        }
        let mut n_iter = 0;
        while n_iter < c.max_iter {
            n_iter += 1;
            self.n_iter += 1;
            if self.n_iter == 1 {
                self.d = flat_grad.iter().map(|g| -g).collect();
                self.old_dirs.clear();
                self.old_stps.clear();
                self.ro.clear();
                self.h_diag = 1.0;
            } else {
                self.update_history(&flat_grad);
                self.d = self.direction(&flat_grad);
            }
            self.prev_flat_grad.clone_from(&flat_grad);
            let prev_loss = loss;
            self.t = if self.n_iter == 1 {
                let l1: f32 = flat_grad.iter().map(|g| g.abs()).sum();
                (1.0f32).min(1.0 / l1) * c.lr
            } else {
                c.lr
            };
            let gtd = dot(&flat_grad, &self.d);
            if gtd > -f64::from(c.tolerance_change) {
                break;
            }
            let mut opt_cond = false;
            let d = std::mem::take(&mut self.d);
            match c.line_search_fn {
                LineSearch::StrongWolfe => {
                    let x_init = self.param_values();
                    let found = strong_wolfe(
                        |t| {
                            self.add_to_params(t, &d);
                            let loss = closure()?;
                            let grad = self.flat_grad();
                            self.set_param_values(&x_init);
                            Ok((loss, grad))
                        },
                        &d,
                        self.t,
                        loss,
                        &flat_grad,
                        gtd,
                        max_eval - current_evals,
                    )?;
                    (loss, flat_grad, self.t) = (found.loss, found.grad, found.t);
                    self.add_to_params(self.t, &d);
                    opt_cond = max_abs(&flat_grad) <= c.tolerance_grad;
                    current_evals += found.evals;
                    self.func_evals += found.evals;
                }
                LineSearch::None => {
                    self.add_to_params(self.t, &d);
                    if n_iter != c.max_iter {
                        loss = closure()?;
                        flat_grad = self.flat_grad();
                        opt_cond = max_abs(&flat_grad) <= c.tolerance_grad;
                        current_evals += 1;
                        self.func_evals += 1;
                    }
                }
            }
            self.d = d;
            if n_iter == c.max_iter || current_evals >= max_eval || opt_cond {
                break;
            }
            if max_abs(&self.d) * self.t.abs() <= c.tolerance_change
                || (loss - prev_loss).abs() < c.tolerance_change
            {
                break;
            }
        }
        Ok(orig_loss)
    }
}
