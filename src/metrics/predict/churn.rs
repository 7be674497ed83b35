//! Churn risk (docs/metrics.md, "Churn prediction"): per customer who bought before a cutoff,
//! features as of the cutoff (only rows dated before it) and the label "no purchase in the
//! `horizon` days from the cutoff"; a logistic model trained on an earlier cutoff scores the
//! customers as of as_of, and a rolling-origin backtest says how good it is beside two baselines.

use std::collections::HashMap;

use anyhow::Result;
use polars::prelude::*;

use super::evaluate::Evaluation;
use super::logistic::{self, Logistic, Matrix};
use super::{coefficients, holdout, Options};
use crate::day::{iso, Day};
use crate::ledger::Ledger;
use crate::metrics::clv::{self, Grouping, Model, TimeUnit};
use crate::metrics::stats::round_to;
use crate::money::Money;

/// What the CRM knows besides purchases, per customer ID; every list sorted by day.
#[derive(Debug, Default)]
pub struct Signals {
    /// Days of follow-ups (`--followups`).
    pub followups: Option<HashMap<String, Vec<i32>>>,
    /// Days of assign, claim and transfer events, and of returns to the pool (`--events`).
    pub owner_changes: Option<HashMap<String, Vec<i32>>>,
    pub pool_returns: Option<HashMap<String, Vec<i32>>>,
    /// (day, score) of NPS and CSAT answers (`--surveys`).
    pub nps: Option<HashMap<String, Vec<(i32, f64)>>>,
    pub csat: Option<HashMap<String, Vec<(i32, f64)>>>,
    /// Customers-file columns (source, industry, region): name and value per customer.
    pub attributes: Vec<(String, HashMap<String, String>)>,
}

impl Signals {
    /// The levels of each attribute kept as their own feature: held by at least 1 % of the
    /// customers of the file and by 10 of them; the others are pooled into `(other)`.
    fn levels(&self) -> Vec<Vec<String>> {
        self.attributes
            .iter()
            .map(|(_, values)| {
                let mut counts: HashMap<&str, usize> = HashMap::new();
                for v in values.values() {
                    *counts.entry(v.as_str()).or_default() += 1;
                }
                let least = (values.len() / 100).max(10);
                let mut kept: Vec<String> = counts
                    .into_iter()
                    .filter(|(_, n)| *n >= least)
                    .map(|(v, _)| v.to_string())
                    .collect();
                kept.sort();
                kept.push(OTHER.into());
                kept
            })
            .collect()
    }
}

/// The pooled level of rare, empty and missing attribute values.
pub const OTHER: &str = "(other)";

/// The features of every customer who bought before one cutoff.
pub struct Features {
    pub cutoff: i32,
    pub ids: Vec<String>,
    pub names: Vec<String>,
    pub x: Matrix,
    /// BG/NBD P(alive) per customer (None when the fit failed at this cutoff).
    pub p_alive: Option<Vec<f64>>,
    /// Purchase days and net spend, for the output table.
    pub frequency: Vec<f64>,
    pub monetary: Vec<f64>,
    pub recency: Vec<f64>,
}

fn ln1p(v: f64) -> f64 {
    v.max(0.0).ln_1p()
}

fn signed_ln1p(v: f64) -> f64 {
    v.signum() * v.abs().ln_1p()
}

/// A feature's value back on its own scale: counts and money enter the model as ln(1 + v), the
/// spend trend as sign(v) ln(1 + |v|) ([`features`]).
fn from_model_scale(name: &str, v: f64) -> f64 {
    match name {
        "frequency" | "monetary" | "followups_30d" | "followups_90d" | "owner_changes"
        | "pool_returns" => v.exp_m1(),
        "spend_trend" => v.signum() * v.abs().exp_m1(),
        _ => v,
    }
}

/// Days in `days` (sorted) within [from, to).
fn count_between(days: &[i32], from: i32, to: i32) -> usize {
    days.partition_point(|&d| d < to) - days.partition_point(|&d| d < from)
}

