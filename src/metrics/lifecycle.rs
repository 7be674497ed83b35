//! Lifecycle stages and churn/retention rates (docs/metrics.md, "Lifecycle").
//!
//! Stage of each customer as of `as_of`, the first rule that holds:
//! 1. `potential`: listed in the customers file, no purchase;
//! 2. `churned`: no purchase for more than `churn_days` (recency_days > churn_days);
//! 3. `new`: first purchase at most `new_days` ago;
//! 4. `at_risk`: recency_days > `at_risk_factor` × typical gap, where the typical gap is the
//!    customer's mean days between purchases ((last − first) / (frequency − 1)), or for one-time
//!    buyers the median of that over all repeat buyers;
//! 5. `loyal`: at least `loyal_orders` purchases;
//! 6. `active`: everyone else.
//!
//! Rates per period (`--rates`): a customer is *active at day t* when it has a purchase in
//! (t − churn_days, t]. For each complete period [s, e]: customers_at_start = active at s − 1;
//! retained = of those, active at e; churned = customers_at_start − retained; won = active at e
//! but not at s − 1 (new or returning); churn_rate = churned / customers_at_start;
//! retention_rate = retained / customers_at_start.

use crate::day::Day;
use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use super::periods::Period;
use super::stats::round_to;
use crate::ledger::{Buyers, Ledger};

/// Churned: no purchase for more than `churn_days` (the lifecycle rule, which `predict churn`
/// uses too, so the two never disagree on who has already left).
pub fn is_churned(recency_days: i64, churn_days: i64) -> bool {
    recency_days > churn_days
}

#[derive(Clone, Debug)]
pub struct LifecycleOptions {
    pub churn_days: i64,
    pub new_days: i64,
    pub loyal_orders: i64,
    pub at_risk_factor: f64,
}

impl Default for LifecycleOptions {
    fn default() -> Self {
        LifecycleOptions {
            churn_days: 180,
            new_days: 90,
            loyal_orders: 3,
            at_risk_factor: 1.0,
        }
    }
}

pub const STAGES: [&str; 6] = ["potential", "new", "active", "loyal", "at_risk", "churned"];

pub struct Lifecycle {
    /// customer_id, stage, first_order_date, last_order_date, recency_days, frequency,
    /// typical_gap_days; sorted by customer_id.
    pub customers: DataFrame,
    /// Customers per stage, in the order of [`STAGES`].
    pub stage_counts: [usize; STAGES.len()],
    pub as_of: Day,
    pub after_as_of: usize,
}

impl Lifecycle {
    /// Share of the listed customers in `stage` (0 when nobody is listed).
    pub fn stage_share(&self, stage: &str) -> f64 {
        let total: usize = self.stage_counts.iter().sum();
        let n = STAGES
            .iter()
            .position(|s| *s == stage)
            .map_or(0, |i| self.stage_counts[i]);
        if total > 0 {
            n as f64 / total as f64
        } else {
            0.0
        }
    }
}

/// Stages per customer. `known_customers` are the IDs of the customers file, if one was given.
pub fn lifecycle(
    ledger: &Ledger,
    known_customers: Option<&[&str]>,
    opts: &LifecycleOptions,
) -> Result<Lifecycle> {
    let Buyers {
        codes,
        first,
        last,
        purchases,
    } = ledger.buyer_summary();
    let ids: Vec<&str> = codes.iter().map(|&c| ledger.id(c)).collect();
    let buyers = BuyerDays {
        ids: &ids,
        first: &first,
        last: &last,
        purchases: &purchases,
    };
    let stages = stage_buyers(&buyers, ledger.as_of, known_customers, opts)?;
    Ok(Lifecycle {
        after_as_of: ledger.stats.rows_after_as_of,
        ..stages
    })
}

/// The buyers a stage is given to: ID, first and last purchase day and purchases, one entry
/// each (from one ledger, or from the partitions of one, in any order).
pub struct BuyerDays<'a, S> {
    pub ids: &'a [S],
    pub first: &'a [i32],
    pub last: &'a [i32],
    pub purchases: &'a [i64],
}

