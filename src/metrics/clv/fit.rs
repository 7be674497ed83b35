//! Maximum likelihood for the CLV models: L-BFGS (argmin) on log-parameters, so every parameter
//! stays positive, with Nelder–Mead as the fallback when the line search gives up; standard errors
//! from the inverse Hessian of the log-likelihood.

use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason, TerminationStatus};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::neldermead::NelderMead;
use argmin::solver::quasinewton::LBFGS;

/// A model's log-likelihood over its data, as a function of the natural (positive) parameters.
pub trait Likelihood: Sync {
    /// Parameter names in order, e.g. r, alpha, a, b.
    fn names(&self) -> &'static [&'static str];
    /// Sum of weights (customers).
    fn count(&self) -> f64;
    /// Total log-likelihood, or `None` where it is not finite.
    fn ll(&self, params: &[f64]) -> Option<f64>;
    /// Total log-likelihood and its gradient in the natural parameters. The default uses central
    /// differences of [`Likelihood::ll`]; models with a closed form override it.
    fn ll_grad(&self, params: &[f64]) -> Option<(f64, Vec<f64>)> {
        let value = self.ll(params)?;
        let mut grad = Vec::with_capacity(params.len());
        for i in 0..params.len() {
            let h = 1e-6 * params[i].abs().max(1e-8);
            let mut up = params.to_vec();
            up[i] += h;
            let mut down = params.to_vec();
            down[i] -= h;
            grad.push((self.ll(&up)? - self.ll(&down)?) / (2.0 * h));
        }
        Some((value, grad))
    }
}

/// A fitted model: parameters, log-likelihood and standard errors (None when the Hessian is not
/// negative definite, i.e. the optimum is flat in some direction).
#[derive(Debug, Clone)]
pub struct Fit {
    pub names: &'static [&'static str],
    pub params: Vec<f64>,
    pub ll: f64,
    pub std_errors: Option<Vec<f64>>,
    /// The covariance of the estimates of ln θ (the inverse observed information of the
    /// penalised total, in log parameters): what the prediction intervals draw from. The same
    /// under a rescaling of time, which only shifts ln α.
    pub log_cov: Vec<Vec<f64>>,
    pub iterations: u64,
    pub customers: f64,
}

impl Fit {
    pub fn get(&self, name: &str) -> f64 {
        let i = self.names.iter().position(|n| *n == name).unwrap_or(0);
        self.params[i]
    }
}

/// The objective argmin minimises: −LL/n + penalty·Σθ², over φ = ln θ.
struct Objective<'a> {
    model: &'a dyn Likelihood,
    penalty: f64,
    /// The first point a solver tried past [`LOG_BOUND`], to say which parameter ran away.
    runaway: std::sync::Mutex<Option<Vec<f64>>>,
}

impl Objective<'_> {
    fn value_grad(&self, phi: &[f64]) -> Option<(f64, Vec<f64>)> {
        let theta: Vec<f64> = phi.iter().map(|p| p.exp()).collect();
        let (ll, grad) = self.model.ll_grad(&theta)?;
        let n = self.model.count();
        let value = -ll / n + self.penalty * theta.iter().map(|t| t * t).sum::<f64>();
        let grad = theta
            .iter()
            .zip(&grad)
            .map(|(t, g)| t * (-g / n) + 2.0 * self.penalty * t * t)
            .collect::<Vec<_>>();
        (value.is_finite() && grad.iter().all(|g| g.is_finite())).then_some((value, grad))
    }
}

/// How far (in log space) a parameter may go: e^±25 ≈ 7e10 and 1.4e-11, beyond any fit the data
/// identifies (Gamma-Gamma's scale in a currency of large amounts stays far below). A search that
/// gets there is running off to a boundary and stops, instead of spending thousands of passes
/// over the customers on the way.
const LOG_BOUND: f64 = 25.0;

