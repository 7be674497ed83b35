//! Retention of subscribers and contracts (docs/metrics.md, "Retention"): each subscription as
//! whole periods survived and whether it was lost, the observed curve (Kaplan–Meier with
//! Greenwood intervals), the contract churn models of [`models`], and per subscriber the chance
//! of renewing and the discounted expected residual lifetime.
//!
//! One subscription's periods (the rule every table here counts by):
//! - lost: the period it was lost in, T ≥ 1 (it made T − 1 renewals); from dates, the number of
//!   periods begun before its end date, so a monthly subscription from 15 January ended on any
//!   day up to 15 February was lost in period 1;
//! - active: the renewals it has made, n ≥ 0; from dates, the whole periods from its start to
//!   the last day observed (as_of − 1).

pub mod models;

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use polars::prelude::*;

use crate::day::{iso, Day};
use crate::metrics::stats::round_to;
use crate::metrics::{ALL, UNKNOWN};
use crate::money::{Money, Total};
use models::{Counts, Curve, Fitted, Model};

/// The length of a period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Unit {
    #[default]
    Month,
    Quarter,
    Year,
}

impl Unit {
    pub fn months(self) -> u32 {
        match self {
            Unit::Month => 1,
            Unit::Quarter => 3,
            Unit::Year => 12,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Unit::Month => "month",
            Unit::Quarter => "quarter",
            Unit::Year => "year",
        }
    }

    /// The number of whole periods from day `from` to day `to` (0 when `to` < one period after
    /// `from`); a period after 31 January ends on the last day of February.
    pub fn whole_periods(self, from: i32, to: i32) -> u32 {
        let (Some(a), Some(b)) = (date(from), date(to)) else {
            return 0;
        };
        if b <= a {
            return 0;
        }
        let step = self.months();
        let months = (chrono::Datelike::year(&b) - chrono::Datelike::year(&a)) * 12
            + chrono::Datelike::month0(&b) as i32
            - chrono::Datelike::month0(&a) as i32;
        let mut k = (months.max(0) as u32) / step;
        while k > 0
            && a.checked_add_months(Months::new(k * step))
                .is_none_or(|d| d > b)
        {
            k -= 1;
        }
        k
    }

    /// The periods a subscription from `start` counts (see the module's rule): lost in period T
    /// when `end` is before `as_of`, else active after n renewals. `None` when it starts on or
    /// after `as_of`.
    pub fn spell(self, start: i32, end: Option<i32>, as_of: Day) -> Option<(u32, bool)> {
        let as_of = as_of.days();
        if start >= as_of {
            return None;
        }
        Some(match end {
            Some(end) if end < as_of => (self.whole_periods(start, end - 1) + 1, true),
            _ => (self.whole_periods(start, as_of - 1), false),
        })
    }
}

fn date(days: i32) -> Option<NaiveDate> {
    crate::day::Day::new(days).date()
}

/// A dated row of a subscriptions file.
#[derive(Clone, Debug)]
pub struct DatedRow {
    /// The row's position in the loaded table.
    pub index: usize,
    pub id: String,
    pub start: i32,
    pub end: Option<i32>,
}

/// Rows of one customer chained into one subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    /// The row whose plan, amount and owner the subscription takes: the latest started.
    pub latest: usize,
    pub rows: usize,
    pub start: i32,
    /// None while any of its rows is open.
    pub end: Option<i32>,
}

/// Chains each customer's rows into subscriptions (docs/metrics.md, "Retention"): in order of
/// start (then end, then row), a row that starts by the day after the chain's end plus `grace`
/// days (or while it is open) renews it; a later row starts a new subscription. `rows` must be
/// sorted by ID.
pub fn chain(rows: &[DatedRow], grace: i32) -> Vec<Chain> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let mut j = i;
        while j < rows.len() && rows[j].id == rows[i].id {
            j += 1;
        }
        let mut own: Vec<&DatedRow> = rows[i..j].iter().collect();
        own.sort_by_key(|r| (r.start, r.end.unwrap_or(i32::MAX), r.index));
        let mut current: Option<Chain> = None;
        for r in own {
            match &mut current {
                Some(c)
                    if c.end
                        .is_none_or(|end| r.start <= end.saturating_add(1 + grace)) =>
                {
                    c.end = match (c.end, r.end) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        _ => None,
                    };
                    c.latest = r.index;
                    c.rows += 1;
                }
                _ => {
                    out.extend(current.take());
                    current = Some(Chain {
                        latest: r.index,
                        rows: 1,
                        start: r.start,
                        end: r.end,
                    });
                }
            }
        }
        out.extend(current);
        i = j;
    }
    out
}

