//! Contract churn models by maximum likelihood (docs/metrics.md, "Retention"):
//! - the shifted-beta-geometric (sBG, Fader & Hardie 2007, "How to project customer retention"):
//!   each subscriber cancels at the end of a period with a probability θ of their own, θ ~
//!   Beta(α, β) over subscribers, so S(t) = B(α, β + t) / B(α, β) and the retention rate rises
//!   with tenure, r(t) = (β + t − 1) / (α + β + t − 1), as the likelier cancellers leave;
//! - the beta-discrete-Weibull (BdW, Fader, Hardie, Liu, Davin & Steenburgh 2018, "How to
//!   project customer retention revisited: the role of duration dependence"): the same mixing
//!   over a discrete Weibull, S(t) = B(α, β + t^c) / B(α, β); c = 1 is the sBG, c < 1 a
//!   churn propensity that falls with tenure for everyone, c > 1 one that rises;
//! - in place of a model whose fit runs off to the boundary of no heterogeneity (α + β → ∞,
//!   every subscriber alike): for the BdW its limit, the discrete Weibull S(t) = e^(−λ t^c)
//!   (duration dependence alone), and for the sBG (or a discrete Weibull with c → 1 or at a
//!   bound itself) the geometric, one churn rate θ for everyone.
//!
//! The data are counts per period: `lost[t]` subscribers who cancelled in period t (t ≥ 1:
//! they made t − 1 renewals) and `active[n]` still subscribed after n renewals.

use crate::metrics::clv::fit::{self, FitFailure, Likelihood};
use crate::metrics::clv::special::{ln_gamma, ln_hyp2f1};

/// Which model `retention` fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Model {
    /// Shifted-beta-geometric (Fader & Hardie 2007): heterogeneous, constant per subscriber.
    Sbg,
    /// Beta-discrete-Weibull (Fader et al. 2018): sBG plus duration dependence c.
    Bdw,
}

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Model::Sbg => "sBG",
            Model::Bdw => "BdW",
        }
    }
}

/// Subscribers of a group by period: `lost[t]` cancelled in period t, `active[n]` still there
/// after n renewals (index 0 of `lost` is unused).
#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub lost: Vec<f64>,
    pub active: Vec<f64>,
}

impl Counts {
    pub fn add(&mut self, periods: u32, churned: bool) {
        let v = if churned {
            &mut self.lost
        } else {
            &mut self.active
        };
        let i = periods as usize;
        if v.len() <= i {
            v.resize(i + 1, 0.0);
        }
        v[i] += 1.0;
    }

    pub fn subscribers(&self) -> f64 {
        self.lost.iter().sum::<f64>() + self.active.iter().sum::<f64>()
    }

    pub fn churned(&self) -> f64 {
        self.lost.iter().sum()
    }

    /// The last period anyone was observed in.
    pub fn max_period(&self) -> usize {
        self.lost.len().max(self.active.len()).saturating_sub(1)
    }

    /// Periods at risk over all subscribers: a canceller of period t was at risk in t periods,
    /// an active one after n renewals in n.
    pub fn exposure(&self) -> f64 {
        let lost: f64 = self
            .lost
            .iter()
            .enumerate()
            .map(|(t, w)| t as f64 * w)
            .sum();
        let active: f64 = self
            .active
            .iter()
            .enumerate()
            .map(|(n, w)| n as f64 * w)
            .sum();
        lost + active
    }
}

/// A survival curve over whole periods, fitted or geometric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Curve {
    Sbg {
        alpha: f64,
        beta: f64,
    },
    Bdw {
        alpha: f64,
        beta: f64,
        c: f64,
    },
    /// The discrete Weibull, S(t) = e^(−λ t^c): the BdW's limit without heterogeneity.
    Weibull {
        lambda: f64,
        c: f64,
    },
    Geometric {
        theta: f64,
    },
}

fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// ln(1 − e^x) for x < 0, accurate near 0 and far below it.
fn ln_1m_exp(x: f64) -> f64 {
    if x > -std::f64::consts::LN_2 {
        (-x.exp_m1()).ln()
    } else {
        (-x.exp()).ln_1p()
    }
}