/// The features as of `ledger.as_of` (the cutoff): the ledger holds only the rows dated before
/// it, and every signal is read up to the day before it.
pub fn features(ledger: &Ledger, signals: &Signals, levels: &[Vec<String>]) -> Features {
    let cutoff = ledger.as_of.days();
    let buyers: Vec<usize> = ledger.buyers().collect();
    let mut names: Vec<String> = [
        "recency_days",
        "frequency",
        "monetary",
        "tenure_days",
        "spend_trend",
        "gap_cv",
    ]
    .map(String::from)
    .to_vec();
    if signals.followups.is_some() {
        names.extend(["followups_30d", "followups_90d", "days_since_followup"].map(String::from));
    }
    if signals.owner_changes.is_some() {
        names.extend(["owner_changes", "pool_returns"].map(String::from));
    }
    if signals.nps.is_some() {
        names.extend(["latest_nps", "latest_csat", "no_survey"].map(String::from));
    }
    for ((column, _), kept) in signals.attributes.iter().zip(levels) {
        names.extend(kept.iter().map(|l| format!("{column}={l}")));
    }
    let mut x = Matrix::new(names.len());
    let (mut frequency, mut monetary, mut recency) = (Vec::new(), Vec::new(), Vec::new());
    let mut ids = Vec::with_capacity(buyers.len());
    let empty: Vec<i32> = Vec::new();
    let mut row = Vec::with_capacity(names.len());
    for &c in &buyers {
        let id = ledger.id(c);
        let days = ledger.purchase_days(c);
        let (first, last) = (days[0], days[days.len() - 1]);
        let net = ledger.net(c).to_f64();
        let trend = ledger.net_between(c, cutoff - 90, cutoff).to_f64()
            - ledger.net_between(c, cutoff - 180, cutoff - 90).to_f64();
        let gaps: Vec<f64> = days.windows(2).map(|w| f64::from(w[1] - w[0])).collect();
        let gap_cv = if gaps.len() >= 2 {
            let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
            let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
            if mean > 0.0 {
                var.sqrt() / mean
            } else {
                0.0
            }
        } else {
            0.0
        };
        row.clear();
        row.extend([
            f64::from(cutoff - last),
            ln1p(days.len() as f64),
            ln1p(net),
            f64::from(cutoff - first),
            signed_ln1p(trend),
            gap_cv,
        ]);
        if let Some(f) = &signals.followups {
            let seen = f.get(id).unwrap_or(&empty);
            let before = &seen[..seen.partition_point(|&d| d < cutoff)];
            row.push(ln1p(count_between(before, cutoff - 30, cutoff) as f64));
            row.push(ln1p(count_between(before, cutoff - 90, cutoff) as f64));
            // Without a follow-up: as long as the customer has bought.
            row.push(f64::from(cutoff - before.last().copied().unwrap_or(first)));
        }
        if let (Some(changes), Some(returns)) = (&signals.owner_changes, &signals.pool_returns) {
            let n = |m: &HashMap<String, Vec<i32>>| {
                let d = m.get(id).unwrap_or(&empty);
                ln1p(d.partition_point(|&v| v < cutoff) as f64)
            };
            row.push(n(changes));
            row.push(n(returns));
        }
        if let (Some(nps), Some(csat)) = (&signals.nps, &signals.csat) {
            let latest = |m: &HashMap<String, Vec<(i32, f64)>>| {
                m.get(id).and_then(|v| {
                    let k = v.partition_point(|(d, _)| *d < cutoff);
                    k.checked_sub(1).map(|k| v[k].1)
                })
            };
            let (n, s) = (latest(nps), latest(csat));
            // A missing answer takes the scale's neutral middle; no_survey says it is missing.
            row.push(n.unwrap_or(5.0));
            row.push(s.unwrap_or(3.0));
            row.push(f64::from(u8::from(n.is_none() && s.is_none())));
        }
        for ((_, values), kept) in signals.attributes.iter().zip(levels) {
            let v = values
                .get(id)
                .filter(|v| kept.contains(v))
                .map_or(OTHER, String::as_str);
            row.extend(kept.iter().map(|l| f64::from(u8::from(l == v))));
        }
        x.push(&row);
        ids.push(id.to_string());
        frequency.push(days.len() as f64);
        monetary.push(net);
        recency.push(f64::from(cutoff - last));
    }
    let watch = crate::diag::Stopwatch::new();
    let p_alive = p_alive(ledger);
    watch.lap(&format!("P(alive) fit as of {}", iso(cutoff)));
    Features {
        cutoff,
        ids,
        names,
        x,
        p_alive,
        frequency,
        monetary,
        recency,
    }
}

/// The BG/NBD penalty of the P(alive) feature: the plain fit can fail to converge on data
/// where this one settles at once (as `clv` advises), and a feature must exist at every cutoff.
pub const P_ALIVE_PENALTY: f64 = 0.001;