/// One subscription as the tables count it.
#[derive(Clone, Debug)]
pub struct Subscription {
    pub id: String,
    pub owner: Option<String>,
    /// Its values of the `--by` columns (`(unknown)` for an empty cell).
    pub key: Vec<String>,
    pub plan: Option<String>,
    pub start: Option<i32>,
    /// The end date of a dated subscription (None while active, or for a tenure).
    pub end: Option<i32>,
    /// Lost in period T (`churned`), or active after n renewals.
    pub periods: u32,
    pub churned: bool,
    pub mrr: Option<Money>,
}

/// What `retention` is asked for.
#[derive(Clone, Debug)]
pub struct Options {
    pub model: Model,
    pub unit: Unit,
    /// Interval level for the parameters (0.95).
    pub level: f64,
    /// Periods to project past the last observed.
    pub horizon: u32,
    /// Discount rate per period for the residual lifetime.
    pub discount: f64,
    /// The `--by` column names, in the order of each subscription's `key`.
    pub by: Vec<String>,
    pub has_mrr: bool,
    pub has_owner: bool,
    pub has_plan: bool,
    pub has_start: bool,
}

/// A group's subscribers, counts and fit.
pub struct Group {
    pub key: Vec<String>,
    pub members: Vec<usize>,
    pub counts: Counts,
    pub lost_mrr: Vec<Total>,
    pub active_mrr: Vec<Total>,
    pub fit: Option<Fitted>,
}

impl Group {
    /// Churned ÷ subscriptions of the group (docs/metrics.md, "Retention"); None when empty.
    pub fn churn_rate(&self) -> Option<f64> {
        let total = self.counts.subscribers();
        (total > 0.0).then(|| self.counts.churned() / total)
    }

    /// The recurring amount of the active and of the churned subscriptions.
    pub fn mrr(&self) -> (Total, Total) {
        let sum = |v: &[Total]| v.iter().fold(Total::default(), |a, t| Total(a.0 + t.0));
        (sum(&self.active_mrr), sum(&self.lost_mrr))
    }

    /// Churned subscriptions' MRR ÷ all subscriptions' MRR; None without an amount.
    pub fn mrr_churn_rate(&self) -> Option<f64> {
        let (on, off) = self.mrr();
        let all = on.0 + off.0;
        (all != 0).then(|| off.0 as f64 / all as f64)
    }
}

/// The groups of `--by` in byte order with `(unknown)` after the others, then `all`, each
/// counted and fitted.
pub fn groups(subs: &[Subscription], opts: &Options) -> Vec<Group> {
    let mut members: BTreeMap<(bool, Vec<String>), Vec<usize>> = BTreeMap::new();
    if !opts.by.is_empty() {
        for (i, s) in subs.iter().enumerate() {
            let unknown = s.key.iter().any(|k| k == UNKNOWN);
            members.entry((unknown, s.key.clone())).or_default().push(i);
        }
    }
    let mut keyed: Vec<(Vec<String>, Vec<usize>)> =
        members.into_iter().map(|((_, k), m)| (k, m)).collect();
    keyed.push((
        vec![ALL.to_string(); opts.by.len()],
        (0..subs.len()).collect(),
    ));
    let fitted: Vec<Group> = crate::metrics::clv::parallel_map(keyed.len(), |g| {
        let (key, members) = &keyed[g];
        let mut counts = Counts::default();
        let mut lost_mrr = Vec::new();
        let mut active_mrr = Vec::new();
        for &i in members {
            let s = &subs[i];
            counts.add(s.periods, s.churned);
            let v = if s.churned {
                &mut lost_mrr
            } else {
                &mut active_mrr
            };
            let t = s.periods as usize;
            if v.len() <= t {
                v.resize(t + 1, Total::default());
            }
            if let Some(m) = s.mrr {
                v[t].add(m);
            }
        }
        let fit = models::fit(opts.model, &counts, opts.level);
        Group {
            key: key.clone(),
            members: members.clone(),
            counts,
            lost_mrr,
            active_mrr,
            fit,
        }
    });
    fitted
}