impl Curve {
    /// ln S(t): the log-probability of still being subscribed after t renewals.
    pub fn ln_survival(&self, t: f64) -> f64 {
        match *self {
            Curve::Sbg { alpha, beta } => ln_beta(alpha, beta + t) - ln_beta(alpha, beta),
            Curve::Bdw { alpha, beta, c } => {
                if t <= 0.0 {
                    0.0
                } else {
                    ln_beta(alpha, beta + t.powf(c)) - ln_beta(alpha, beta)
                }
            }
            Curve::Weibull { lambda, c } => {
                if t <= 0.0 {
                    0.0
                } else {
                    -lambda * t.powf(c)
                }
            }
            Curve::Geometric { theta } => t * (-theta).ln_1p(),
        }
    }

    pub fn survival(&self, t: f64) -> f64 {
        self.ln_survival(t).exp()
    }

    /// ln P(T = t), the probability of cancelling in period t ≥ 1.
    pub fn ln_lost_in(&self, t: f64) -> f64 {
        match *self {
            // Closed form, exact for large β where the difference of survivals is not.
            Curve::Sbg { alpha, beta } => {
                ln_beta(alpha + 1.0, beta + t - 1.0) - ln_beta(alpha, beta)
            }
            _ => {
                let before = self.ln_survival(t - 1.0);
                before + ln_1m_exp(self.ln_survival(t) - before)
            }
        }
    }

    /// The retention rate of period t ≥ 1: S(t) / S(t − 1).
    pub fn retention(&self, t: f64) -> f64 {
        (self.ln_survival(t) - self.ln_survival(t - 1.0)).exp()
    }

    /// The probability that a subscriber who has made n renewals renews once more.
    pub fn p_renew(&self, n: f64) -> f64 {
        self.retention(n + 1.0)
    }

    /// The discounted expected residual lifetime of a subscriber who has just made n renewals,
    /// in payments: Σ_{k≥0} S(n + 1 + k) / S(n) / (1 + d)^k, the next renewal's payment
    /// undiscounted (Fader & Hardie 2010, "Customer-base valuation in a contractual setting");
    /// for the sBG the closed form (β + n)/(α + β + n) · ₂F₁(1, β + n + 1; α + β + n + 1;
    /// 1/(1 + d)). `None` when the series does not converge (d must be above 0).
    pub fn derl(&self, n: f64, d: f64) -> Option<f64> {
        if d <= 0.0 {
            return None;
        }
        let z = 1.0 / (1.0 + d);
        match *self {
            Curve::Sbg { alpha, beta } => {
                let head = (beta + n) / (alpha + beta + n);
                let f = ln_hyp2f1(1.0, beta + n + 1.0, alpha + beta + n + 1.0, z)?;
                Some(head * f.exp())
            }
            Curve::Geometric { theta } => Some((1.0 - theta) / (1.0 - (1.0 - theta) * z)),
            Curve::Bdw { .. } | Curve::Weibull { .. } => {
                let base = self.ln_survival(n);
                let mut sum = 0.0;
                let mut discount = 1.0;
                for k in 0..1_000_000u32 {
                    let term = (self.ln_survival(n + 1.0 + f64::from(k)) - base).exp() * discount;
                    sum += term;
                    // Terms fall at least as fast as z^k; stop when the geometric tail of the
                    // current term is negligible.
                    if term / (1.0 - z) <= sum * 1e-13 {
                        return Some(sum);
                    }
                    discount *= z;
                }
                None
            }
        }
    }
}

/// The curves fitted by maximum likelihood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Sbg,
    Bdw,
    Weibull,
}

/// The log-likelihood of a group's counts under a kind of curve.
struct Data<'a> {
    kind: Kind,
    counts: &'a Counts,
}

impl Data<'_> {
    fn curve(&self, p: &[f64]) -> Curve {
        match self.kind {
            Kind::Sbg => Curve::Sbg {
                alpha: p[0],
                beta: p[1],
            },
            Kind::Bdw => Curve::Bdw {
                alpha: p[0],
                beta: p[1],
                c: p[2],
            },
            Kind::Weibull => Curve::Weibull {
                lambda: p[0],
                c: p[1],
            },
        }
    }
}