impl Objective<'_> {
    /// An error for a point past the bound, remembering the first such point.
    fn runaway(&self, phi: &[f64]) -> argmin::core::Error {
        if let Ok(mut first) = self.runaway.lock() {
            first.get_or_insert_with(|| phi.to_vec());
        }
        argmin::core::Error::msg("a parameter ran off to a boundary")
    }
}

impl CostFunction for Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, phi: &Self::Param) -> Result<f64, argmin::core::Error> {
        if phi.iter().any(|p| p.abs() > LOG_BOUND) {
            return Err(self.runaway(phi));
        }
        let theta: Vec<f64> = phi.iter().map(|p| p.exp()).collect();
        let n = self.model.count();
        Ok(match self.model.ll(&theta) {
            Some(ll) => -ll / n + self.penalty * theta.iter().map(|t| t * t).sum::<f64>(),
            // An infinite cost makes the line search and the simplex step back.
            None => f64::INFINITY,
        })
    }
}

impl Gradient for Objective<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, phi: &Self::Param) -> Result<Vec<f64>, argmin::core::Error> {
        if phi.iter().any(|p| p.abs() > LOG_BOUND) {
            return Err(self.runaway(phi));
        }
        self.value_grad(phi)
            .map(|(_, g)| g)
            .ok_or_else(|| argmin::core::Error::msg("the log-likelihood is not finite here"))
    }
}

/// Why a fit failed.
#[derive(Debug, Clone, PartialEq)]
pub enum FitFailure {
    /// The search found nothing, or the likelihood is not finite (the message says which).
    Failed(String),
    /// A parameter ran to a boundary (`high`: towards infinity, else towards 0): the data do not
    /// bound it, so any value past the one reported fits as well.
    Boundary {
        param: &'static str,
        value: f64,
        high: bool,
    },
    /// The optimum is flat along a parameter: the Hessian is not negative definite, or the
    /// standard error of its logarithm is above [`MAX_LOG_SE`] (the 95 % interval spans a
    /// factor of e^±10 or more).
    Flat {
        param: &'static str,
        value: f64,
        /// Standard error of ln(param); `None` when the Hessian is not negative definite.
        log_se: Option<f64>,
    },
}

/// Past e^±18 (6.6e7, 1.5e-8; times rescaled so the longest T is 10) a parameter is at a
/// boundary: no CLV model fitted to real purchases has one there.
const AT_BOUND: f64 = 18.0;

/// The largest standard error of ln(parameter) an identified fit may have.
pub const MAX_LOG_SE: f64 = 5.0;

