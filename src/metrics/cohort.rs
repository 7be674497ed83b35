//! Cohort matrix (docs/metrics.md, "Cohorts": retention by first-purchase period).
//!
//! A customer's cohort is the period of its first purchase. Cell `period_k` of a cohort is, for
//! the k-th period after the cohort's own (k = 0 is the cohort period):
//! - `retention`: the share of the cohort's customers with a purchase in that period;
//! - `customers`: their number;
//! - `revenue`: the net amount of all the cohort's order rows dated in that period (summed
//!   exactly, rounded to cents).
//!
//! Periods after the one containing the last day before `as_of` have not been observed, so their
//! cells are empty (null), never zero.

use crate::day::Day;
use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use polars::prelude::*;

use super::periods::Period;
use super::stats::round_to;
use crate::ledger::Ledger;
use crate::money::Money;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CohortMetric {
    #[default]
    Retention,
    Customers,
    Revenue,
}

pub struct Cohorts {
    /// cohort, customers, period_0 … period_K.
    pub matrix: DataFrame,
    pub as_of: Day,
    pub after_as_of: usize,
}

pub fn cohorts(ledger: &Ledger, period: Period, metric: CohortMetric) -> Result<Cohorts> {
    let buyers: Vec<usize> = ledger.buyers().collect();
    cohorts_of(ledger, &buyers, period, metric, None)
}

/// The additive part of a cohort matrix: per cohort its size, and per (cohort, k) the customers
/// active or the revenue in units. Cells of disjoint sets of customers add up (a partition of
/// customers at a time, docs/metrics.md "Bounded memory").
#[derive(Debug, Default)]
pub struct CohortCells {
    size: BTreeMap<i32, i64>,
    cells: HashMap<(i32, i32), i64>,
}

impl CohortCells {
    /// The cells of some customers with purchases (ledger codes).
    pub fn of(ledger: &Ledger, customers: &[usize], period: Period, metric: CohortMetric) -> Self {
        let mut out = CohortCells::default();
        for &c in customers {
            let days = ledger.purchase_days(c);
            if days.is_empty() {
                continue;
            }
            let cohort = period.index(days[0]);
            *out.size.entry(cohort).or_default() += 1;
            match metric {
                CohortMetric::Retention | CohortMetric::Customers => {
                    let mut previous = None;
                    for &d in days {
                        let p = period.index(d);
                        if previous != Some(p) {
                            *out.cells.entry((cohort, p - cohort)).or_default() += 1;
                            previous = Some(p);
                        }
                    }
                }
                CohortMetric::Revenue => {
                    for (&d, net) in ledger.movement_days(c).iter().zip(ledger.movement_nets(c)) {
                        let k = period.index(d) - cohort;
                        if k >= 0 {
                            *out.cells.entry((cohort, k)).or_default() += net.0;
                        }
                    }
                }
            }
        }
        out
    }

    pub fn add(&mut self, other: CohortCells) {
        for (cohort, n) in other.size {
            *self.size.entry(cohort).or_default() += n;
        }
        for (key, v) in other.cells {
            *self.cells.entry(key).or_default() += v;
        }
    }
}

/// [`cohorts`] of some of the customers with purchases (ledger codes): a group's matrix. With
/// `since` (the period index of the earliest cohort of all customers) every group's matrix has
/// the same period columns, so groups stack into one table.
pub fn cohorts_of(
    ledger: &Ledger,
    customers: &[usize],
    period: Period,
    metric: CohortMetric,
    since: Option<i32>,
) -> Result<Cohorts> {
    let cells = CohortCells::of(ledger, customers, period, metric);
    Ok(Cohorts {
        matrix: matrix(cells, period, metric, ledger.as_of, since)?,
        as_of: ledger.as_of,
        after_as_of: ledger.stats.rows_after_as_of,
    })
}

/// The matrix of cohort cells as of `as_of`: cohort, customers, period_0 … period_K.
pub fn matrix(
    cells: CohortCells,
    period: Period,
    metric: CohortMetric,
    as_of: Day,
    since: Option<i32>,
) -> Result<DataFrame> {
    let CohortCells { size, cells } = cells;
    let last_period = period.index(as_of.days() - 1);
    let first = since.unwrap_or_else(|| size.keys().next().copied().unwrap_or(last_period));
    let width = (last_period - first + 1).max(1) as usize;
    let mut labels = Vec::new();
    let mut sizes = Vec::new();
    let mut columns: Vec<Vec<Option<f64>>> = vec![Vec::new(); width];
    for (&c, &n) in &size {
        labels.push(period.label(c));
        sizes.push(n);
        for (k, column) in columns.iter_mut().enumerate() {
            let k = k as i32;
            column.push(if c + k > last_period {
                None
            } else {
                let v = cells.get(&(c, k)).copied().unwrap_or(0);
                Some(match metric {
                    CohortMetric::Retention => round_to(v as f64 / n as f64, 4),
                    CohortMetric::Customers => v as f64,
                    CohortMetric::Revenue => Money(v).to_f64_cents(),
                })
            });
        }
    }
    let mut out = vec![
        Column::new("cohort".into(), labels),
        Column::new("customers".into(), sizes),
    ];
    for (k, values) in columns.into_iter().enumerate() {
        let name = format!("period_{k}");
        out.push(match metric {
            CohortMetric::Customers => Column::new(
                name.into(),
                values
                    .into_iter()
                    .map(|v| v.map(|x| x as i64))
                    .collect::<Vec<_>>(),
            ),
            _ => Column::new(name.into(), values),
        });
    }
    Ok(DataFrame::new_infer_height(out)?)
}