/// The log-likelihood of counts under a curve.
pub fn log_likelihood(curve: &Curve, counts: &Counts) -> f64 {
    let lost: f64 = counts
        .lost
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, w)| **w > 0.0)
        .map(|(t, w)| w * curve.ln_lost_in(t as f64))
        .sum();
    let active: f64 = counts
        .active
        .iter()
        .enumerate()
        .filter(|(n, w)| **w > 0.0 && *n > 0)
        .map(|(n, w)| w * curve.ln_survival(n as f64))
        .sum();
    lost + active
}

impl Likelihood for Data<'_> {
    fn names(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Sbg => &["alpha", "beta"],
            Kind::Bdw => &["alpha", "beta", "c"],
            Kind::Weibull => &["lambda", "c"],
        }
    }

    fn count(&self) -> f64 {
        self.counts.subscribers()
    }

    fn ll(&self, params: &[f64]) -> Option<f64> {
        let ll = log_likelihood(&self.curve(params), self.counts);
        ll.is_finite().then_some(ll)
    }
}

/// One parameter of a fit with its standard error and interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    pub name: &'static str,
    pub value: f64,
    pub std_error: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// A group's fit: the model's, or the geometric in its place (`boundary` says why).
#[derive(Clone, Debug)]
pub struct Fitted {
    /// The model asked for, or "geometric".
    pub model: &'static str,
    pub curve: Curve,
    pub estimates: Vec<Estimate>,
    pub ll: f64,
    /// Why the model could not be used, when the curve is the geometric in its place.
    pub boundary: Option<String>,
}

/// The largest α + β a fit is reported at: beyond it the polarisation index 1/(α + β + 1) is
/// below 1e-4, so the spread of churn rates between subscribers is under 1 % of a single
/// subscriber's own variation, and the mixture is the geometric (fitted sBGs of real data
/// have α + β of 1 to 100: Fader & Hardie's 1.9 and 4.5, Telco's month-to-month 7.8).
const MAX_CONCENTRATION: f64 = 1e4;

/// Fits `model` to a group's counts by maximum likelihood, with standard errors and Wald
/// intervals at `level` on the log scale (where positive parameters are near normal). A fit at
/// the boundary of no heterogeneity gives way (the `boundary` reason says why) to the discrete
/// Weibull for the BdW, and otherwise to the geometric, whose θ = churned / periods at risk
/// has a Wald interval on the logit scale. `None` when nobody was at risk.
pub fn fit(model: Model, counts: &Counts, level: f64) -> Option<Fitted> {
    let exposure = counts.exposure();
    if exposure <= 0.0 {
        return None;
    }
    let z = crate::metrics::stats::normal_quantile(0.5 + level / 2.0);
    if counts.churned() == 0.0 {
        return Some(geometric(
            counts,
            z,
            "nobody cancelled, so there is no model to fit".into(),
        ));
    }
    let kind = match model {
        Model::Sbg => Kind::Sbg,
        Model::Bdw => Kind::Bdw,
    };
    let failure = match fit_kind(kind, counts, z) {
        Ok(f) => return Some(f),
        Err(why) => why,
    };
    if kind == Kind::Bdw {
        match fit_kind(Kind::Weibull, counts, z) {
            Ok(mut f) => {
                f.boundary = Some(failure);
                return Some(f);
            }
            Err(why) => {
                return Some(geometric(counts, z, format!("{failure}; {why}")));
            }
        }
    }
    Some(geometric(counts, z, failure))
}