/// Churn over the days `[from, to)` (`check`'s periods, docs/metrics.md "Retention"): of the
/// dated subscriptions active the day before `from` (started before it, not ended before it),
/// the share that ended in the period, by count and by recurring amount. `None` when none was
/// active then.
pub fn churn_between(subs: &[Subscription], from: i32, to: i32) -> Option<(f64, Option<f64>)> {
    let mut at_start = 0usize;
    let mut lost = 0usize;
    let (mut mrr_start, mut mrr_lost) = (Total::default(), Total::default());
    for s in subs {
        let Some(start) = s.start else { continue };
        if start >= from || s.end.is_some_and(|e| e < from) {
            continue;
        }
        at_start += 1;
        let m = s.mrr.unwrap_or(Money::ZERO);
        mrr_start.add(m);
        if s.end.is_some_and(|e| e < to) {
            lost += 1;
            mrr_lost.add(m);
        }
    }
    (at_start > 0).then(|| {
        let mrr = (mrr_start.0 != 0).then(|| mrr_lost.0 as f64 / mrr_start.0 as f64);
        (lost as f64 / at_start as f64, mrr)
    })
}

/// One period of the observed curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KmRow {
    pub period: u32,
    pub at_risk: f64,
    pub churned: f64,
    /// Active subscribers whose observation ends after this period.
    pub censored: f64,
    pub survival: f64,
    pub low: f64,
    pub high: f64,
}

/// The Kaplan–Meier survival over whole periods: a subscriber lost in period T is at risk in
/// periods 1…T, an active one after n renewals in 1…n (censored after n); S(t) = Π (1 − d/n).
/// The interval at `level` is Greenwood's variance on the log(−log) scale (as lifelines and
/// R's `conf.type = "log-log"`), which keeps it inside 0…1.
pub fn kaplan_meier(counts: &Counts, level: f64) -> Vec<KmRow> {
    let z = crate::metrics::stats::normal_quantile(0.5 + level / 2.0);
    let max = counts.max_period();
    let at = |v: &[f64], t: usize| v.get(t).copied().unwrap_or(0.0);
    let mut at_risk = counts.subscribers() - at(&counts.active, 0);
    let mut survival = 1.0;
    let mut greenwood = 0.0;
    let mut rows = Vec::with_capacity(max);
    for t in 1..=max {
        let d = at(&counts.lost, t);
        let c = at(&counts.active, t);
        if at_risk <= 0.0 {
            break;
        }
        survival *= 1.0 - d / at_risk;
        if at_risk > d {
            greenwood += d / (at_risk * (at_risk - d));
        }
        let (low, high) = if survival <= 0.0 {
            (0.0, 0.0)
        } else if survival >= 1.0 {
            (1.0, 1.0)
        } else {
            let ln = survival.ln();
            let sd = (greenwood / (ln * ln)).sqrt();
            let centre = (-ln).ln();
            (
                (-(centre + z * sd).exp()).exp(),
                (-(centre - z * sd).exp()).exp(),
            )
        };
        rows.push(KmRow {
            period: t as u32,
            at_risk,
            churned: d,
            censored: c,
            survival,
            low,
            high,
        });
        at_risk -= d + c;
    }
    rows
}

/// The first period whose survival is at or below one half, if the curve gets there.
pub fn median_tenure(km: &[KmRow]) -> Option<u32> {
    km.iter().find(|r| r.survival <= 0.5).map(|r| r.period)
}

/// A column builder: the `--by` columns of each row, then the table's own.
struct Builder {
    names: Vec<String>,
    keys: Vec<Vec<String>>,
    columns: Vec<Column>,
}

