//! L2-regularised logistic regression on standardised features (docs/metrics.md, "Churn
//! prediction"): minimises the mean log loss + λ/2 · Σ w² (the intercept is not penalised) with
//! argmin's L-BFGS. Sums over rows are taken in fixed chunks and added in chunk order, so a fit
//! gives the same coefficients on any number of threads.

use anyhow::{bail, Result};
use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use rayon::prelude::*;

/// Rows of features, row-major: `n` rows of `p` values.
#[derive(Debug, Clone, Default)]
pub struct Matrix {
    pub p: usize,
    pub values: Vec<f64>,
}

impl Matrix {
    pub fn new(p: usize) -> Matrix {
        Matrix {
            p,
            values: Vec::new(),
        }
    }

    pub fn rows(&self) -> usize {
        self.values.len().checked_div(self.p).unwrap_or(0)
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.p..(i + 1) * self.p]
    }

    pub fn push(&mut self, row: &[f64]) {
        debug_assert_eq!(row.len(), self.p);
        self.values.extend_from_slice(row);
    }
}

/// Each feature's mean and standard deviation on the training rows; a feature that does not
/// vary there has sd 0 and is left out of the model (its standardised value is 0).
#[derive(Debug, Clone)]
pub struct Standardiser {
    pub mean: Vec<f64>,
    pub sd: Vec<f64>,
}

impl Standardiser {
    pub fn of(x: &Matrix) -> Standardiser {
        let n = x.rows().max(1) as f64;
        let mut mean = vec![0.0; x.p];
        for i in 0..x.rows() {
            for (m, v) in mean.iter_mut().zip(x.row(i)) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0; x.p];
        for i in 0..x.rows() {
            for ((s, v), m) in var.iter_mut().zip(x.row(i)).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        let sd = var
            .iter()
            .map(|s| {
                let sd = (s / n).sqrt();
                if sd > 1e-12 {
                    sd
                } else {
                    0.0
                }
            })
            .collect();
        Standardiser { mean, sd }
    }

    /// The standardised value of feature `j`.
    pub fn z(&self, j: usize, v: f64) -> f64 {
        if self.sd[j] > 0.0 {
            (v - self.mean[j]) / self.sd[j]
        } else {
            0.0
        }
    }

    fn apply(&self, x: &Matrix) -> Matrix {
        let mut out = Matrix::new(x.p);
        out.values = x
            .values
            .iter()
            .enumerate()
            .map(|(k, &v)| self.z(k % x.p, v))
            .collect();
        out
    }
}

/// A fitted model: intercept and coefficients on the standardised features.
#[derive(Debug, Clone)]
pub struct Logistic {
    pub intercept: f64,
    pub coef: Vec<f64>,
    pub scale: Standardiser,
    pub lambda: f64,
}

pub fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

impl Logistic {
    /// The linear score of a row of raw features.
    pub fn score(&self, row: &[f64]) -> f64 {
        self.intercept
            + row
                .iter()
                .enumerate()
                .map(|(j, &v)| self.coef[j] * self.scale.z(j, v))
                .sum::<f64>()
    }

    pub fn probability(&self, row: &[f64]) -> f64 {
        sigmoid(self.score(row))
    }

    /// Each feature's part of the score: coefficient × standardised value.
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .enumerate()
            .map(|(j, &v)| self.coef[j] * self.scale.z(j, v))
            .collect()
    }
}

/// Rows per chunk of the parallel sums (fixed, so the order of additions is too).
const CHUNK: usize = 4096;

/// The objective over standardised rows: mean log loss + λ/2 Σ w² (w without the intercept).
struct Objective<'a> {
    x: &'a Matrix,
    y: &'a [bool],
    lambda: f64,
}

impl Objective<'_> {
    fn value_grad(&self, w: &[f64]) -> (f64, Vec<f64>) {
        let p = self.x.p;
        let n = self.y.len();
        let partial: Vec<(f64, Vec<f64>)> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut loss = 0.0;
                let mut grad = vec![0.0; p + 1];
                for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                    let row = self.x.row(i);
                    let t = w[0] + row.iter().zip(&w[1..]).map(|(a, b)| a * b).sum::<f64>();
                    // log(1 + e^t) − y t, written to stay finite for large |t|.
                    let softplus = if t > 0.0 {
                        t + (-t).exp().ln_1p()
                    } else {
                        t.exp().ln_1p()
                    };
                    let yi = f64::from(u8::from(self.y[i]));
                    loss += softplus - yi * t;
                    let r = sigmoid(t) - yi;
                    grad[0] += r;
                    for (g, v) in grad[1..].iter_mut().zip(row) {
                        *g += r * v;
                    }
                }
                (loss, grad)
            })
            .collect();
        let mut loss = 0.0;
        let mut grad = vec![0.0; p + 1];
        for (l, g) in partial {
            loss += l;
            for (a, b) in grad.iter_mut().zip(g) {
                *a += b;
            }
        }
        let nf = n.max(1) as f64;
        loss /= nf;
        grad.iter_mut().for_each(|g| *g /= nf);
        loss += 0.5 * self.lambda * w[1..].iter().map(|v| v * v).sum::<f64>();
        for (g, v) in grad[1..].iter_mut().zip(&w[1..]) {
            *g += self.lambda * v;
        }
        (loss, grad)
    }
}

