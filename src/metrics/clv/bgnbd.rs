//! BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way", Marketing Science
//! 24(2); likelihood as in section 7 and http://brucehardie.com/notes/004/).

use super::fit::{parallel_sum, Likelihood};
use super::special::{digamma, hyp2f1_series, ln_gamma, ln_hyp2f1, ln_hyp2f1_many, log_add_exp};
use super::Summary;

pub struct BgNbd<'a> {
    pub data: &'a Summary,
}

/// Per-x values of ln Γ and ψ, computed once per likelihood evaluation (x is a small integer).
struct PerX {
    lg_rx: Vec<f64>,
    lg_bx: Vec<f64>,
    lg_abx: Vec<f64>,
    ps_rx: Vec<f64>,
    ps_bx: Vec<f64>,
    ps_abx: Vec<f64>,
}

impl PerX {
    fn new(max_x: u32, r: f64, a: f64, b: f64, with_digamma: bool) -> PerX {
        let xs = 0..=max_x;
        let map = |f: &dyn Fn(f64) -> f64| xs.clone().map(|x| f(f64::from(x))).collect::<Vec<_>>();
        PerX {
            lg_rx: map(&|x| ln_gamma(r + x)),
            lg_bx: map(&|x| ln_gamma(b + x)),
            lg_abx: map(&|x| ln_gamma(a + b + x)),
            ps_rx: if with_digamma {
                map(&|x| digamma(r + x))
            } else {
                vec![]
            },
            ps_bx: if with_digamma {
                map(&|x| digamma(b + x))
            } else {
                vec![]
            },
            ps_abx: if with_digamma {
                map(&|x| digamma(a + b + x))
            } else {
                vec![]
            },
        }
    }
}

impl BgNbd<'_> {
    /// Log-likelihood and, with `grad`, its gradient in (r, α, a, b).
    fn evaluate(&self, p: &[f64], grad: bool) -> Option<(f64, Vec<f64>)> {
        let [r, alpha, a, b] = p[..] else { return None };
        let d = self.data;
        let per = PerX::new(d.max_x, r, a, b, grad);
        let (lg_r, lg_ab, lg_b) = (ln_gamma(r), ln_gamma(a + b), ln_gamma(b));
        let ln_alpha = alpha.ln();
        let (ps_r, ps_ab, ps_b) = if grad {
            (digamma(r), digamma(a + b), digamma(b))
        } else {
            (0.0, 0.0, 0.0)
        };
        let total = parallel_sum::<5>(d.len(), |i, acc| {
            let xi = d.x[i] as usize;
            let x = f64::from(d.x[i]);
            let w = d.w[i];
            let a1 = per.lg_rx[xi] - lg_r + r * ln_alpha;
            let a2 = lg_ab + per.lg_bx[xi] - lg_b - per.lg_abx[xi];
            let ln_at = (alpha + d.t[i]).ln();
            let a3 = -(r + x) * ln_at;
            let ll = if d.x[i] > 0 {
                let ln_atx = (alpha + d.tx[i]).ln();
                let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * ln_atx;
                let mix = log_add_exp(a3, a4);
                if grad {
                    let w3 = (a3 - mix).exp();
                    let w4 = (a4 - mix).exp();
                    acc[1] += w * (per.ps_rx[xi] - ps_r + ln_alpha - w3 * ln_at - w4 * ln_atx);
                    acc[2] += w
                        * (r / alpha
                            - w3 * (r + x) / (alpha + d.t[i])
                            - w4 * (r + x) / (alpha + d.tx[i]));
                    acc[3] += w * (ps_ab - per.ps_abx[xi] + w4 / a);
                    acc[4] +=
                        w * (ps_ab + per.ps_bx[xi] - ps_b - per.ps_abx[xi] - w4 / (b + x - 1.0));
                }
                a1 + a2 + mix
            } else {
                if grad {
                    acc[1] += w * (per.ps_rx[xi] - ps_r + ln_alpha - ln_at);
                    acc[2] += w * (r / alpha - (r + x) / (alpha + d.t[i]));
                    acc[3] += w * (ps_ab - per.ps_abx[xi]);
                    acc[4] += w * (ps_ab + per.ps_bx[xi] - ps_b - per.ps_abx[xi]);
                }
                a1 + a2 + a3
            };
            acc[0] += w * ll;
            ll.is_finite()
        })?;
        Some((total[0], total[1..].to_vec()))
    }

    /// P(alive | x, t_x, T).
    pub fn p_alive(p: &[f64], x: u32, tx: f64, t: f64) -> f64 {
        let [r, alpha, a, b] = p[..] else {
            return f64::NAN;
        };
        if x == 0 {
            return 1.0;
        }
        let x = f64::from(x);
        let ln_odds = (a / (b + x - 1.0)).ln() + (r + x) * ((alpha + t) / (alpha + tx)).ln();
        1.0 / (1.0 + ln_odds.exp())
    }

    /// E[Y(h) | x, t_x, T]: expected repeat purchases in the next `h` time units (FHL 2005, eq. 10).
    pub fn expected(p: &[f64], x: u32, tx: f64, t: f64, h: f64) -> f64 {
        let [r, alpha, a, b] = p[..] else {
            return f64::NAN;
        };
        if h <= 0.0 {
            return 0.0;
        }
        let xf = f64::from(x);
        let z = h / (alpha + t + h);
        let Some(ln_f) = ln_hyp2f1(r + xf, b + xf, a + b + xf - 1.0, z) else {
            return f64::NAN;
        };
        let ln_ratio = (r + xf) * ((alpha + t) / (alpha + t + h)).ln() + ln_f;
        let numerator = (a + b + xf - 1.0) / (a - 1.0) * -ln_ratio.exp_m1();
        let denominator = if x > 0 {
            1.0 + (a / (b + xf - 1.0)) * ((r + xf) * ((alpha + t) / (alpha + tx)).ln()).exp()
        } else {
            1.0
        };
        numerator / denominator
    }
}