impl Builder {
    fn new(by: &[String]) -> Builder {
        Builder {
            names: by.to_vec(),
            keys: vec![Vec::new(); by.len()],
            columns: Vec::new(),
        }
    }

    fn key(&mut self, key: &[String]) {
        for (col, v) in self.keys.iter_mut().zip(key) {
            col.push(v.clone());
        }
    }

    fn push(&mut self, name: &str, column: impl IntoColumn) {
        let mut c = column.into_column();
        c.rename(name.into());
        self.columns.push(c);
    }

    fn finish(self) -> PolarsResult<DataFrame> {
        let mut cols: Vec<Column> = self
            .names
            .iter()
            .zip(self.keys)
            .map(|(n, v)| Column::new(n.as_str().into(), v))
            .collect();
        cols.extend(self.columns);
        DataFrame::new_infer_height(cols)
    }
}

fn rounded(v: f64, decimals: i32) -> f64 {
    round_to(v, decimals)
}

fn cents(t: Total) -> f64 {
    t.to_f64_cents()
}

/// Per group: subscribers, churn, the median tenure, recurring revenue lost, the model used and
/// what it expects next period and over the rest of the subscribers' lives.
pub fn summary(subs: &[Subscription], groups: &[Group], opts: &Options) -> PolarsResult<DataFrame> {
    let mut b = Builder::new(&opts.by);
    let mut n_subs = Vec::new();
    let mut active = Vec::new();
    let mut churned = Vec::new();
    let mut churn_rate = Vec::new();
    let mut median = Vec::new();
    let mut mrr_active = Vec::new();
    let mut mrr_churned = Vec::new();
    let mut mrr_rate = Vec::new();
    let mut model = Vec::new();
    let mut p_renew = Vec::new();
    let mut expected_lost = Vec::new();
    let mut expected_lost_mrr = Vec::new();
    let mut residual = Vec::new();
    for g in groups {
        b.key(&g.key);
        let total = g.counts.subscribers();
        let lost = g.counts.churned();
        n_subs.push(total as u64);
        churned.push(lost as u64);
        active.push((total - lost) as u64);
        churn_rate.push(g.churn_rate().map(|r| rounded(r, 4)));
        median.push(median_tenure(&kaplan_meier(&g.counts, opts.level)).map(u64::from));
        let (on, off) = g.mrr();
        mrr_active.push(cents(on));
        mrr_churned.push(cents(off));
        mrr_rate.push(g.mrr_churn_rate().map(|r| rounded(r, 4)));
        model.push(g.fit.as_ref().map(|f| f.model));
        let next = g.fit.as_ref().map(|f| {
            let mut p_sum = 0.0;
            let mut lost_mrr = 0.0;
            let mut value = 0.0;
            let mut value_ok = true;
            let mut n = 0.0;
            for &i in &g.members {
                let s = &subs[i];
                if s.churned {
                    continue;
                }
                let p = f.curve.p_renew(f64::from(s.periods));
                n += 1.0;
                p_sum += p;
                let m = s.mrr.map_or(0.0, Money::to_f64);
                lost_mrr += (1.0 - p) * m;
                match f.curve.derl(f64::from(s.periods), opts.discount) {
                    Some(d) => value += d * m,
                    None => value_ok = false,
                }
            }
            (n, p_sum, lost_mrr, value_ok.then_some(value))
        });
        match next {
            Some((n, p_sum, lost_mrr, value)) if n > 0.0 => {
                p_renew.push(Some(rounded(p_sum / n, 4)));
                expected_lost.push(Some(rounded(n - p_sum, 1)));
                expected_lost_mrr.push(Some(rounded(lost_mrr, 2)));
                residual.push(value.map(|v| rounded(v, 2)));
            }
            _ => {
                p_renew.push(None);
                expected_lost.push(None);
                expected_lost_mrr.push(None);
                residual.push(None);
            }
        }
    }
    b.push("subscribers", Series::new("".into(), n_subs));
    b.push("active", Series::new("".into(), active));
    b.push("churned", Series::new("".into(), churned));
    b.push("churn_rate", Series::new("".into(), churn_rate));
    b.push(
        &format!("median_tenure_{}s", opts.unit.name()),
        Series::new("".into(), median),
    );
    if opts.has_mrr {
        b.push("mrr_active", Series::new("".into(), mrr_active));
        b.push("mrr_churned", Series::new("".into(), mrr_churned));
        b.push("mrr_churn_rate", Series::new("".into(), mrr_rate));
    }
    b.push("model", Series::new("".into(), model));
    b.push("p_renew_next", Series::new("".into(), p_renew));
    b.push(
        "expected_cancellations_next",
        Series::new("".into(), expected_lost),
    );
    if opts.has_mrr {
        b.push(
            "expected_churned_mrr_next",
            Series::new("".into(), expected_lost_mrr),
        );
        b.push("residual_value", Series::new("".into(), residual));
    }
    b.finish()
}