impl CostFunction for Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, w: &Self::Param) -> Result<f64, argmin::core::Error> {
        Ok(self.value_grad(w).0)
    }
}

impl Gradient for Objective<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, w: &Self::Param) -> Result<Vec<f64>, argmin::core::Error> {
        Ok(self.value_grad(w).1)
    }
}

/// Fits the model with penalty `lambda` (rows `x`, outcomes `y`).
pub fn fit(x: &Matrix, y: &[bool], lambda: f64) -> Result<Logistic> {
    let positives = y.iter().filter(|v| **v).count();
    if y.is_empty() || positives == 0 || positives == y.len() {
        bail!(
            "the training rows have {positives} of {} positive outcomes: a model needs both",
            y.len()
        );
    }
    let scale = Standardiser::of(x);
    let z = scale.apply(x);
    let objective = Objective { x: &z, y, lambda };
    // Start at the base rate, coefficients 0.
    let base = positives as f64 / y.len() as f64;
    let mut start = vec![0.0; x.p + 1];
    start[0] = (base / (1.0 - base)).ln();
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(1e-9)?
        .with_tolerance_cost(1e-14)?;
    let result = Executor::new(objective, solver)
        .configure(|s| s.param(start).max_iters(500))
        .run()?;
    let w = result
        .state()
        .get_best_param()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the logistic fit found no parameters"))?;
    Ok(Logistic {
        intercept: w[0],
        coef: w[1..].to_vec(),
        scale,
        lambda,
    })
}

/// Mean log loss of a model on rows (probabilities clipped to [1e-15, 1 − 1e-15]).
pub fn log_loss(model: &Logistic, x: &Matrix, y: &[bool]) -> f64 {
    let total: f64 = (0..y.len())
        .map(|i| {
            let p = model.probability(x.row(i)).clamp(1e-15, 1.0 - 1e-15);
            if y[i] {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    total / y.len().max(1) as f64
}

/// The penalties tried, weakest first.
pub const LAMBDAS: [f64; 5] = [1e-4, 1e-3, 1e-2, 1e-1, 1.0];

/// Chooses λ on the training rows only: fits on the rows outside `holdout`, scores the log loss
/// on the rows in it, takes the best λ (the larger on a tie), and refits on every row.
pub fn fit_chosen(x: &Matrix, y: &[bool], holdout: &[bool]) -> Result<Logistic> {
    let split = |keep: bool| {
        let mut m = Matrix::new(x.p);
        let mut out = Vec::new();
        for i in 0..y.len() {
            if holdout[i] == keep {
                m.push(x.row(i));
                out.push(y[i]);
            }
        }
        (m, out)
    };
    let (train_x, train_y) = split(false);
    let (test_x, test_y) = split(true);
    let mut best: Option<(f64, f64)> = None;
    for &lambda in &LAMBDAS {
        let Ok(model) = fit(&train_x, &train_y, lambda) else {
            continue;
        };
        if test_y.is_empty() {
            break;
        }
        let loss = log_loss(&model, &test_x, &test_y);
        if best.is_none_or(|(l, _)| loss <= l) {
            best = Some((loss, lambda));
        }
    }
    fit(x, y, best.map_or(1e-2, |(_, l)| l))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// y = 1 when x0 + noise > 0 (a deterministic noise sequence): the fit recovers a positive
    /// weight on x0 and none worth the name on the unrelated x1.
    #[test]
    fn the_fit_recovers_the_sign_of_a_real_driver() {
        let mut x = Matrix::new(2);
        let mut y = Vec::new();
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..4000 {
            let a = next() * 2.0 - 1.0;
            let b = next() * 2.0 - 1.0;
            let noise = (next() - 0.5) * 0.8;
            x.push(&[a, b]);
            y.push(a + noise > 0.0);
        }
        let m = fit(&x, &y, 1e-4).unwrap();
        assert!(m.coef[0] > 2.0, "{:?}", m.coef);
        assert!(m.coef[1].abs() < 0.3, "{:?}", m.coef);
        // Stronger penalties shrink the weight.
        let shrunk = fit(&x, &y, 1.0).unwrap();
        assert!(shrunk.coef[0] < m.coef[0] && shrunk.coef[0] > 0.0);
        // The same data give the same bits.
        let again = fit(&x, &y, 1e-4).unwrap();
        assert_eq!(m.coef, again.coef);
        assert!(fit(&x, &vec![true; 4000], 1e-2).is_err());
    }

    /// Against the closed form of one binary feature: with λ → 0 the fitted probabilities are
    /// the group rates (3/4 and 1/4).
    #[test]
    fn a_binary_feature_reproduces_the_group_rates() {
        let mut x = Matrix::new(1);
        let mut y = Vec::new();
        for (v, outcomes) in [
            (1.0, [true, true, true, false]),
            (0.0, [true, false, false, false]),
        ] {
            for o in outcomes {
                x.push(&[v]);
                y.push(o);
            }
        }
        let m = fit(&x, &y, 1e-9).unwrap();
        assert!((m.probability(&[1.0]) - 0.75).abs() < 1e-5);
        assert!((m.probability(&[0.0]) - 0.25).abs() < 1e-5);
    }
}