/// The stages of `buyers` as of `as_of` (the population gap is taken over all of them), and
/// `potential` for the known customers without a purchase; `after_as_of` is left 0.
pub fn stage_buyers<S: AsRef<str>>(
    buyers: &BuyerDays<S>,
    as_of: Day,
    known_customers: Option<&[&str]>,
    opts: &LifecycleOptions,
) -> Result<Lifecycle> {
    let ids: Vec<&str> = buyers.ids.iter().map(AsRef::as_ref).collect();
    let (first, last, frequency) = (buyers.first, buyers.last, buyers.purchases);
    let own_gap: Vec<Option<f64>> = (0..ids.len())
        .map(|i| {
            (frequency[i] >= 2).then(|| f64::from(last[i] - first[i]) / (frequency[i] - 1) as f64)
        })
        .collect();
    let population_gap =
        super::stats::median(&mut own_gap.iter().flatten().copied().collect::<Vec<f64>>())
            .unwrap_or(opts.churn_days as f64);

    let mut rows: BTreeMap<&str, (Option<usize>, &'static str)> = BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        let recency = i64::from(as_of.days() - last[i]);
        let tenure = i64::from(as_of.days() - first[i]);
        let gap = own_gap[i].unwrap_or(population_gap);
        let stage = if is_churned(recency, opts.churn_days) {
            "churned"
        } else if tenure <= opts.new_days {
            "new"
        } else if recency as f64 > opts.at_risk_factor * gap {
            "at_risk"
        } else if frequency[i] >= opts.loyal_orders {
            "loyal"
        } else {
            "active"
        };
        rows.insert(id, (Some(i), stage));
    }
    for id in known_customers.unwrap_or_default() {
        rows.entry(id).or_insert((None, "potential"));
    }
    let mut out_ids = Vec::new();
    let mut stage = Vec::new();
    let mut out_first = Vec::new();
    let mut out_last = Vec::new();
    let mut recency = Vec::new();
    let mut freq = Vec::new();
    let mut gap = Vec::new();
    for (id, (i, s)) in rows {
        out_ids.push(id);
        stage.push(s);
        out_first.push(i.map(|i| first[i]));
        out_last.push(i.map(|i| last[i]));
        recency.push(i.map(|i| i64::from(as_of.days() - last[i])));
        freq.push(Some(i.map_or(0, |i| frequency[i])));
        gap.push(i.map(|i| round_to(own_gap[i].unwrap_or(population_gap), 1)));
    }
    let mut stage_counts = [0; STAGES.len()];
    for s in &stage {
        if let Some(i) = STAGES.iter().position(|x| x == s) {
            stage_counts[i] += 1;
        }
    }
    let date_col = |name: &str, v: Vec<Option<i32>>| -> PolarsResult<Column> {
        Column::new(name.into(), v).cast(&DataType::Date)
    };
    let customers = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), out_ids),
        Column::new("stage".into(), stage),
        date_col("first_order_date", out_first)?,
        date_col("last_order_date", out_last)?,
        Column::new("recency_days".into(), recency),
        Column::new("frequency".into(), freq),
        Column::new("typical_gap_days".into(), gap),
    ])?;
    Ok(Lifecycle {
        customers,
        stage_counts,
        as_of,
        after_as_of: 0,
    })
}

/// Per stage: customers and share, in the order potential, new, active, loyal, at_risk, churned.
pub fn stage_summary(life: &Lifecycle) -> Result<DataFrame> {
    stage_counts_table(&life.stage_counts)
}

/// [`stage_summary`] of some customers: the rows of a per-customer table (its `stage` column).
pub fn stage_summary_of(customers: &DataFrame) -> Result<DataFrame> {
    let mut counts = vec![0usize; STAGES.len()];
    for stage in customers.column("stage")?.str()?.iter().flatten() {
        if let Some(i) = STAGES.iter().position(|s| *s == stage) {
            counts[i] += 1;
        }
    }
    stage_counts_table(&counts)
}

fn stage_counts_table(stage_counts: &[usize]) -> Result<DataFrame> {
    let total: usize = stage_counts.iter().sum();
    let counts: Vec<i64> = stage_counts.iter().map(|&c| c as i64).collect();
    let shares: Vec<f64> = stage_counts
        .iter()
        .map(|&c| {
            if total > 0 {
                round_to(c as f64 / total as f64, 4)
            } else {
                0.0
            }
        })
        .collect();
    let explained = |f: fn(&super::meanings::Meaning) -> &'static str| -> Vec<&'static str> {
        STAGES
            .iter()
            .map(|s| super::meanings::of(&super::meanings::LIFECYCLE_STAGES, s).map_or("", f))
            .collect()
    };
    Ok(DataFrame::new_infer_height(vec![
        Column::new("stage".into(), STAGES.to_vec()),
        Column::new("meaning".into(), explained(|m| m.meaning)),
        Column::new("action".into(), explained(|m| m.action)),
        Column::new("customers".into(), counts),
        Column::new("customer_share".into(), shares),
    ])?)
}

/// Churn and retention per complete period, by the rule in the module documentation.
pub fn rates(ledger: &Ledger, period: Period, churn_days: i64) -> Result<DataFrame> {
    let buyers: Vec<usize> = ledger.buyers().collect();
    rates_of(ledger, &buyers, period, churn_days, None)
}