/// BG/NBD P(alive) of every buyer of the ledger, as of its as_of (weeks, penalty
/// [`P_ALIVE_PENALTY`]), in buyer order; None when the fit fails.
fn p_alive(ledger: &Ledger) -> Option<Vec<f64>> {
    let p = clv::purchases(ledger);
    let grouping = Grouping {
        unit: TimeUnit::Week,
        by_period: false,
    };
    let (_, c, _) = clv::summarise(&p, grouping, ledger.as_of.days(), ledger.as_of.days());
    let summary = clv::Summary::new(&c.x, &c.tx, &c.t);
    let fit = clv::fit_purchases(Model::BgNbd, &summary, P_ALIVE_PENALTY, false).ok()?;
    Some(
        (0..c.x.len())
            .map(|i| clv::p_alive(Model::BgNbd, &fit.params, c.x[i], c.tx[i], c.t[i]))
            .collect(),
    )
}

impl Features {
    /// The matrix with P(alive) as a last column, when `with_p_alive`.
    fn matrix(&self, with_p_alive: bool) -> Matrix {
        if !with_p_alive {
            return self.x.clone();
        }
        let mut m = Matrix::new(self.x.p + 1);
        let pa = self.p_alive.as_deref().unwrap_or(&[]);
        for i in 0..self.x.rows() {
            let mut row = self.x.row(i).to_vec();
            row.push(pa.get(i).copied().unwrap_or(0.5));
            m.push(&row);
        }
        m
    }

    /// One column (by name) of the matrix.
    fn column(&self, name: &str) -> Vec<f64> {
        let j = self.names.iter().position(|n| n == name).unwrap_or(0);
        (0..self.x.rows()).map(|i| self.x.row(i)[j]).collect()
    }
}

/// Whether each customer of `f` churned: no purchase (as the run's ledger sees it) in
/// [cutoff, cutoff + horizon).
pub fn labels(f: &Features, run: &Ledger, horizon: i32) -> Vec<bool> {
    f.ids
        .iter()
        .map(|id| {
            let days = run.code(id).map_or(&[][..], |c| run.purchase_days(c));
            count_between(days, f.cutoff, f.cutoff + horizon) == 0
        })
        .collect()
}

/// The model and the two baselines fitted on one training cutoff.
pub struct Fitted {
    pub model: Logistic,
    pub names: Vec<String>,
    pub with_p_alive: bool,
    recency: Logistic,
}

pub fn train(f: &Features, y: &[bool], with_p_alive: bool) -> Result<Fitted> {
    let mut names = f.names.clone();
    if with_p_alive {
        names.push("p_alive".into());
    }
    let x = f.matrix(with_p_alive);
    let model = logistic::fit_chosen(&x, y, &holdout(&f.ids))?;
    let mut r = Matrix::new(1);
    for v in f.column("recency_days") {
        r.push(&[v]);
    }
    let recency = logistic::fit(&r, y, logistic::LAMBDAS[0])?;
    Ok(Fitted {
        model,
        names,
        with_p_alive,
        recency,
    })
}

impl Fitted {
    pub fn probabilities(&self, f: &Features) -> Vec<f64> {
        let x = f.matrix(self.with_p_alive);
        (0..x.rows())
            .map(|i| self.model.probability(x.row(i)))
            .collect()
    }

    fn recency_probabilities(&self, f: &Features) -> Vec<f64> {
        f.column("recency_days")
            .iter()
            .map(|&v| self.recency.probability(&[v]))
            .collect()
    }

    fn driver_indices(&self, row: &[f64]) -> Vec<usize> {
        super::driver_indices(&self.model, &self.names, row)
    }