/// Maximises the penalised likelihood from `start` (natural parameters) and checks that the
/// optimum is identified: inside the bounds, with a negative-definite Hessian and no parameter
/// whose logarithm has a standard error above [`MAX_LOG_SE`]. `errors` reports the standard
/// errors (they are computed for the check either way).
pub fn fit(
    model: &dyn Likelihood,
    start: &[f64],
    penalty: f64,
    errors: bool,
) -> Result<Fit, FitFailure> {
    let objective = Objective {
        model,
        penalty,
        runaway: std::sync::Mutex::new(None),
    };
    let names = model.names();
    let phi0: Vec<f64> = start.iter().map(|s| s.ln()).collect();
    if objective.value_grad(&phi0).is_none() {
        return Err(FitFailure::Failed(
            "the log-likelihood is not finite at the starting values".into(),
        ));
    }
    let found = lbfgs(&objective, phi0.clone()).or_else(|| nelder_mead(&objective, &phi0));
    let Some((phi, iterations)) = found else {
        let ran = objective.runaway.lock().ok().and_then(|r| r.clone());
        return Err(match ran {
            Some(phi) => boundary(names, &phi)
                .unwrap_or_else(|| FitFailure::Failed("a parameter ran off to a boundary".into())),
            None => {
                FitFailure::Failed("the optimiser did not converge (L-BFGS and Nelder-Mead)".into())
            }
        });
    };
    if let Some(at_bound) = boundary(names, &phi) {
        return Err(at_bound);
    }
    let params: Vec<f64> = phi.iter().map(|p| p.exp()).collect();
    let ll = model
        .ll(&params)
        .filter(|v| v.is_finite())
        .ok_or_else(|| FitFailure::Failed("the fitted log-likelihood is not finite".into()))?;
    // The observed information of the penalised total, in φ: what the fit actually maximised.
    let n = model.count();
    let total = |phi: &[f64]| {
        let theta: Vec<f64> = phi.iter().map(|v| v.exp()).collect();
        let ll = model.ll(&theta)?;
        Some(ll - n * penalty * theta.iter().map(|t| t * t).sum::<f64>())
    };
    let log_cov = log_covariance(&total, &phi);
    let flat = |i: usize, log_se: Option<f64>| FitFailure::Flat {
        param: names[i],
        value: params[i],
        log_se,
    };
    let Some(log_se) = log_cov.as_ref().and_then(|cov: &Vec<Vec<f64>>| {
        (0..phi.len())
            .map(|i| {
                let v = cov[i][i];
                (v > 0.0 && v.is_finite()).then(|| v.sqrt())
            })
            .collect::<Option<Vec<f64>>>()
    }) else {
        // Not negative definite: blame the parameter whose own curvature is flattest.
        let worst = flattest(&total, &phi);
        return Err(flat(worst, None));
    };
    if let Some(worst) = (0..phi.len())
        .filter(|&i| log_se[i] > MAX_LOG_SE)
        .max_by(|&a, &b| log_se[a].total_cmp(&log_se[b]))
    {
        return Err(flat(worst, Some(log_se[worst])));
    }
    let std_errors = if errors && penalty == 0.0 {
        Some(params.iter().zip(&log_se).map(|(p, s)| p * s).collect())
    } else if errors {
        standard_errors(model, &params)
    } else {
        None
    };
    Ok(Fit {
        names,
        std_errors,
        params,
        ll,
        log_cov: log_cov.unwrap_or_default(),
        iterations,
        customers: model.count(),
    })
}

/// The parameter furthest past [`AT_BOUND`] in log space, if any.
fn boundary(names: &'static [&'static str], phi: &[f64]) -> Option<FitFailure> {
    let i = (0..phi.len())
        .filter(|&i| !phi[i].is_finite() || phi[i].abs() > AT_BOUND)
        .max_by(|&a, &b| phi[a].abs().total_cmp(&phi[b].abs()))?;
    Some(FitFailure::Boundary {
        param: names[i],
        value: phi[i].exp(),
        high: phi[i] > 0.0,
    })
}

/// The parameter along which `f` curves least (its second derivative nearest to 0 or positive).
fn flattest(f: &dyn Fn(&[f64]) -> Option<f64>, phi: &[f64]) -> usize {
    let h = 1e-4;
    let curvature = |i: usize| -> f64 {
        let at = |d: f64| {
            let mut p = phi.to_vec();
            p[i] += d;
            f(&p)
        };
        match (at(h), f(phi), at(-h)) {
            (Some(u), Some(c), Some(d)) => (u - 2.0 * c + d) / (h * h),
            _ => f64::INFINITY,
        }
    };
    (0..phi.len())
        .max_by(|&a, &b| curvature(a).total_cmp(&curvature(b)))
        .unwrap_or(0)
}

fn lbfgs(objective: &Objective, phi0: Vec<f64>) -> Option<(Vec<f64>, u64)> {
    let linesearch = MoreThuenteLineSearch::new();
    let solver = LBFGS::new(linesearch, 7)
        .with_tolerance_grad(1e-9)
        .ok()?
        .with_tolerance_cost(1e-14)
        .ok()?;
    let result = Executor::new(objective_ref(objective), solver)
        .configure(|state| state.param(phi0).max_iters(500))
        .run()
        .ok()?;
    let state = result.state();
    converged(state.get_termination_status())?;
    let phi = state.get_best_param()?.clone();
    // Accept only a stationary point: the gradient of the mean objective must be small.
    let (_, grad) = objective.value_grad(&phi)?;
    (grad.iter().map(|g| g.abs()).fold(0.0, f64::max) < 1e-5).then_some((phi, state.get_iter()))
}

