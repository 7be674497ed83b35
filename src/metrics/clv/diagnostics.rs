//! How well a fitted purchase model describes the data (docs/metrics.md, "CLV diagnostics"): the
//! tracking of repeat purchases week by week over calibration and holdout, the histogram of
//! repeat purchases in the calibration period, and P(alive) over frequency × recency.
//!
//! Each compares what happened with what the fitted model expects of the same customers, so a
//! reader sees where the model is off (a late surge it misses, too few heavy buyers) before
//! trusting its CLV.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use polars::prelude::*;

use super::special::ln_gamma;
use super::{bgnbd::BgNbd, expected, p_alive, Customers, Grouping, Model, Purchases};
use crate::day::{iso, Day};
use crate::metrics::stats::round_to;

/// E[X(t)]: repeat purchases of a customer `t` time units after their first purchase, before
/// anything is known of them (the conditional expectation at x = 0, T = 0).
fn unconditional(model: Model, params: &[f64], t: f64) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    match model {
        // The series form, which also holds for a + b < 1.
        Model::BgNbd => BgNbd::expected_many(params, 0, 0.0, 0.0, &[t])[0],
        _ => expected(model, params, 0, 0.0, 0.0, t),
    }
}

/// Repeat purchases per week of the customers whose first purchase is before `end` (the
/// calibration end: `--holdout`, or as_of), actual and expected, from the first purchase to
/// `as_of`. Weeks are aligned to end on `end`, so the holdout starts on a week boundary.
///
/// A repeat purchase is a purchase after a customer's first, counted once per day (or per
/// period with `--group-by-period`), as in the models' frequency. Expected by the end of day d:
/// Σ over customers of E[X((d − first) / unit)], the model's unconditional expectation from each
/// customer's first purchase.
pub fn tracking(
    p: &Purchases,
    model: Model,
    params: &[f64],
    grouping: Grouping,
    end: Day,
) -> Result<DataFrame> {
    let as_of = p.as_of.days();
    let end = end.days();
    // Customers by first purchase day, and every repeat purchase's day.
    let mut firsts: BTreeMap<i32, u64> = BTreeMap::new();
    let mut repeats: Vec<i32> = Vec::new();
    for i in 0..p.len() {
        let (days, _) = p.orders(i);
        if days[0] >= end {
            continue;
        }
        *firsts.entry(days[0]).or_default() += 1;
        let mut last_key = grouping.key(days[0]);
        for &day in &days[1..] {
            let key = grouping.key(day);
            if key != last_key && day < as_of {
                repeats.push(day);
                last_key = key;
            }
        }
    }
    let Some((&start, _)) = firsts.first_key_value() else {
        bail!("no customer bought before {}", iso(end));
    };
    // Week boundaries: back from `end` to the first purchase, forward to as_of.
    let first_week = end - 7 * (end - start + 6).div_euclid(7);
    let weeks = (as_of - first_week + 6).div_euclid(7).max(1) as usize;
    let mut actual = vec![0u64; weeks];
    for &day in &repeats {
        let w = ((day - first_week) / 7) as usize;
        if w < weeks {
            actual[w] += 1;
        }
    }
    let unit = grouping.unit.days();
    let cumulative_expected: Vec<f64> = (0..weeks)
        .map(|w| {
            // Through the last day of week w (as_of − 1 for a last, partial week).
            let last_day = (first_week + 7 * (w as i32 + 1)).min(as_of) - 1;
            firsts
                .range(..=last_day)
                .map(|(&s, &n)| {
                    n as f64 * unconditional(model, params, f64::from(last_day - s) / unit)
                })
                .sum()
        })
        .collect();
    if cumulative_expected.iter().any(|v| !v.is_finite()) {
        bail!("the fitted model gives no finite expectation to track");
    }
    let mut week_start = Vec::with_capacity(weeks);
    let mut phase = Vec::with_capacity(weeks);
    let (mut exp_week, mut cum_actual, mut cum_exp) = (vec![], vec![], vec![]);
    let (mut running, mut before) = (0u64, 0.0);
    for w in 0..weeks {
        let day = first_week + 7 * w as i32;
        week_start.push(iso(day));
        phase.push(if day < end { "calibration" } else { "holdout" });
        running += actual[w];
        cum_actual.push(running);
        exp_week.push(round_to(cumulative_expected[w] - before, 2));
        cum_exp.push(round_to(cumulative_expected[w], 2));
        before = cumulative_expected[w];
    }
    Ok(DataFrame::new_infer_height(vec![
        Column::new("week_start".into(), week_start),
        Column::new("phase".into(), phase),
        Column::new("actual".into(), actual),
        Column::new("expected".into(), exp_week),
        Column::new("cumulative_actual".into(), cum_actual),
        Column::new("cumulative_expected".into(), cum_exp),
    ])?)
}