/// One maximum-likelihood fit, or why it is not usable.
fn fit_kind(kind: Kind, counts: &Counts, z: f64) -> Result<Fitted, String> {
    let data = Data { kind, counts };
    let (name, start): (&'static str, &[f64]) = match kind {
        Kind::Sbg => ("sBG", &[1.0, 1.0]),
        Kind::Bdw => ("BdW", &[1.0, 1.0, 1.0]),
        Kind::Weibull => ("discrete Weibull", &[0.1, 1.0]),
    };
    let f = match fit::fit(&data, start, 0.0, true) {
        Ok(f) => f,
        Err(FitFailure::Boundary { param, value, high }) => {
            return Err(format!(
                "{name}'s {param} ran off towards {} ({value:.3e}): the data do not bound it",
                if high { "infinity" } else { "0" }
            ))
        }
        Err(FitFailure::Flat { param, value, .. }) => {
            return Err(format!(
                "{name}'s {param} is not identified ({value:.3e}, the likelihood is flat along it)"
            ))
        }
        Err(FitFailure::Failed(why)) => return Err(format!("{name} could not be fitted: {why}")),
    };
    // α + β without bound is the boundary of no heterogeneity, whatever the optimiser's last
    // step: far out on that ridge the likelihood is flat to rounding and a finite-difference
    // Hessian is noise.
    if kind != Kind::Weibull && f.params[0] + f.params[1] > MAX_CONCENTRATION {
        return Err(format!(
            "{name}'s α + β ran off towards infinity ({:.3e}): the subscribers' churn rates do \
             not differ measurably",
            f.params[0] + f.params[1]
        ));
    }
    let mut estimates: Vec<Estimate> = f
        .names
        .iter()
        .zip(&f.params)
        .enumerate()
        .map(|(i, (name, &value))| {
            let se = f.std_errors.as_ref().map(|s| s[i]);
            let log_se = se.map(|s| s / value);
            Estimate {
                name,
                value,
                std_error: se,
                low: log_se.map(|s| (value.ln() - z * s).exp()),
                high: log_se.map(|s| (value.ln() + z * s).exp()),
            }
        })
        .collect();
    if kind == Kind::Weibull {
        // Reported as the churn rate of the first period, θ = 1 − e^(−λ), a monotone map of λ
        // (its interval maps over; its standard error by the delta method).
        let to_theta = |l: f64| -(-l).exp_m1();
        let l = &estimates[0];
        estimates[0] = Estimate {
            name: "theta",
            value: to_theta(l.value),
            std_error: l.std_error.map(|s| s * (-l.value).exp()),
            low: l.low.map(to_theta),
            high: l.high.map(to_theta),
        };
    }
    Ok(Fitted {
        model: name,
        curve: data.curve(&f.params),
        estimates,
        ll: f.ll,
        boundary: None,
    })
}