fn nelder_mead(objective: &Objective, phi0: &[f64]) -> Option<(Vec<f64>, u64)> {
    let mut simplex = vec![phi0.to_vec()];
    for i in 0..phi0.len() {
        let mut vertex = phi0.to_vec();
        vertex[i] += 0.5;
        simplex.push(vertex);
    }
    let solver = NelderMead::new(simplex).with_sd_tolerance(1e-12).ok()?;
    let result = Executor::new(objective_ref(objective), solver)
        .configure(|state| state.max_iters(4_000))
        .run()
        .ok()?;
    let state = result.state();
    converged(state.get_termination_status())?;
    Some((state.get_best_param()?.clone(), state.get_iter()))
}

fn converged(status: &TerminationStatus) -> Option<()> {
    match status {
        TerminationStatus::Terminated(TerminationReason::SolverConverged) => Some(()),
        _ => None,
    }
}

/// argmin takes the problem by value; a reference wrapper keeps the objective borrowed.
fn objective_ref<'a, 'b>(objective: &'a Objective<'b>) -> ObjectiveRef<'a, 'b> {
    ObjectiveRef(objective)
}

struct ObjectiveRef<'a, 'b>(&'a Objective<'b>);

impl CostFunction for ObjectiveRef<'_, '_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, phi: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        self.0.cost(phi)
    }
}

impl Gradient for ObjectiveRef<'_, '_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, phi: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        self.0.gradient(phi)
    }
}

/// Standard errors of the natural parameters (of the likelihood alone, for a penalised fit):
/// the observed information is the negative Hessian of the total log-likelihood, taken by
/// central differences in φ = ln θ (better conditioned), then carried to θ by the delta method
/// (Cov θ = D Cov φ D with D = diag θ, exact at the optimum where the gradient vanishes).
fn standard_errors(model: &dyn Likelihood, params: &[f64]) -> Option<Vec<f64>> {
    let phi: Vec<f64> = params.iter().map(|p| p.ln()).collect();
    let ll = |p: &[f64]| model.ll(&p.iter().map(|v| v.exp()).collect::<Vec<_>>());
    let cov = log_covariance(&ll, &phi)?;
    (0..params.len())
        .map(|i| {
            let var = cov[i][i];
            (var > 0.0 && var.is_finite()).then(|| params[i] * var.sqrt())
        })
        .collect()
}

/// The inverse of the negative Hessian of `f` at `phi` (central differences), when it exists and
/// is positive definite: the covariance of the estimate of φ.
fn log_covariance(f: &dyn Fn(&[f64]) -> Option<f64>, phi: &[f64]) -> Option<Vec<Vec<f64>>> {
    let k = phi.len();
    let h = 1e-4;
    let f0 = f(phi)?;
    let mut hess = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in i..k {
            let at = |di: f64, dj: f64| {
                let mut p = phi.to_vec();
                p[i] += di;
                p[j] += dj;
                f(&p)
            };
            let value = if i == j {
                (at(h, 0.0)? - 2.0 * f0 + at(-h, 0.0)?) / (h * h)
            } else {
                (at(h, h)? - at(h, -h)? - at(-h, h)? + at(-h, -h)?) / (4.0 * h * h)
            };
            hess[i][j] = -value;
            hess[j][i] = -value;
        }
    }
    if !positive_definite(&hess) {
        return None;
    }
    invert(hess)
}

/// Cholesky: whether a symmetric matrix is positive definite.
fn positive_definite(m: &[Vec<f64>]) -> bool {
    cholesky(m).is_some()
}

/// The lower Cholesky factor L (m = L·Lᵀ) of a symmetric matrix, when it is positive definite.
pub fn cholesky(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let k = m.len();
    let mut l = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|p| l[i][p] * l[j][p]).sum();
            if i == j {
                let d = m[i][i] - sum;
                if !(d > 0.0 && d.is_finite()) {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (m[i][j] - sum) / l[j][j];
            }
        }
    }
    Some(l)
}