/// [`rates`] of some of the customers with purchases (ledger codes): a group's rates; with
/// `from`, only the periods that start on or after that day (a date range's).
pub fn rates_of(
    ledger: &Ledger,
    customers: &[usize],
    period: Period,
    churn_days: i64,
    from: Option<i32>,
) -> Result<DataFrame> {
    rates_over(
        ledger,
        customers,
        &spans_of(ledger, customers, period, from),
        churn_days,
    )
}

/// The complete periods from the one of the customers' first purchase (or the first that
/// starts on or after `from`) to as_of.
pub fn spans_of(
    ledger: &Ledger,
    customers: &[usize],
    period: Period,
    from: Option<i32>,
) -> Vec<RateSpan> {
    let first_day = customers
        .iter()
        .filter_map(|&c| ledger.purchase_days(c).first().copied())
        .min();
    let mut spans = Vec::new();
    if let Some(first_day) = first_day {
        let mut p = period.index(first_day);
        while period.end(p) < ledger.as_of.days() {
            if from.is_some_and(|day| period.start(p) < day) {
                p += 1;
                continue;
            }
            spans.push(RateSpan {
                label: period.label(p),
                first: period.start(p),
                last: period.end(p),
            });
            p += 1;
        }
    }
    spans
}

/// A span of days the rates are counted over: `first` to `last`, both included.
pub struct RateSpan {
    pub label: String,
    pub first: i32,
    pub last: i32,
}

/// The counts of one span, before the rates: they add up over disjoint sets of customers.
#[derive(Debug, Clone)]
pub struct RateCounts {
    pub label: String,
    /// The span's first day (its order).
    pub first: i32,
    pub at_start: i64,
    pub retained: i64,
    pub won: i64,
}

/// Churn and retention of some customers (ledger codes) over each span, a row each (the rule
/// of the module documentation, with the span as the period).
pub fn rates_over(
    ledger: &Ledger,
    customers: &[usize],
    spans: &[RateSpan],
    churn_days: i64,
) -> Result<DataFrame> {
    match rate_counts(ledger, customers, spans, churn_days) {
        Some(counts) => rates_table(&counts),
        None => Ok(DataFrame::new_infer_height(vec![])?),
    }
}

/// The counts of [`rates_over`]; None when none of the customers has a purchase.
pub fn rate_counts(
    ledger: &Ledger,
    customers: &[usize],
    spans: &[RateSpan],
    churn_days: i64,
) -> Option<Vec<RateCounts>> {
    // Purchase dates per customer, ascending.
    let per_customer: Vec<&[i32]> = customers
        .iter()
        .map(|&c| ledger.purchase_days(c))
        .filter(|d| !d.is_empty())
        .collect();
    if per_customer.is_empty() {
        return None;
    }
    let active = |days: &[i32], t: i32| {
        // The latest purchase on or before t, within the window.
        let upto = days.partition_point(|&d| d <= t);
        upto > 0 && i64::from(t - days[upto - 1]) < churn_days
    };
    let counts = spans
        .iter()
        .map(|span| {
            let (s, e) = (span.first, span.last);
            let (mut n0, mut kept, mut gained) = (0i64, 0i64, 0i64);
            for days in &per_customer {
                let before = active(days, s - 1);
                let after = active(days, e);
                n0 += i64::from(before);
                kept += i64::from(before && after);
                gained += i64::from(!before && after);
            }
            RateCounts {
                label: span.label.clone(),
                first: span.first,
                at_start: n0,
                retained: kept,
                won: gained,
            }
        })
        .collect();
    Some(counts)
}

/// The rates table of span counts, in their order.
pub fn rates_table(counts: &[RateCounts]) -> Result<DataFrame> {
    let rate = |num: i64, den: i64| (den > 0).then(|| round_to(num as f64 / den as f64, 4));
    Ok(DataFrame::new_infer_height(vec![
        Column::new(
            "period".into(),
            counts.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "customers_at_start".into(),
            counts.iter().map(|c| c.at_start).collect::<Vec<_>>(),
        ),
        Column::new(
            "retained".into(),
            counts.iter().map(|c| c.retained).collect::<Vec<_>>(),
        ),
        Column::new(
            "churned".into(),
            counts
                .iter()
                .map(|c| c.at_start - c.retained)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "won".into(),
            counts.iter().map(|c| c.won).collect::<Vec<_>>(),
        ),
        Column::new(
            "churn_rate".into(),
            counts
                .iter()
                .map(|c| rate(c.at_start - c.retained, c.at_start))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "retention_rate".into(),
            counts
                .iter()
                .map(|c| rate(c.retained, c.at_start))
                .collect::<Vec<_>>(),
        ),
    ])?)
}