impl BgNbd<'_> {
    /// E[Y(h) | x, t_x, T] for every h in `hs` (each > 0), sharing the series coefficients.
    pub fn expected_many(p: &[f64], x: u32, tx: f64, t: f64, hs: &[f64]) -> Vec<f64> {
        let [r, alpha, a, b] = p[..] else {
            return vec![f64::NAN; hs.len()];
        };
        let xf = f64::from(x);
        let zs: Vec<f64> = hs.iter().map(|h| h / (alpha + t + h)).collect();
        let c = a + b + xf - 1.0;
        if c <= 0.0 {
            // Only for x = 0 with a + b < 1: 2F1 then changes sign (its first term is
            // negative), so it is summed as a plain series instead of in logs.
            return hs
                .iter()
                .zip(&zs)
                .map(|(&h, &z)| {
                    if h <= 0.0 {
                        return 0.0;
                    }
                    let Some(f) = hyp2f1_series(r + xf, b + xf, c, z) else {
                        return f64::NAN;
                    };
                    let ratio = ((alpha + t) / (alpha + t + h)).powf(r + xf);
                    c / (a - 1.0) * (1.0 - ratio * f)
                })
                .collect();
        }
        let mut ln_f = vec![None; hs.len()];
        ln_hyp2f1_many(r + xf, b + xf, a + b + xf - 1.0, &zs, &mut ln_f);
        let denominator = if x > 0 {
            1.0 + (a / (b + xf - 1.0)) * ((r + xf) * ((alpha + t) / (alpha + tx)).ln()).exp()
        } else {
            1.0
        };
        hs.iter()
            .zip(ln_f)
            .map(|(&h, ln_f)| {
                if h <= 0.0 {
                    return 0.0;
                }
                let Some(ln_f) = ln_f else { return f64::NAN };
                let ln_ratio = (r + xf) * ((alpha + t) / (alpha + t + h)).ln() + ln_f;
                (a + b + xf - 1.0) / (a - 1.0) * -ln_ratio.exp_m1() / denominator
            })
            .collect()
    }
}

impl Likelihood for BgNbd<'_> {
    fn names(&self) -> &'static [&'static str] {
        &["r", "alpha", "a", "b"]
    }
    fn count(&self) -> f64 {
        self.data.weight
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
    use crate::metrics::clv::Summary;

    /// Fader, Hardie & Lee (2005), section 5: with r 0.243, α 4.414, a 0.793, b 2.426, a customer
    /// with x = 2, t_x = 30.43, T = 38.86 (weeks) is expected to make 1.226 purchases in the next
    /// 39 weeks.
    #[test]
    fn conditional_expectation_matches_the_paper() {
        let p = [0.243, 4.414, 0.793, 2.426];
        let e = BgNbd::expected(&p, 2, 30.43, 38.86, 39.0);
        assert!((e - 1.226).abs() < 0.0005, "{e}");
        // Without repeat purchases P(alive) is 1; it falls as the last purchase ages.
        assert_eq!(BgNbd::p_alive(&p, 0, 0.0, 38.86), 1.0);
        assert!(BgNbd::p_alive(&p, 2, 10.0, 38.86) < BgNbd::p_alive(&p, 2, 30.43, 38.86));
        assert!(BgNbd::expected(&p, 2, 30.43, 38.86, 52.0) > e);
        let many = BgNbd::expected_many(&p, 2, 30.43, 38.86, &[13.0, 39.0, 52.0]);
        for (h, got) in [13.0, 39.0, 52.0].into_iter().zip(many) {
            let want = BgNbd::expected(&p, 2, 30.43, 38.86, h);
            assert!((got - want).abs() < 1e-12, "{h}: {got} vs {want}");
        }
    }

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let data = Summary::new(
            &[0, 0, 1, 2, 5, 12, 3],
            &[0.0, 0.0, 3.5, 10.0, 20.0, 30.0, 31.0],
            &[10.0, 38.0, 30.0, 38.0, 38.0, 38.0, 31.0],
        );
        let model = BgNbd { data: &data };
        let p = [0.4, 5.0, 0.9, 2.1];
        let (_, grad) = model.ll_grad(&p).unwrap();
        for i in 0..4 {
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
}

#[cfg(test)]
mod negative_c {
    /// x = 0 with a + b < 1 (a penalised fit on CDNOW gave a 0.304, b 0.667): 2F1 with c < 0
    /// goes negative, and E[Y(t)] stays finite. Against scipy.special.hyp2f1 on the same formula
    /// (t = 4.348 and 52.176 weeks: 0.0216817123378 and 0.224654621729).
    #[test]
    fn expected_purchases_when_a_plus_b_is_below_one() {
        let p = [
            0.21456763137139567,
            3.3694325003301526,
            0.3038270795258395,
            0.6669126872283924,
        ];
        let v = super::BgNbd::expected_many(&p, 0, 0.0, 38.857142857142854, &[4.348, 52.176]);
        assert!((v[0] - 0.021_681_712_337_8).abs() < 1e-10, "{v:?}");
        assert!((v[1] - 0.224_654_621_729).abs() < 1e-9, "{v:?}");
    }
}