/// Gauss–Jordan inverse with partial pivoting; `None` for a singular matrix.
fn invert(mut m: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let k = m.len();
    let mut inv: Vec<Vec<f64>> = (0..k)
        .map(|i| (0..k).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    for col in 0..k {
        let pivot = (col..k).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() < 1e-300 {
            return None;
        }
        m.swap(col, pivot);
        inv.swap(col, pivot);
        let d = m[col][col];
        for j in 0..k {
            m[col][j] /= d;
            inv[col][j] /= d;
        }
        for row in 0..k {
            if row != col {
                let f = m[row][col];
                for j in 0..k {
                    m[row][j] -= f * m[col][j];
                    inv[row][j] -= f * inv[col][j];
                }
            }
        }
    }
    Some(inv)
}

/// Sums `f(i)` over `0..n` in fixed-size chunks on all cores, adding the chunk sums in chunk order:
/// the result does not depend on the number of threads, so reruns and machines agree to the bit.
pub fn parallel_sum<const K: usize>(
    n: usize,
    f: impl Fn(usize, &mut [f64; K]) -> bool + Sync,
) -> Option<[f64; K]> {
    const CHUNK: usize = 8192;
    let chunks = n.div_ceil(CHUNK);
    let threads = std::thread::available_parallelism()
        .map(|t| t.get())
        .unwrap_or(1)
        .min(chunks.max(1));
    let sums: Vec<Option<[f64; K]>> = if threads <= 1 {
        (0..chunks).map(|c| chunk_sum(c, n, &f)).collect()
    } else {
        let mut out = vec![None; chunks];
        std::thread::scope(|scope| {
            let parts: Vec<_> = out.chunks_mut(chunks.div_ceil(threads)).collect();
            let mut first = 0;
            for part in parts {
                let start = first;
                first += part.len();
                let f = &f;
                scope.spawn(move || {
                    for (k, slot) in part.iter_mut().enumerate() {
                        *slot = chunk_sum(start + k, n, f);
                    }
                });
            }
        });
        out
    };
    let mut total = [0.0; K];
    for s in sums {
        let s = s?;
        for k in 0..K {
            total[k] += s[k];
        }
    }
    Some(total)
}

fn chunk_sum<const K: usize>(
    chunk: usize,
    n: usize,
    f: &impl Fn(usize, &mut [f64; K]) -> bool,
) -> Option<[f64; K]> {
    const CHUNK: usize = 8192;
    let mut acc = [0.0; K];
    for i in chunk * CHUNK..((chunk + 1) * CHUNK).min(n) {
        if !f(i, &mut acc) {
            return None;
        }
    }
    Some(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_of_a_known_matrix() {
        let m = vec![vec![4.0, 7.0], vec![2.0, 6.0]];
        let inv = invert(m).unwrap();
        let expect = [[0.6, -0.7], [-0.2, 0.4]];
        for i in 0..2 {
            for j in 0..2 {
                assert!((inv[i][j] - expect[i][j]).abs() < 1e-12);
            }
        }
        assert!(invert(vec![vec![1.0, 2.0], vec![2.0, 4.0]]).is_none());
        assert!(positive_definite(&[vec![4.0, 2.0], vec![2.0, 3.0]]));
        assert!(!positive_definite(&[vec![1.0, 2.0], vec![2.0, 1.0]]));
        assert!(!positive_definite(&[vec![1.0, 0.0], vec![0.0, 0.0]]));
    }

    #[test]
    fn parallel_sum_is_exact_for_integers() {
        let total = parallel_sum::<2>(100_000, |i, acc| {
            acc[0] += i as f64;
            acc[1] += 1.0;
            true
        })
        .unwrap();
        assert_eq!(total, [4_999_950_000.0, 100_000.0]);
        assert!(parallel_sum::<1>(10, |i, _| i != 7).is_none());
    }
}