/// The geometric in place of a model: θ = churned / periods at risk, its standard error
/// √(θ(1 − θ)/E) and a Wald interval on the logit scale.
fn geometric(counts: &Counts, z: f64, failure: String) -> Fitted {
    let exposure = counts.exposure();
    let churned = counts.churned();
    let theta = churned / exposure;
    let curve = Curve::Geometric { theta };
    let (se, low, high) = if churned > 0.0 && churned < exposure {
        let se = (theta * (1.0 - theta) / exposure).sqrt();
        let logit = (theta / (1.0 - theta)).ln();
        let half = z / (exposure * theta * (1.0 - theta)).sqrt();
        let back = |x: f64| 1.0 / (1.0 + (-x).exp());
        (Some(se), Some(back(logit - half)), Some(back(logit + half)))
    } else {
        (None, None, None)
    };
    Fitted {
        model: "geometric",
        curve,
        estimates: vec![Estimate {
            name: "theta",
            value: theta,
            std_error: se,
            low,
            high,
        }],
        ll: log_likelihood(&curve, counts),
        boundary: Some(failure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fader & Hardie (2007), table 1: survivors of 1,000 at years 0–7.
    fn survivors(alive: &[f64]) -> Counts {
        let mut c = Counts {
            lost: vec![0.0; alive.len()],
            active: vec![0.0; alive.len()],
        };
        for t in 1..alive.len() {
            c.lost[t] = alive[t - 1] - alive[t];
        }
        c.active[alive.len() - 1] = alive[alive.len() - 1];
        c
    }

    const REGULAR: [f64; 8] = [1000.0, 631.0, 468.0, 382.0, 326.0, 289.0, 262.0, 241.0];
    const HIGH_END: [f64; 8] = [1000.0, 869.0, 743.0, 653.0, 593.0, 551.0, 517.0, 491.0];

    #[test]
    fn sbg_reproduces_fader_hardie_2007() {
        let f = fit(Model::Sbg, &survivors(&REGULAR), 0.95).unwrap();
        assert!(f.boundary.is_none());
        let (a, b) = (f.estimates[0].value, f.estimates[1].value);
        assert!(
            (a - 0.704).abs() < 5e-4 && (b - 1.182).abs() < 5e-4,
            "{a} {b}"
        );
        assert!((f.ll - -1680.27).abs() < 5e-3, "{}", f.ll);
        let f = fit(Model::Sbg, &survivors(&HIGH_END), 0.95).unwrap();
        let (a, b) = (f.estimates[0].value, f.estimates[1].value);
        assert!(
            (a - 0.668).abs() < 5e-4 && (b - 3.806).abs() < 5e-4,
            "{a} {b}"
        );
        assert!((f.ll - -1611.16).abs() < 5e-3, "{}", f.ll);
        // Intervals contain the estimate.
        for e in &f.estimates {
            assert!(e.low.unwrap() < e.value && e.value < e.high.unwrap());
        }
    }

    #[test]
    fn derl_of_a_high_end_subscriber_after_seven_renewals() {
        // Fader & Hardie (2010): α 0.668, β 3.806, n = 7, d = 10 % → 7.530.
        let c = Curve::Sbg {
            alpha: 0.668,
            beta: 3.806,
        };
        let derl = c.derl(7.0, 0.1).unwrap();
        assert!((derl - 7.530).abs() < 5e-4, "{derl}");
        // The series (BdW with c = 1 is the sBG) agrees with the closed form.
        let w = Curve::Bdw {
            alpha: 0.668,
            beta: 3.806,
            c: 1.0,
        };
        assert!((w.derl(7.0, 0.1).unwrap() - derl).abs() < 1e-9);
        assert!((w.ln_lost_in(3.0) - c.ln_lost_in(3.0)).abs() < 1e-12);
        // The geometric's closed form against its series.
        let g = Curve::Geometric { theta: 0.2 };
        let series: f64 = (0..2000).map(|k| 0.8f64.powi(k + 1) / 1.1f64.powi(k)).sum();
        assert!((g.derl(3.0, 0.1).unwrap() - series).abs() < 1e-12);
    }

    #[test]
    fn retention_rises_with_tenure_under_the_sbg() {
        let c = Curve::Sbg {
            alpha: 0.704,
            beta: 1.182,
        };
        // r(t) = (β + t − 1)/(α + β + t − 1).
        for t in 1..10 {
            let t = f64::from(t);
            let r = (1.182 + t - 1.0) / (0.704 + 1.182 + t - 1.0);
            assert!((c.retention(t) - r).abs() < 1e-12);
        }
    }

    #[test]
    fn bdw_against_an_independent_fit() {
        // scipy's Nelder-Mead on the same likelihood (bench/retention_reference.py).
        for (alive, want, ll) in [
            (REGULAR, [0.455614, 0.779326, 1.283451], -1679.6028),
            (HIGH_END, [0.214253, 1.426575, 1.723565], -1605.3142),
        ] {
            let f = fit(Model::Bdw, &survivors(&alive), 0.95).unwrap();
            assert!(f.boundary.is_none(), "{f:?}");
            for (e, w) in f.estimates.iter().zip(want) {
                assert!((e.value - w).abs() < 2e-3 * w, "{} {} {w}", e.name, e.value);
            }
            assert!((f.ll - ll).abs() < 1e-3, "{}", f.ll);
        }
    }

    #[test]
    fn no_heterogeneity_gives_the_geometric() {
        // Everyone with the same θ = 0.1: survivors fall by exactly 10 % a period.
        let alive: Vec<f64> = (0..8).map(|t| 100_000.0 * 0.9f64.powi(t)).collect();
        let f = fit(Model::Sbg, &survivors(&alive), 0.95).unwrap();
        assert_eq!(f.model, "geometric", "{f:?}");
        assert!((f.estimates[0].value - 0.1).abs() < 1e-9);
        assert!(f.boundary.is_some());
    }
}