/// Per group and period: the observed curve (at risk, churned, retention rate, Kaplan–Meier
/// survival and interval, recurring revenue at risk and lost) beside the model's survival and
/// retention, projected `horizon` periods past the last observed.
pub fn curve(groups: &[Group], opts: &Options) -> PolarsResult<DataFrame> {
    let mut b = Builder::new(&opts.by);
    let mut period = Vec::new();
    let mut at_risk = Vec::new();
    let mut churned = Vec::new();
    let mut censored = Vec::new();
    let mut retention = Vec::new();
    let mut survival = Vec::new();
    let (mut low, mut high) = (Vec::new(), Vec::new());
    let (mut model_s, mut model_r) = (Vec::new(), Vec::new());
    let (mut mrr_risk, mut mrr_lost, mut mrr_ret) = (Vec::new(), Vec::new(), Vec::new());
    for g in groups {
        let km = kaplan_meier(&g.counts, opts.level);
        // Recurring revenue at risk in period t: of everyone still counted at t.
        let at = |v: &[Total], t: usize| v.get(t).copied().unwrap_or_default().0;
        let max = g.counts.max_period();
        let mut risk_mrr: i128 = (1..=max)
            .map(|t| at(&g.lost_mrr, t) + at(&g.active_mrr, t))
            .sum();
        let last = km.len() as u32 + opts.horizon;
        for t in 1..=last {
            b.key(&g.key);
            period.push(t);
            let row = km.get(t as usize - 1);
            at_risk.push(row.map(|r| r.at_risk as u64));
            churned.push(row.map(|r| r.churned as u64));
            censored.push(row.map(|r| r.censored as u64));
            retention.push(row.map(|r| rounded(1.0 - r.churned / r.at_risk, 4)));
            survival.push(row.map(|r| rounded(r.survival, 4)));
            low.push(row.map(|r| rounded(r.low, 4)));
            high.push(row.map(|r| rounded(r.high, 4)));
            let curve = g.fit.as_ref().map(|f| f.curve);
            model_s.push(curve.map(|c| rounded(c.survival(f64::from(t)), 4)));
            model_r.push(curve.map(|c| rounded(c.retention(f64::from(t)), 4)));
            if row.is_some() {
                let lost = at(&g.lost_mrr, t as usize);
                mrr_risk.push(Some(cents(Total(risk_mrr))));
                mrr_lost.push(Some(cents(Total(lost))));
                mrr_ret
                    .push((risk_mrr != 0).then(|| rounded(1.0 - lost as f64 / risk_mrr as f64, 4)));
                risk_mrr -= lost + at(&g.active_mrr, t as usize);
            } else {
                mrr_risk.push(None);
                mrr_lost.push(None);
                mrr_ret.push(None);
            }
        }
    }
    b.push("period", Series::new("".into(), period));
    b.push("at_risk", Series::new("".into(), at_risk));
    b.push("churned", Series::new("".into(), churned));
    b.push("censored", Series::new("".into(), censored));
    b.push("retention_rate", Series::new("".into(), retention));
    b.push("survival", Series::new("".into(), survival));
    b.push("survival_low", Series::new("".into(), low));
    b.push("survival_high", Series::new("".into(), high));
    b.push("model_survival", Series::new("".into(), model_s));
    b.push("model_retention", Series::new("".into(), model_r));
    if opts.has_mrr {
        b.push("mrr_at_risk", Series::new("".into(), mrr_risk));
        b.push("churned_mrr", Series::new("".into(), mrr_lost));
        b.push("mrr_retention", Series::new("".into(), mrr_ret));
    }
    b.finish()
}

