//! Pareto/NBD (Schmittlein, Morrison & Colombo 1987), with the likelihood and P(alive) of
//! Fader & Hardie, "A Note on Deriving the Pareto/NBD Model and Related Expressions" (2005,
//! http://brucehardie.com/notes/009/): the A0 term through 2F1, evaluated in logs so heavy buyers
//! (large x) neither overflow nor cancel.

use super::fit::{parallel_sum, Likelihood};
use super::special::{ln_gamma, ln_hyp2f1_a_plus_one, log_add_exp};
use super::Summary;

pub struct ParetoNbd<'a> {
    pub data: &'a Summary,
}

/// ln of the two terms inside the likelihood's braces: ln[(α+T)^−(r+x) (β+T)^−s] and
/// ln[s/(r+s+x) · A0] (−∞ when t_x = T, where A0 = 0).
fn ln_terms(p: &[f64], x: f64, tx: f64, t: f64) -> Option<(f64, f64)> {
    let [r, alpha, s, beta] = p[..] else {
        return None;
    };
    let ln_first = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
    let rsx = r + s + x;
    let (b, base, diff) = if alpha >= beta {
        (s + 1.0, alpha, alpha - beta)
    } else {
        (r + x, beta, beta - alpha)
    };
    let part = |time: f64| -> Option<f64> {
        Some(ln_hyp2f1_a_plus_one(rsx, b, diff / (base + time))? - rsx * (base + time).ln())
    };
    let l1 = part(tx)?;
    let l2 = part(t)?;
    // A0 = e^l1 − e^l2 with l1 ≥ l2 (t_x ≤ T); a round-off negative difference means A0 = 0.
    let gap = l2 - l1;
    let ln_a0 = if gap < 0.0 {
        l1 + (-gap.exp()).ln_1p()
    } else {
        f64::NEG_INFINITY
    };
    Some((ln_first, (s / rsx).ln() + ln_a0))
}

impl ParetoNbd<'_> {
    /// P(alive | x, t_x, T).
    pub fn p_alive(p: &[f64], x: u32, tx: f64, t: f64) -> f64 {
        match ln_terms(p, f64::from(x), tx, t) {
            Some((first, second)) => 1.0 / (1.0 + (second - first).exp()),
            None => f64::NAN,
        }
    }

    /// E[Y(h) | x, t_x, T] = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+h))^(s−1)] · P(alive);
    /// at s = 1 the bracket over (s − 1) becomes ln((β+T+h)/(β+T)).
    pub fn expected(p: &[f64], x: u32, tx: f64, t: f64, h: f64) -> f64 {
        Self::expected_given_alive(p, x, t, h, Self::p_alive(p, x, tx, t))
    }

    /// [`Self::expected`] with P(alive) already known.
    pub fn expected_given_alive(p: &[f64], x: u32, t: f64, h: f64, alive: f64) -> f64 {
        let [r, alpha, s, beta] = p[..] else {
            return f64::NAN;
        };
        if h <= 0.0 {
            return 0.0;
        }
        let xf = f64::from(x);
        let ln_growth = ((beta + t + h) / (beta + t)).ln();
        let shape = if (s - 1.0).abs() < 1e-9 {
            ln_growth
        } else {
            -(-(s - 1.0) * ln_growth).exp_m1() / (s - 1.0)
        };
        (r + xf) * (beta + t) / (alpha + t) * shape * alive
    }
}

impl Likelihood for ParetoNbd<'_> {
    fn names(&self) -> &'static [&'static str] {
        &["r", "alpha", "s", "beta"]
    }
    fn count(&self) -> f64 {
        self.data.weight
    }
    fn ll(&self, p: &[f64]) -> Option<f64> {
        let [r, alpha, s, beta] = p[..] else {
            return None;
        };
        let d = self.data;
        let head = -ln_gamma(r) + r * alpha.ln() + s * beta.ln();
        let lg_rx: Vec<f64> = (0..=d.max_x).map(|x| ln_gamma(r + f64::from(x))).collect();
        let total = parallel_sum::<1>(d.len(), |i, acc| {
            let x = f64::from(d.x[i]);
            let Some((first, second)) = ln_terms(p, x, d.tx[i], d.t[i]) else {
                return false;
            };
            let ll = lg_rx[d.x[i] as usize] + head + log_add_exp(first, second);
            acc[0] += d.w[i] * ll;
            ll.is_finite()
        })?;
        Some(total[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CDNOW: [f64; 4] = [0.553, 10.578, 0.606, 11.669];

    #[test]
    fn p_alive_is_one_right_after_a_purchase_and_falls_with_time() {
        assert!((ParetoNbd::p_alive(&CDNOW, 3, 20.0, 20.0) - 1.0).abs() < 1e-12);
        let recent = ParetoNbd::p_alive(&CDNOW, 3, 35.0, 38.86);
        let old = ParetoNbd::p_alive(&CDNOW, 3, 5.0, 38.86);
        assert!(0.0 < old && old < recent && recent < 1.0);
    }

    /// Both branches of A0 (α ≥ β and α < β) agree where they meet: at α = β ± ε the
    /// likelihood is continuous.
    #[test]
    fn both_branches_of_a0_agree() {
        let below = [0.5, 10.0 - 1e-7, 0.6, 10.0];
        let above = [0.5, 10.0 + 1e-7, 0.6, 10.0];
        for (x, tx, t) in [(0.0, 0.0, 30.0), (2.0, 12.0, 38.0), (40.0, 37.0, 38.0)] {
            let (a1, b1) = ln_terms(&below, x, tx, t).unwrap();
            let (a2, b2) = ln_terms(&above, x, tx, t).unwrap();
            assert!((log_add_exp(a1, b1) - log_add_exp(a2, b2)).abs() < 1e-6);
        }
    }

    #[test]
    fn expected_purchases_grow_with_the_horizon_and_handle_s_equal_one() {
        let e1 = ParetoNbd::expected(&CDNOW, 2, 30.43, 38.86, 39.0);
        let e2 = ParetoNbd::expected(&CDNOW, 2, 30.43, 38.86, 78.0);
        assert!(0.0 < e1 && e1 < e2);
        let near = ParetoNbd::expected(&[0.553, 10.578, 1.0 + 1e-6, 11.669], 2, 30.43, 38.86, 39.0);
        let at = ParetoNbd::expected(&[0.553, 10.578, 1.0, 11.669], 2, 30.43, 38.86, 39.0);
        assert!((near - at).abs() < 1e-5);
    }
}