    /// A driver in words a manager reads: what the feature is for this customer against the
    /// typical customer (the model's mean, back on the feature's own scale).
    fn driver_words(&self, j: usize, row: &[f64]) -> String {
        let name = self.names[j].as_str();
        let value = from_model_scale(name, row[j]);
        let typical = from_model_scale(name, self.model.scale.mean[j]);
        let n = |v: f64| format!("{:.0}", v);
        match name {
            "recency_days" => {
                // The customer's own usual gap: (last − first) ÷ (purchase days − 1).
                let purchases = self.feature(row, "frequency");
                let tenure = self.feature(row, "tenure_days");
                match (purchases, tenure) {
                    (Some(k), Some(t)) if k >= 2.0 && t > value => {
                        let gap = (t - value) / (k - 1.0);
                        format!(
                            "no purchase for {} days, {:.1}× their usual gap of {} days",
                            n(value),
                            value / gap.max(1.0),
                            n(gap)
                        )
                    }
                    _ => format!("no purchase for {} days (typical {})", n(value), n(typical)),
                }
            }
            "frequency" => format!("{} purchase days (typical {})", n(value), n(typical)),
            "monetary" => format!("net spend {} (typical {})", n(value), n(typical)),
            "tenure_days" => format!("a customer for {} days (typical {})", n(value), n(typical)),
            "spend_trend" => format!(
                "spend in the last 90 days {} {} against the 90 before",
                if value < 0.0 { "down" } else { "up" },
                n(value.abs())
            ),
            "gap_cv" => {
                format!("buys irregularly (gap variation {value:.2}, typical {typical:.2})")
            }
            "followups_30d" => format!(
                "{} follow-ups in the last 30 days (typical {})",
                n(value),
                n(typical)
            ),
            "followups_90d" => format!(
                "{} follow-ups in the last 90 days (typical {})",
                n(value),
                n(typical)
            ),
            "days_since_followup" => {
                format!(
                    "no follow-up for {} days (typical {})",
                    n(value),
                    n(typical)
                )
            }
            "owner_changes" => format!("{} owner changes (typical {})", n(value), n(typical)),
            "pool_returns" => format!("returned to the pool {} times", n(value)),
            "latest_nps" => format!("latest NPS answer {} (typical {})", n(value), n(typical)),
            "latest_csat" => format!("latest CSAT answer {} (typical {})", n(value), n(typical)),
            "no_survey" if value > 0.5 => "never answered a survey".to_string(),
            "no_survey" => format!(
                "answered a survey ({:.0} % of customers have not)",
                typical * 100.0
            ),
            "p_alive" => format!(
                "purchase pattern says {:.0} % likely still active (typical {:.0} %)",
                value * 100.0,
                typical * 100.0
            ),
            other => match other.split_once('=') {
                Some((column, level)) => format!("{column} is {level}"),
                None => format!("{other} {value:.2} (typical {typical:.2})"),
            },
        }
    }

    /// A feature of `row` by name, on its own scale.
    fn feature(&self, row: &[f64], name: &str) -> Option<f64> {
        let j = self.names.iter().position(|n| n == name)?;
        Some(from_model_scale(name, row[j]))
    }

    pub fn coefficients(&self) -> Result<DataFrame> {
        coefficients(&self.model, &self.names)
    }
}

/// The rows a model was trained on: customer_id, churned, and the features in model order.
fn training_table(f: &Features, y: &[bool], fitted: &Fitted) -> Result<DataFrame> {
    let x = f.matrix(fitted.with_p_alive);
    let mut columns = vec![
        Column::new("customer_id".into(), f.ids.clone()),
        Column::new("churned".into(), y.to_vec()),
    ];
    for (j, name) in fitted.names.iter().enumerate() {
        columns.push(Column::new(
            name.as_str().into(),
            (0..x.rows()).map(|i| x.row(i)[j]).collect::<Vec<f64>>(),
        ));
    }
    Ok(DataFrame::new_infer_height(columns)?)
}

/// Which customers the predictions list and in what order (docs/metrics.md, "Churn
/// prediction": the shortlist).
#[derive(Debug, Clone, Copy)]
pub struct ListOptions {
    /// Leave out the customers the lifecycle rule already calls churned (recency above these
    /// days); None lists everyone.
    pub churned_after: Option<i64>,
    /// Order by churn probability instead of value at risk.
    pub by_probability: bool,
    /// Only the first N rows.
    pub top: Option<usize>,
}

/// Shares of the listed customers in the `high` and `medium` bands, by rank of churn
/// probability: the top 10 % are `high`, the next 20 % `medium`, so `high` is a minority on any
/// data (fixed probability cut-offs put three quarters of a lapsing base in `high`).
pub const BANDS: [(&str, f64); 2] = [("high", 0.10), ("medium", 0.30)];

/// The band of the customer ranked `rank` (0 = highest probability; ties by customer_id) of `n`.
pub fn risk_band(rank: usize, n: usize) -> &'static str {
    BANDS
        .iter()
        .find(|(_, share)| (rank as f64) < (share * n as f64).ceil())
        .map_or("low", |(band, _)| band)
}