/// Per group and parameter: the estimate, its standard error and interval, the log-likelihood
/// and whether the model converged or the geometric stands in for it.
pub fn params(groups: &[Group], opts: &Options) -> PolarsResult<DataFrame> {
    let mut b = Builder::new(&opts.by);
    let mut model = Vec::new();
    let mut parameter = Vec::new();
    let mut estimate = Vec::new();
    let mut se = Vec::new();
    let (mut low, mut high) = (Vec::new(), Vec::new());
    let mut ll = Vec::new();
    let mut status = Vec::new();
    for g in groups {
        let Some(f) = &g.fit else { continue };
        for e in &f.estimates {
            b.key(&g.key);
            model.push(f.model);
            parameter.push(e.name);
            estimate.push(rounded(e.value, 6));
            se.push(e.std_error.map(|v| rounded(v, 6)));
            low.push(e.low.map(|v| rounded(v, 6)));
            high.push(e.high.map(|v| rounded(v, 6)));
            ll.push(rounded(f.ll, 4));
            status.push(if f.boundary.is_some() {
                "boundary"
            } else {
                "converged"
            });
        }
    }
    b.push("model", Series::new("".into(), model));
    b.push("parameter", Series::new("".into(), parameter));
    b.push("estimate", Series::new("".into(), estimate));
    b.push("std_error", Series::new("".into(), se));
    b.push("ci_low", Series::new("".into(), low));
    b.push("ci_high", Series::new("".into(), high));
    b.push("log_likelihood", Series::new("".into(), ll));
    b.push("status", Series::new("".into(), status));
    b.finish()
}

/// The active subscribers with their chance of cancelling next period, the discounted expected
/// residual lifetime and, with an amount, the revenue it stands for; likeliest to cancel first
/// (then the larger amount, then the customer ID).
pub fn subscribers(
    subs: &[Subscription],
    groups: &[Group],
    opts: &Options,
) -> PolarsResult<DataFrame> {
    // Each subscriber is scored by the fit of its own group (the last group, `all`, without --by).
    let mut fit_of: Vec<Option<&Fitted>> = vec![None; subs.len()];
    for g in groups.iter().rev() {
        for &i in &g.members {
            if g.key.iter().all(|k| k != ALL) || opts.by.is_empty() {
                fit_of[i] = g.fit.as_ref();
            }
        }
    }
    struct Scored {
        i: usize,
        churn: f64,
        derl: Option<f64>,
    }
    let mut scored: Vec<Scored> = subs
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.churned)
        .filter_map(|(i, s)| {
            let curve: Curve = fit_of[i]?.curve;
            let n = f64::from(s.periods);
            Some(Scored {
                i,
                churn: 1.0 - curve.p_renew(n),
                derl: curve.derl(n, opts.discount),
            })
        })
        .collect();
    scored.sort_by(|a, b| {
        let (sa, sb) = (&subs[a.i], &subs[b.i]);
        b.churn
            .total_cmp(&a.churn)
            .then(sb.mrr.cmp(&sa.mrr))
            .then(sa.id.cmp(&sb.id))
            .then(a.i.cmp(&b.i))
    });
    let mut b = Builder::new(&[]);
    let col = |f: &dyn Fn(&Subscription) -> Option<String>| -> Vec<Option<String>> {
        scored.iter().map(|s| f(&subs[s.i])).collect()
    };
    b.push(
        "customer_id",
        Series::new("".into(), col(&|s| Some(s.id.clone()))),
    );
    if opts.has_owner {
        b.push("owner", Series::new("".into(), col(&|s| s.owner.clone())));
    }
    for (k, name) in opts.by.iter().enumerate() {
        b.push(
            name,
            Series::new("".into(), col(&|s| Some(s.key[k].clone()))),
        );
    }
    if opts.has_plan && !opts.by.iter().any(|n| n == "plan") {
        b.push("plan", Series::new("".into(), col(&|s| s.plan.clone())));
    }
    if opts.has_start {
        let starts: Vec<Option<i32>> = scored.iter().map(|s| subs[s.i].start).collect();
        b.push(
            "start_date",
            Series::new("".into(), starts).cast(&DataType::Date)?,
        );
    }
    let tenure: Vec<u32> = scored.iter().map(|s| subs[s.i].periods).collect();
    b.push(
        &format!("tenure_{}s", opts.unit.name()),
        Series::new("".into(), tenure),
    );
    if opts.has_mrr {
        let m: Vec<Option<f64>> = scored
            .iter()
            .map(|s| subs[s.i].mrr.map(Money::to_f64_cents))
            .collect();
        b.push("mrr", Series::new("".into(), m));
    }
    let churn: Vec<f64> = scored.iter().map(|s| rounded(s.churn, 4)).collect();
    b.push("churn_next", Series::new("".into(), churn));
    let derl: Vec<Option<f64>> = scored
        .iter()
        .map(|s| s.derl.map(|d| rounded(d, 3)))
        .collect();
    b.push("derl", Series::new("".into(), derl));
    if opts.has_mrr {
        let value: Vec<Option<f64>> = scored
            .iter()
            .map(|s| {
                let m = subs[s.i].mrr?.to_f64();
                s.derl.map(|d| rounded(d * m, 2))
            })
            .collect();
        b.push("expected_remaining_revenue", Series::new("".into(), value));
    }
    b.finish()
}

