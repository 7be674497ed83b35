//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves for
//! Customer Base Analysis", JMR 42(4); Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary
//! Value", http://brucehardie.com/notes/025/), fitted on customers with at least one repeat purchase.

use super::fit::{parallel_sum, Likelihood};
use super::special::{digamma, ln_gamma};

/// Repeat buyers as distinct (x, m) patterns: x (repeat purchases, > 0), m (mean spend of the
/// repeat purchases, > 0), w (customers with that pattern), so the likelihood is a weighted sum
/// over patterns rather than customers.
pub struct Spend {
    pub x: Vec<u32>,
    pub m: Vec<f64>,
    pub w: Vec<f64>,
    pub max_x: u32,
}

impl Spend {
    /// The distinct patterns of the repeat buyers (x > 0, m > 0) among `x`, `m`.
    pub fn new(x: &[u32], m: &[f64]) -> Spend {
        let mut rows: Vec<(u32, u64)> = x
            .iter()
            .zip(m)
            .filter(|(&x, &m)| x > 0 && m > 0.0)
            .map(|(&x, &m)| (x, m.to_bits()))
            .collect();
        rows.sort_unstable();
        let mut s = Spend {
            x: Vec::new(),
            m: Vec::new(),
            w: Vec::new(),
            max_x: 0,
        };
        for (i, row) in rows.iter().enumerate() {
            if i > 0 && rows[i - 1] == *row {
                if let Some(w) = s.w.last_mut() {
                    *w += 1.0;
                }
                continue;
            }
            s.x.push(row.0);
            s.m.push(f64::from_bits(row.1));
            s.w.push(1.0);
            s.max_x = s.max_x.max(row.0);
        }
        s
    }

    /// Customers (the sum of the weights).
    pub fn customers(&self) -> f64 {
        self.w.iter().sum()
    }
}

pub struct GammaGamma<'a> {
    pub data: &'a Spend,
}

impl GammaGamma<'_> {
    /// E[M | x, m̄] = (q − 1)/(px + q − 1) · pγ/(q − 1) + px/(px + q − 1) · m̄; for customers
    /// without a repeat purchase (x = 0) the population mean pγ/(q − 1). Needs q > 1.
    pub fn expected_spend(p: &[f64], x: u32, m: f64) -> f64 {
        let [pp, q, gamma] = p[..] else {
            return f64::NAN;
        };
        if q <= 1.0 {
            return f64::NAN;
        }
        let px = pp * f64::from(x);
        (gamma + m * f64::from(x)) * pp / (px + q - 1.0)
    }
}

impl GammaGamma<'_> {
    fn evaluate(&self, p: &[f64], grad: bool) -> Option<(f64, Vec<f64>)> {
        let [pp, q, gamma] = p[..] else { return None };
        let d = self.data;
        let per_x: Vec<[f64; 4]> = (0..=d.max_x)
            .map(|x| {
                let px = pp * f64::from(x);
                let (lg, ps) = if x == 0 {
                    (0.0, 0.0)
                } else {
                    (
                        ln_gamma(px + q) - ln_gamma(px),
                        if grad {
                            digamma(px + q) - digamma(px)
                        } else {
                            0.0
                        },
                    )
                };
                let psq = if grad && x > 0 { digamma(px + q) } else { 0.0 };
                [lg, ps, psq, f64::from(x).ln()]
            })
            .collect();
        let (lg_q, ps_q, ln_gamma_) =
            (ln_gamma(q), if grad { digamma(q) } else { 0.0 }, gamma.ln());
        let total = parallel_sum::<4>(d.x.len(), |i, acc| {
            let xi = d.x[i] as usize;
            let [lg, ps, psq, ln_x] = per_x[xi];
            let x = f64::from(d.x[i]);
            let m = d.m[i];
            let px = pp * x;
            let ln_m = m.ln();
            let ln_den = (gamma + m * x).ln();
            let ll = lg - lg_q + q * ln_gamma_ + (px - 1.0) * ln_m + px * ln_x - (px + q) * ln_den;
            let w = d.w[i];
            acc[0] += w * ll;
            if grad {
                acc[1] += w * x * (ps + ln_m + ln_x - ln_den);
                acc[2] += w * (psq - ps_q + ln_gamma_ - ln_den);
                acc[3] += w * (q / gamma - (px + q) / (gamma + m * x));
            }
            ll.is_finite()
        })?;
        Some((total[0], total[1..].to_vec()))
    }
}

impl Likelihood for GammaGamma<'_> {
    fn names(&self) -> &'static [&'static str] {
        &["p", "q", "gamma"]
    }
    fn count(&self) -> f64 {
        self.data.customers()
    }
    fn ll(&self, params: &[f64]) -> Option<f64> {
        self.evaluate(params, false).map(|(ll, _)| ll)
    }
    fn ll_grad(&self, params: &[f64]) -> Option<(f64, Vec<f64>)> {
        self.evaluate(params, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let data = Spend::new(
            &[1, 2, 2, 5, 9, 2, 0],
            &[10.0, 25.5, 40.0, 18.2, 33.3, 25.5, 7.0],
        );
        assert_eq!(data.x.len(), 5);
        assert_eq!(data.customers(), 6.0);
        let model = GammaGamma { data: &data };
        let p = [5.0, 3.0, 12.0];
        let (_, grad) = model.ll_grad(&p).unwrap();
        for i in 0..3 {
            let h = 1e-6;
            let mut up = p;
            up[i] += h;
            let mut down = p;
            down[i] -= h;
            let numeric = (model.ll(&up).unwrap() - model.ll(&down).unwrap()) / (2.0 * h);
            assert!(
                (grad[i] - numeric).abs() < 1e-5 * numeric.abs().max(1.0),
                "{i}: {} vs {numeric}",
                grad[i]
            );
        }
    }

    /// The expected spend shrinks the customer's mean towards the population mean pγ/(q − 1),
    /// more so with few purchases (Fader & Hardie 2013, eq. 5).
    #[test]
    fn expected_spend_is_a_weighted_mean() {
        let p = [6.25, 3.74, 15.44];
        let population = 6.25 * 15.44 / 2.74;
        assert!((GammaGamma::expected_spend(&p, 0, 0.0) - population).abs() < 1e-9);
        let one = GammaGamma::expected_spend(&p, 1, 100.0);
        let ten = GammaGamma::expected_spend(&p, 10, 100.0);
        assert!(population < one && one < ten && ten < 100.0);
        let weight = 6.25 * 10.0 / (6.25 * 10.0 + 3.74 - 1.0);
        assert!((ten - (weight * 100.0 + (1.0 - weight) * population)).abs() < 1e-9);
    }
}