/// Days of net spend that make a customer's annual value.
pub const ANNUAL_DAYS: i32 = 365;

/// The per-customer table as of the scoring cutoff: customer_id, churn_probability, risk_band,
/// annual_value (net spend in the 365 days before as_of), value_at_risk (probability × annual
/// value), reason (the drivers in words), driver_1..3 (feature names), recency_days, frequency
/// (purchase days), monetary (net spend). Highest value at risk first (or probability), ties by
/// probability, then customer_id.
pub fn predictions(
    fitted: &Fitted,
    f: &Features,
    ledger: &Ledger,
    list: &ListOptions,
) -> Result<DataFrame> {
    let p = fitted.probabilities(f);
    let x = f.matrix(fitted.with_p_alive);
    let annual: Vec<Money> = f
        .ids
        .iter()
        .map(|id| {
            ledger.code(id).map_or(Money::ZERO, |c| {
                ledger.net_between(c, f.cutoff - ANNUAL_DAYS, f.cutoff)
            })
        })
        .collect();
    let at_risk: Vec<f64> = p
        .iter()
        .zip(&annual)
        .map(|(p, a)| round_to(p * a.to_f64(), 2))
        .collect();
    let mut listed: Vec<usize> = (0..p.len())
        .filter(|&i| {
            list.churned_after.is_none_or(|days| {
                !crate::metrics::lifecycle::is_churned(f.recency[i] as i64, days)
            })
        })
        .collect();
    let by_probability =
        |a: &usize, b: &usize| p[*b].total_cmp(&p[*a]).then(f.ids[*a].cmp(&f.ids[*b]));
    // Bands by rank of probability among the listed customers.
    listed.sort_by(by_probability);
    let mut band = vec![""; p.len()];
    for (rank, &i) in listed.iter().enumerate() {
        band[i] = risk_band(rank, listed.len());
    }
    if !list.by_probability {
        listed.sort_by(|a, b| {
            at_risk[*b]
                .total_cmp(&at_risk[*a])
                .then(by_probability(a, b))
        });
    }
    listed.truncate(list.top.unwrap_or(usize::MAX));
    let order = listed;
    let drivers: Vec<Vec<usize>> = order
        .iter()
        .map(|&i| fitted.driver_indices(x.row(i)))
        .collect();
    let driver = |k: usize| -> Vec<Option<&str>> {
        drivers
            .iter()
            .map(|d| d.get(k).map(|&j| fitted.names[j].as_str()))
            .collect()
    };
    let reasons: Vec<String> = order
        .iter()
        .zip(&drivers)
        .map(|(&i, d)| {
            d.iter()
                .map(|&j| fitted.driver_words(j, x.row(i)))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .collect();
    let pick = |v: &[f64], digits: i32| -> Vec<f64> {
        order.iter().map(|&i| round_to(v[i], digits)).collect()
    };
    let whole = |v: &[f64]| -> Vec<i64> { order.iter().map(|&i| v[i] as i64).collect() };
    Ok(DataFrame::new_infer_height(vec![
        Column::new(
            "customer_id".into(),
            order.iter().map(|&i| f.ids[i].as_str()).collect::<Vec<_>>(),
        ),
        Column::new("churn_probability".into(), pick(&p, 4)),
        Column::new(
            "risk_band".into(),
            order.iter().map(|&i| band[i]).collect::<Vec<_>>(),
        ),
        Column::new(
            "annual_value".into(),
            order
                .iter()
                .map(|&i| annual[i].to_f64_cents())
                .collect::<Vec<_>>(),
        ),
        Column::new("value_at_risk".into(), pick(&at_risk, 2)),
        Column::new("reason".into(), reasons),
        Column::new("driver_1".into(), driver(0)),
        Column::new("driver_2".into(), driver(1)),
        Column::new("driver_3".into(), driver(2)),
        Column::new("recency_days".into(), whole(&f.recency)),
        Column::new("frequency".into(), whole(&f.frequency)),
        Column::new("monetary".into(), pick(&f.monetary, 2)),
    ])?)
}

/// Per owner of the listed customers (the `owner` column; nobody is `(unknown)`): customers,
/// those in the `high` band, annual value and value at risk (summed in cents), most value at
/// risk first, ties by owner. Without an owner column, one row for everyone (`all`).
pub fn by_owner(predictions: &DataFrame) -> Result<DataFrame> {
    let n = predictions.height();
    let owners: Vec<String> = match predictions.column("owner") {
        Ok(c) => c
            .str()?
            .iter()
            .map(|o| match o.unwrap_or("") {
                "" => crate::metrics::UNKNOWN.to_string(),
                o => o.to_string(),
            })
            .collect(),
        Err(_) => vec![crate::metrics::ALL.to_string(); n],
    };
    let bands = predictions.column("risk_band")?.str()?.clone();
    let cents = |name: &str| -> Result<Vec<i64>> {
        Ok(predictions
            .column(name)?
            .f64()?
            .iter()
            .map(|v| (v.unwrap_or(0.0) * 100.0).round() as i64)
            .collect())
    };
    let (annual, at_risk) = (cents("annual_value")?, cents("value_at_risk")?);
    #[derive(Default)]
    struct Owner {
        customers: i64,
        high: i64,
        annual_cents: i64,
        at_risk_cents: i64,
    }
    let mut acc: std::collections::BTreeMap<&str, Owner> = Default::default();
    for i in 0..n {
        let a = acc.entry(owners[i].as_str()).or_default();
        a.customers += 1;
        a.high += i64::from(bands.get(i) == Some("high"));
        a.annual_cents += annual[i];
        a.at_risk_cents += at_risk[i];
    }
    let mut rows: Vec<(&str, Owner)> = acc.into_iter().collect();
    rows.sort_by(|a, b| b.1.at_risk_cents.cmp(&a.1.at_risk_cents).then(a.0.cmp(b.0)));
    let ints = |f: fn(&Owner) -> i64| rows.iter().map(|(_, o)| f(o)).collect::<Vec<_>>();
    let money = |f: fn(&Owner) -> i64| {
        rows.iter()
            .map(|(_, o)| f(o) as f64 / 100.0)
            .collect::<Vec<_>>()
    };
    Ok(DataFrame::new_infer_height(vec![
        Column::new("owner".into(), rows.iter().map(|r| r.0).collect::<Vec<_>>()),
        Column::new("customers".into(), ints(|o| o.customers)),
        Column::new("high_risk".into(), ints(|o| o.high)),
        Column::new("annual_value".into(), money(|o| o.annual_cents)),
        Column::new("value_at_risk".into(), money(|o| o.at_risk_cents)),
    ])?)
}

/// Scores the model trained before `test.cutoff` and the baselines on the customers of `test`.
pub fn evaluate(fitted: &Fitted, test: &Features, y: &[bool]) -> Vec<Evaluation> {
    let mut out = vec![
        Evaluation::of("logistic", test.cutoff, &fitted.probabilities(test), y),
        Evaluation::of(
            "recency",
            test.cutoff,
            &fitted.recency_probabilities(test),
            y,
        ),
    ];
    if let Some(pa) = &test.p_alive {
        let p: Vec<f64> = pa.iter().map(|a| 1.0 - a).collect();
        out.push(Evaluation::of("p_alive", test.cutoff, &p, y));
    }
    out
}

/// The backtest's columns for churn: customers and their churn rate.
pub const BACKTEST: (&str, &str) = ("customers", "churn_rate");

/// A run: the model fitted on the latest cutoff whose outcome is known, its predictions as of
/// as_of, and the backtest.
pub struct ChurnRun {
    pub fitted: Fitted,
    pub train_cutoff: Day,
    /// The training rows: customer_id, churned, then every feature of the model.
    pub training: DataFrame,
    pub predictions: DataFrame,
    pub evaluations: Vec<Evaluation>,
    pub notes: Vec<String>,
}

/// Features at any cutoff, each built once: the ledger of the rows before the cutoff (the
/// run's own at as_of), so nothing dated on or after a cutoff reaches its features.
struct Cutoffs<'a> {
    orders: &'a DataFrame,
    run: &'a Ledger,
    signals: &'a Signals,
    levels: Vec<Vec<String>>,
    built: HashMap<Day, Features>,
}

impl Cutoffs<'_> {
    fn at(&mut self, cutoff: Day) -> Result<&Features> {
        if !self.built.contains_key(&cutoff) {
            let watch = crate::diag::Stopwatch::new();
            let f = if cutoff == self.run.as_of {
                features(self.run, self.signals, &self.levels)
            } else {
                let ledger = Ledger::build(self.orders, Some(cutoff))?;
                watch.lap(&format!("ledger as of {cutoff}"));
                features(&ledger, self.signals, &self.levels)
            };
            watch.lap(&format!("features as of {cutoff}"));
            self.built.insert(cutoff, f);
        }
        Ok(&self.built[&cutoff])
    }
}