/// P(X(t) = x) under BG/NBD (Fader, Hardie & Lee 2005, eq. 8): the chance of exactly x repeat
/// purchases in the first t time units of a customer's life.
pub fn bgnbd_pmf(params: &[f64], x: u32, t: f64) -> f64 {
    let [r, alpha, a, b] = params[..] else {
        return f64::NAN;
    };
    let xf = f64::from(x);
    let ln_beta = |p: f64, q: f64| ln_gamma(p) + ln_gamma(q) - ln_gamma(p + q);
    let ln_ab = ln_beta(a, b);
    let ln_stay = (alpha / (alpha + t)).ln();
    let ln_buy = if t > 0.0 {
        (t / (alpha + t)).ln()
    } else {
        f64::NEG_INFINITY
    };
    // ln [Γ(r + j) / (Γ(r) j!)] + r ln(α/(α+t)) + j ln(t/(α+t)): the NBD term of j purchases.
    let nbd = |j: f64| {
        if j > 0.0 && t <= 0.0 {
            return 0.0;
        }
        let mut ln = ln_gamma(r + j) - ln_gamma(r) - ln_gamma(j + 1.0) + r * ln_stay;
        if j > 0.0 {
            ln += j * ln_buy;
        }
        ln.exp()
    };
    let alive = (ln_beta(a, b + xf) - ln_ab).exp() * nbd(xf);
    if x == 0 {
        return alive;
    }
    let below: f64 = (0..x).map(|j| nbd(f64::from(j))).sum();
    alive + (ln_beta(a + 1.0, b + xf - 1.0) - ln_ab).exp() * (1.0 - below).max(0.0)
}

/// Customers by repeat purchases in the calibration period (0 … 6, 7+): how many had each count,
/// and how many the model expects, Σ over customers of P(X(T_i) = k). BG/NBD only: the
/// Pareto/NBD count distribution is not implemented.
pub fn histogram(model: Model, params: &[f64], c: &Customers) -> Result<DataFrame> {
    if model != Model::BgNbd {
        bail!(
            "--show histogram is computed for --model bg-nbd only (the Pareto/NBD's count \
             distribution is not implemented); --show tracking works for both"
        );
    }
    const TOP: u32 = 7;
    let mut actual = [0u64; TOP as usize + 1];
    for &x in &c.x {
        actual[x.min(TOP) as usize] += 1;
    }
    // Customers with the same age share the probabilities.
    let mut ages: BTreeMap<u64, u64> = BTreeMap::new();
    for &t in &c.t {
        *ages.entry(t.to_bits()).or_default() += 1;
    }
    let mut expected_n = [0.0f64; TOP as usize + 1];
    for (&bits, &n) in &ages {
        let t = f64::from_bits(bits);
        let mut below_top = 0.0;
        for k in 0..TOP {
            let pk = bgnbd_pmf(params, k, t);
            expected_n[k as usize] += n as f64 * pk;
            below_top += pk;
        }
        expected_n[TOP as usize] += n as f64 * (1.0 - below_top).max(0.0);
    }
    let label: Vec<String> = (0..=TOP)
        .map(|k| {
            if k == TOP {
                format!("{TOP}+")
            } else {
                k.to_string()
            }
        })
        .collect();
    Ok(DataFrame::new_infer_height(vec![
        Column::new("repeat_purchases".into(), label),
        Column::new("customers".into(), actual.to_vec()),
        Column::new(
            "expected".into(),
            expected_n
                .iter()
                .map(|v| round_to(*v, 2))
                .collect::<Vec<_>>(),
        ),
    ])?)
}

/// P(alive) of a customer of the longest age T in the data, by repeat purchases (rows, 0 up to
/// the largest seen, at most 40) and recency (13 columns from 0 to T in the model's unit).
/// Frequency 0 has recency 0 only (no repeat purchase, nothing to be recent).
pub fn alive_matrix(model: Model, params: &[f64], c: &Customers, unit: &str) -> Result<DataFrame> {
    let t = c.t.iter().copied().fold(0.0, f64::max);
    let max_x = c.x.iter().copied().max().unwrap_or(0).min(40);
    if t <= 0.0 {
        bail!("every customer's first purchase is on the last day: no recency to show");
    }
    const STEPS: u32 = 12;
    let mut columns = vec![Column::new(
        "frequency".into(),
        (0..=max_x).collect::<Vec<u32>>(),
    )];
    for k in 0..=STEPS {
        let recency = t * f64::from(k) / f64::from(STEPS);
        let values: Vec<Option<f64>> = (0..=max_x)
            .map(|x| (x > 0 || k == 0).then(|| round_to(p_alive(model, params, x, recency, t), 4)))
            .collect();
        let name = format!("recency_{}_{unit}", round_to(recency, 1));
        columns.push(Column::new(name.into(), values));
    }
    Ok(DataFrame::new_infer_height(columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pmf sums to 1 and its mean is the model's E[X(t)] (the CDNOW fit, t = 39 weeks).
    #[test]
    fn bgnbd_pmf_is_a_distribution_with_the_models_mean() {
        let params = [0.2426, 4.4136, 0.7929, 2.4259];
        for t in [0.0, 1.0, 39.0, 78.0] {
            let probs: Vec<f64> = (0..400).map(|x| bgnbd_pmf(&params, x, t)).collect();
            let total: f64 = probs.iter().sum();
            let mean: f64 = probs.iter().enumerate().map(|(x, p)| x as f64 * p).sum();
            assert!((total - 1.0).abs() < 1e-9, "t {t}: sum {total}");
            let want = unconditional(Model::BgNbd, &params, t);
            assert!((mean - want).abs() < 1e-6, "t {t}: mean {mean} vs {want}");
        }
        assert_eq!(bgnbd_pmf(&params, 0, 0.0), 1.0);
    }
}