/// Per start cohort (the period a subscription began in): subscribers, and the share still
/// subscribed after 1, 2, … periods, blank where the cohort has not been observed that long.
pub fn cohorts(subs: &[Subscription], unit: Unit, as_of: Day) -> PolarsResult<DataFrame> {
    let period = match unit {
        Unit::Month => crate::metrics::periods::Period::Month,
        Unit::Quarter | Unit::Year => crate::metrics::periods::Period::Quarter,
    };
    let label = |start: i32| match unit {
        Unit::Year => iso(start)[..4].to_string(),
        _ => period.label(period.index(start)),
    };
    let mut by: BTreeMap<String, Vec<&Subscription>> = BTreeMap::new();
    for s in subs {
        if let Some(start) = s.start {
            by.entry(label(start)).or_default().push(s);
        }
    }
    let longest = by
        .values()
        .flatten()
        .filter_map(|s| s.start.map(|st| unit.whole_periods(st, as_of.days() - 1)))
        .max()
        .unwrap_or(0);
    let mut names = Vec::new();
    let mut sizes = Vec::new();
    let mut shares: Vec<Vec<Option<f64>>> = vec![Vec::new(); longest as usize];
    for (name, members) in &by {
        names.push(name.clone());
        sizes.push(members.len() as u64);
        // Observed k periods after its start only when the cohort's latest start has been
        // around k periods: a partly observed period would undercount.
        let observed = members
            .iter()
            .filter_map(|s| s.start.map(|st| unit.whole_periods(st, as_of.days() - 1)))
            .min()
            .unwrap_or(0);
        for k in 1..=longest {
            let share = (k <= observed).then(|| {
                let alive = members
                    .iter()
                    .filter(|s| {
                        if s.churned {
                            s.periods > k
                        } else {
                            s.periods >= k
                        }
                    })
                    .count();
                rounded(alive as f64 / members.len() as f64, 4)
            });
            shares[k as usize - 1].push(share);
        }
    }
    let mut cols = vec![
        Column::new("cohort".into(), names),
        Column::new("subscribers".into(), sizes),
    ];
    for (k, v) in shares.into_iter().enumerate() {
        cols.push(Column::new(format!("{}_{}", unit.name(), k + 1).into(), v));
    }
    DataFrame::new_infer_height(cols)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::day::Day;

    fn day(s: &str) -> i32 {
        Day::parse(s).map(Day::days).unwrap()
    }

    #[test]
    fn periods_from_dates() {
        let m = Unit::Month;
        assert_eq!(m.whole_periods(day("2024-01-15"), day("2024-02-14")), 0);
        assert_eq!(m.whole_periods(day("2024-01-15"), day("2024-02-15")), 1);
        assert_eq!(m.whole_periods(day("2024-01-31"), day("2024-02-29")), 1);
        assert_eq!(m.whole_periods(day("2024-01-31"), day("2024-02-28")), 0);
        assert_eq!(
            Unit::Quarter.whole_periods(day("2024-01-15"), day("2024-07-14")),
            1
        );
        assert_eq!(
            Unit::Year.whole_periods(day("2023-03-01"), day("2024-03-01")),
            1
        );
        // Ended on any day up to the first renewal: lost in period 1.
        let as_of = Day::new(day("2025-01-01"));
        assert_eq!(
            m.spell(day("2024-01-15"), Some(day("2024-01-15")), as_of),
            Some((1, true))
        );
        assert_eq!(
            m.spell(day("2024-01-15"), Some(day("2024-02-15")), as_of),
            Some((1, true))
        );
        assert_eq!(
            m.spell(day("2024-01-15"), Some(day("2024-02-16")), as_of),
            Some((2, true))
        );
        // Active: renewals observed before as_of; an end on or after as_of is still active.
        assert_eq!(m.spell(day("2024-11-15"), None, as_of), Some((1, false)));
        assert_eq!(
            m.spell(day("2024-11-15"), Some(as_of.days()), as_of),
            Some((1, false))
        );
        assert_eq!(m.spell(as_of.days(), None, as_of), None);
    }

    #[test]
    fn rows_chain_within_the_grace() {
        let r = |index, id: &str, start, end: Option<&str>| DatedRow {
            index,
            id: id.into(),
            start: day(start),
            end: end.map(day),
        };
        let rows = vec![
            r(0, "a", "2024-01-01", Some("2024-12-31")),
            r(1, "a", "2025-01-10", None),
            r(2, "b", "2024-01-01", Some("2024-06-30")),
            r(3, "b", "2024-09-01", Some("2024-12-31")),
        ];
        let c = chain(&rows, 14);
        assert_eq!(c.len(), 3);
        assert_eq!(
            (c[0].start, c[0].end, c[0].latest, c[0].rows),
            (day("2024-01-01"), None, 1, 2)
        );
        assert_eq!(
            (c[1].end, c[2].start),
            (Some(day("2024-06-30")), day("2024-09-01"))
        );
    }

    #[test]
    fn kaplan_meier_by_hand() {
        // Six subscribers: lost in periods 1, 2, 2 and 4; active after 2 and 3 renewals.
        let mut c = Counts::default();
        for (p, lost) in [
            (1, true),
            (2, true),
            (2, true),
            (4, true),
            (2, false),
            (3, false),
        ] {
            c.add(p, lost);
        }
        let km = kaplan_meier(&c, 0.95);
        // t=1: 6 at risk, 1 lost → 5/6; t=2: 5 at risk, 2 lost, 1 censored → 5/6·3/5 = 0.5;
        // t=3: 2 at risk, 0 lost, 1 censored → 0.5; t=4: 1 at risk, 1 lost → 0.
        let s: Vec<f64> = km.iter().map(|r| r.survival).collect();
        let n: Vec<f64> = km.iter().map(|r| r.at_risk).collect();
        assert_eq!(n, [6.0, 5.0, 2.0, 1.0]);
        assert!((s[0] - 5.0 / 6.0).abs() < 1e-12 && (s[1] - 0.5).abs() < 1e-12);
        assert_eq!((s[2], s[3]), (0.5, 0.0));
        assert_eq!(median_tenure(&km), Some(2));
        // Greenwood at t = 1: Var = S² · 1/(6·5); log-log interval by hand.
        let v: f64 = 1.0 / 30.0;
        let (ln, z) = ((5.0f64 / 6.0).ln(), 1.959_963_984_540_054);
        let sd = (v / (ln * ln)).sqrt();
        let low = (-((-ln).ln() + z * sd).exp()).exp();
        assert!((km[0].low - low).abs() < 1e-12 && km[0].high > s[0]);
    }
}