/// Trains at `cutoff` (outcomes from `run`), or says why not.
fn train_at(
    f: &Features,
    run: &Ledger,
    horizon: i32,
    with_p_alive: bool,
) -> std::result::Result<Fitted, String> {
    let y = labels(f, run, horizon);
    let churned = y.iter().filter(|v| **v).count();
    if y.len() < 20 || churned == 0 || churned == y.len() {
        return Err(format!(
            "{} customers had bought before {}, {churned} of them churned: too few to train on",
            y.len(),
            iso(f.cutoff)
        ));
    }
    train(f, &y, with_p_alive).map_err(|e| e.to_string())
}

/// The cutoffs a run reads features at (as_of, the training cutoff, each backtest cutoff and its
/// training cutoff), each once, latest first.
fn cutoffs_needed(opts: &Options, as_of: Day) -> Vec<Day> {
    let mut needed = vec![as_of, as_of - opts.horizon];
    for e in opts.tests(as_of) {
        needed.extend([e, e - opts.horizon]);
    }
    needed.sort_unstable_by(|a, b| b.cmp(a));
    needed.dedup();
    needed
}

/// How many steps [`run`] reports to its `step` callback: the features at each cutoff, the
/// model's fit, and each backtest fit.
pub fn step_count(opts: &Options, as_of: Day) -> usize {
    cutoffs_needed(opts, as_of).len() + 1 + opts.cutoffs
}

