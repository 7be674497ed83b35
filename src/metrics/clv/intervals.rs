//! Intervals on the CLV models (docs/metrics.md, "CLV intervals"): Wald intervals of each
//! parameter on the log scale, and for the predictions, draws of the parameters from their
//! fitted distribution — ln θ ~ Normal(ln θ̂, Σ), Σ the inverse observed information of the fit —
//! pushed through the same prediction formulas. A customer's interval is the quantiles of their
//! prediction over the draws; a total's is the quantiles of the total over the same draws (not the
//! sum of the customers' bounds, which would overstate it). These intervals carry the
//! uncertainty of the parameters, not the purchase process's own noise: they say how sure the
//! model is of each expectation, not where a customer's actual count will fall.

use super::fit::{cholesky, Fit};

/// Draws of the parameters of a run (fixed seed: the same draws, the same bytes, every run).
pub const DRAWS: usize = 200;
const SEED: u64 = 0x5eed_c1f0_2026_1207;

/// SplitMix64: a small, well-mixed generator, enough for normal draws by Box–Muller.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform on (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// `n` parameter vectors drawn from a fit: exp(ln θ̂ + L·z), z standard normal. `None` when the
/// fit has no usable covariance.
pub fn draw(fit: &Fit, n: usize, stream: u64) -> Option<Vec<Vec<f64>>> {
    let l = cholesky(&fit.log_cov)?;
    if l.len() != fit.params.len() {
        return None;
    }
    let mut rng = SplitMix(SEED ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    Some(
        (0..n)
            .map(|_| {
                let z: Vec<f64> = (0..l.len()).map(|_| rng.normal()).collect();
                fit.params
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let shift: f64 = (0..=i).map(|j| l[i][j] * z[j]).sum();
                        (p.ln() + shift).exp()
                    })
                    .collect()
            })
            .collect(),
    )
}

/// The Wald interval of a positive parameter on the log scale: exp(ln θ̂ ± z · se/θ̂).
pub fn wald_log(value: f64, std_error: f64, z: f64) -> (f64, f64) {
    let s = std_error / value;
    ((value.ln() - z * s).exp(), (value.ln() + z * s).exp())
}

/// The `level` interval of values (sorted in place): the (1 − level)/2 and (1 + level)/2
/// quantiles, interpolated linearly.
pub fn interval(values: &mut [f64], level: f64) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let q = |p: f64| crate::metrics::stats::quantile(values, p).unwrap_or(f64::NAN);
    (q((1.0 - level) / 2.0), q((1.0 + level) / 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::clv::{fit_purchases, Model, Summary};

    /// Gamma(shape, rate) by Marsaglia and Tsang (shape < 1 boosted by U^(1/shape)).
    fn gamma(rng: &mut SplitMix, shape: f64, rate: f64) -> f64 {
        if shape < 1.0 {
            let u = rng.uniform();
            return gamma(rng, shape + 1.0, rate) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = rng.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = rng.uniform();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v / rate;
            }
        }
    }

    /// Customers of a BG/NBD world over 52 weeks: λ ~ Gamma(r, α), p ~ Beta(a, b); purchases
    /// at rate λ, and after each one the customer leaves with probability p. Returns (x, t_x, T).
    fn simulate(seed: u64, n: usize, truth: [f64; 4]) -> (Vec<u32>, Vec<f64>, Vec<f64>) {
        let [r, alpha, a, b] = truth;
        let mut rng = SplitMix(seed);
        let (mut xs, mut txs, mut ts) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let lambda = gamma(&mut rng, r, alpha);
            let ga = gamma(&mut rng, a, 1.0);
            let p = ga / (ga + gamma(&mut rng, b, 1.0));
            let t_total = 52.0;
            let (mut now, mut x, mut last) = (0.0, 0u32, 0.0);
            loop {
                now += -rng.uniform().ln() / lambda;
                if now > t_total {
                    break;
                }
                x += 1;
                last = now;
                if rng.uniform() < p {
                    break;
                }
            }
            xs.push(x);
            txs.push(last);
            ts.push(t_total);
        }
        (xs, txs, ts)
    }

    /// The 90 % Wald intervals of the BG/NBD parameters cover the true values about 90 % of the
    /// time: 20 simulated worlds of 2,000 customers, 80 intervals; the binomial count of hits has
    /// mean 72 and sd 2.7, so fewer than 64 (or all 80 every time, intervals far too wide) fails.
    /// Measured: 74 of 80.
    #[test]
    fn parameter_intervals_cover_the_truth_about_as_often_as_they_say() {
        let truth = [0.25, 4.0, 0.8, 2.5];
        let z = crate::metrics::stats::normal_quantile(0.95);
        let mut hits = 0;
        let mut total = 0;
        for seed in 0..20u64 {
            let (x, tx, t) = simulate(1000 + seed, 2000, truth);
            let fit = fit_purchases(Model::BgNbd, &Summary::new(&x, &tx, &t), 0.0, true).unwrap();
            let se = fit.std_errors.as_ref().unwrap();
            for k in 0..4 {
                let (lo, hi) = wald_log(fit.params[k], se[k], z);
                total += 1;
                hits += usize::from(lo <= truth[k] && truth[k] <= hi);
            }
        }
        assert_eq!(total, 80);
        assert!(
            (64..80).contains(&hits),
            "{hits} of {total} intervals cover the truth"
        );
    }

    #[test]
    fn draws_follow_the_fitted_covariance() {
        let fit = Fit {
            names: &["a", "b"],
            params: vec![2.0, 0.5],
            ll: 0.0,
            std_errors: None,
            log_cov: vec![vec![0.04, 0.01], vec![0.01, 0.09]],
            iterations: 0,
            customers: 0.0,
        };
        let d = draw(&fit, 20_000, 1).unwrap();
        let logs: Vec<(f64, f64)> = d.iter().map(|v| (v[0].ln(), v[1].ln())).collect();
        let n = logs.len() as f64;
        let m0 = logs.iter().map(|v| v.0).sum::<f64>() / n;
        let m1 = logs.iter().map(|v| v.1).sum::<f64>() / n;
        let var0 = logs.iter().map(|v| (v.0 - m0).powi(2)).sum::<f64>() / n;
        let cov = logs.iter().map(|v| (v.0 - m0) * (v.1 - m1)).sum::<f64>() / n;
        assert!((m0 - 2f64.ln()).abs() < 0.01 && (m1 - 0.5f64.ln()).abs() < 0.01);
        assert!(
            (var0 - 0.04).abs() < 0.003 && (cov - 0.01).abs() < 0.003,
            "{var0} {cov}"
        );
        // Same seed, same draws.
        assert_eq!(draw(&fit, 5, 1), draw(&fit, 5, 1));
        let (lo, hi) = interval(&mut [3.0, 1.0, 2.0, 4.0, 5.0], 0.5);
        assert_eq!((lo, hi), (2.0, 4.0));
    }
}