/// Fits the model, scores as_of's customers and backtests it; `step` hears each step as it
/// starts (for a progress bar; the metric itself prints nothing).
pub fn run(
    orders: &DataFrame,
    ledger: &Ledger,
    signals: &Signals,
    opts: &Options,
    list: &ListOptions,
    step: &dyn Fn(&str),
) -> Result<ChurnRun> {
    let h = opts.horizon;
    let as_of = ledger.as_of;
    let mut cutoffs = Cutoffs {
        orders,
        run: ledger,
        signals,
        levels: signals.levels(),
        built: HashMap::new(),
    };
    let train_cutoff = as_of - h;
    let tests = opts.tests(as_of);
    // Every cutoff a model reads, and whether P(alive) could be fitted at all of them.
    let mut notes = Vec::new();
    let mut with_p_alive = true;
    for c in cutoffs_needed(opts, as_of) {
        step(&format!("features as of {c}"));
        let f = cutoffs.at(c)?;
        if f.p_alive.is_none() && !f.ids.is_empty() {
            with_p_alive = false;
        }
    }
    if !with_p_alive {
        notes.push(
            "BG/NBD P(alive) could not be fitted at every cutoff: it is left out of the features"
                .to_string(),
        );
    }
    let watch = crate::diag::Stopwatch::new();
    step("fitting the model");
    let fitted = train_at(cutoffs.at(train_cutoff)?, ledger, h, with_p_alive).map_err(|why| {
        anyhow::anyhow!(
            "cannot train the churn model on the cutoff {} (as_of − {h} days): {why}; use a \
             shorter --horizon or more history",
            train_cutoff
        )
    })?;
    watch.lap("model fit");
    let training = {
        let f = cutoffs.at(train_cutoff)?;
        training_table(f, &labels(f, ledger, h), &fitted)?
    };
    let predictions = predictions(&fitted, cutoffs.at(as_of)?, ledger, list)?;
    watch.lap("predictions");
    let mut evaluations = Vec::new();
    for &e in &tests {
        step(&format!("backtest before {e}"));
        let trained = train_at(cutoffs.at(e - h)?, ledger, h, with_p_alive);
        watch.lap(&format!("backtest fit before {e}"));
        let model = match trained {
            Ok(m) => m,
            Err(why) => {
                notes.push(format!(
                    "backtest cutoff {e} left out: training before it: {why}"
                ));
                continue;
            }
        };
        let test = cutoffs.at(e)?;
        let y = labels(test, ledger, h);
        evaluations.extend(evaluate(&model, test, &y));
    }
    Ok(ChurnRun {
        fitted,
        train_cutoff,
        training,
        predictions,
        evaluations,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::day::Day;
    use crate::money::Money;

    fn day(s: &str) -> i32 {
        Day::parse(s).map(Day::days).unwrap()
    }

    /// customer, order, date, amount, status
    fn frame(rows: &[(&str, &str, &str, f64, &str)]) -> DataFrame {
        let days: Vec<i32> = rows.iter().map(|r| day(r.2)).collect();
        DataFrame::new_infer_height(vec![
            Column::new(
                "customer_id".into(),
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            ),
            Column::new(
                "order_id".into(),
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            ),
            Column::new("order_date".into(), days)
                .cast(&DataType::Date)
                .unwrap(),
            Column::new(
                "amount".into(),
                rows.iter()
                    .map(|r| Money::from_f64(r.3).unwrap().0)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "status".into(),
                rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            ),
        ])
        .unwrap()
    }

    fn signals(until: Option<i32>) -> Signals {
        let keep = |d: i32| until.is_none_or(|u| d < u);
        let days =
            |v: &[&str]| -> Vec<i32> { v.iter().map(|s| day(s)).filter(|d| keep(*d)).collect() };
        let one = |id: &str, v: Vec<i32>| HashMap::from([(id.to_string(), v)]);
        let answers = |v: &[(&str, f64)]| -> Vec<(i32, f64)> {
            v.iter()
                .map(|(s, x)| (day(s), *x))
                .filter(|(d, _)| keep(*d))
                .collect()
        };
        Signals {
            followups: Some(one("A", days(&["2024-01-05", "2024-02-20", "2024-03-10"]))),
            owner_changes: Some(one("A", days(&["2023-12-01", "2024-03-05"]))),
            pool_returns: Some(one("B", days(&["2024-01-10", "2024-03-20"]))),
            nps: Some(HashMap::from([(
                "A".to_string(),
                answers(&[("2024-01-15", 9.0), ("2024-03-02", 3.0)]),
            )])),
            csat: Some(HashMap::new()),
            attributes: vec![(
                "source".into(),
                HashMap::from([("A".into(), "ads".into()), ("B".into(), "web".into())]),
            )],
        }
    }

    /// The features at a cutoff are the same whether the rows after it are there or not: an
    /// order refunded after the cutoff, later purchases, follow-ups, events and answers after it
    /// change nothing.
    #[test]
    fn features_at_a_cutoff_ignore_every_later_row() {
        let cutoff = day("2024-03-01");
        let rows = [
            ("A", "1", "2024-01-02", 100.0, "paid"),
            ("A", "2", "2024-02-10", 50.0, "paid"),
            // Refunded after the cutoff: still a purchase as of the cutoff.
            ("A", "2", "2024-03-15", -50.0, "refunded"),
            ("A", "3", "2024-04-01", 80.0, "paid"),
            ("B", "4", "2023-11-20", 30.0, "paid"),
            ("B", "5", "2024-02-01", 40.0, "paid"),
            ("B", "6", "2024-05-01", 40.0, "paid"),
            ("C", "7", "2024-03-20", 10.0, "paid"),
        ];
        let full = frame(&rows);
        let before: Vec<_> = rows.iter().copied().filter(|r| day(r.2) < cutoff).collect();
        let truncated = frame(&before);
        let levels = vec![vec!["ads".to_string(), OTHER.to_string()]];
        let a = features(
            &Ledger::build(&full, Some(Day::new(cutoff))).unwrap(),
            &signals(None),
            &levels,
        );
        let b = features(
            &Ledger::build(&truncated, Some(Day::new(cutoff))).unwrap(),
            &signals(Some(cutoff)),
            &levels,
        );
        assert_eq!(a.ids, ["A", "B"]);
        assert_eq!((&a.ids, &a.names), (&b.ids, &b.names));
        assert_eq!(a.x.values, b.x.values);
        assert_eq!(a.monetary, [150.0, 70.0]);
        // A: last purchase 02-10 (20 days), 2 purchases, follow-ups 01-05 and 02-20 (10 days
        // since), one owner change before, latest NPS 9 (the 03-02 answer is later).
        let row = |n: &str| a.x.row(0)[a.names.iter().position(|x| x == n).unwrap()];
        assert_eq!(row("recency_days"), 20.0);
        assert_eq!(row("days_since_followup"), 10.0);
        assert_eq!(row("owner_changes"), 2f64.ln());
        assert_eq!(row("latest_nps"), 9.0);
        assert_eq!(row("source=ads"), 1.0);
    }
}
