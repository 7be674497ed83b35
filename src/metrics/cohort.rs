//! Cohort matrix (SPEC.md, "Lifecycle": cohort retention by first-order period).
//!
//! A customer's cohort is the period of its first purchase. Cell `period_k` of a cohort is, for
//! the k-th period after the cohort's own (k = 0 is the cohort period):
//! - `retention`: the share of the cohort's customers with a purchase in that period;
//! - `customers`: their number;
//! - `revenue`: the net amount of all the cohort's order rows dated in that period.
//!
//! Periods after the one containing the last day before `as_of` have not been observed, so their
//! cells are empty (null), never zero.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Result;
use polars::prelude::*;

use super::orders::{
    before_as_of, collect, day_values, has_column, order_level, resolve_as_of, row_net_expr,
    str_values,
};
use super::periods::Period;
use super::rfm::round_to;

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
    pub as_of: i32,
    pub after_as_of: usize,
}

pub fn cohorts(
    orders: &DataFrame,
    as_of: Option<i32>,
    period: Period,
    metric: CohortMetric,
) -> Result<Cohorts> {
    let as_of = resolve_as_of(orders, as_of)?;
    let (known, after_as_of) = before_as_of(orders, as_of)?;
    let has_status = has_column(orders, "status");
    let purchases = collect(
        order_level(known.clone(), has_column(orders, "order_id"), has_status)
            .filter(col("purchase_date").is_not_null())
            .select([col("customer_id"), col("purchase_date")]),
    )?;
    let last_period = period.index(as_of - 1);

    // Cohort of each customer: the period of its first purchase.
    let purchase_ids = str_values(&purchases, "customer_id")?;
    let purchase_periods: Vec<i32> = day_values(&purchases, "purchase_date")?
        .into_iter()
        .map(|d| period.index(d.unwrap_or(0)))
        .collect();
    let mut cohort_of: HashMap<&str, i32> = HashMap::new();
    for (id, &p) in purchase_ids.iter().zip(&purchase_periods) {
        let e = cohort_of.entry(id).or_insert(p);
        *e = (*e).min(p);
    }
    let mut size: BTreeMap<i32, i64> = BTreeMap::new();
    for &c in cohort_of.values() {
        *size.entry(c).or_default() += 1;
    }

    // Cell values keyed by (cohort, k).
    let mut cells: HashMap<(i32, i32), f64> = HashMap::new();
    match metric {
        CohortMetric::Retention | CohortMetric::Customers => {
            let mut seen: HashSet<(&str, i32)> = HashSet::new();
            for (id, &p) in purchase_ids.iter().zip(&purchase_periods) {
                if seen.insert((id, p)) {
                    let c = cohort_of[id];
                    *cells.entry((c, p - c)).or_default() += 1.0;
                }
            }
        }
        CohortMetric::Revenue => {
            let rows = collect(known.select([
                col("customer_id"),
                col("order_date"),
                row_net_expr(has_status),
            ]))?;
            let row_ids = str_values(&rows, "customer_id")?;
            let row_days = day_values(&rows, "order_date")?;
            let nets: Vec<f64> = rows
                .column("net")?
                .f64()?
                .iter()
                .map(|v| v.unwrap_or(0.0))
                .collect();
            for ((id, d), net) in row_ids.iter().zip(row_days).zip(nets) {
                if let (Some(&c), Some(d)) = (cohort_of.get(id), d) {
                    let k = period.index(d) - c;
                    if k >= 0 {
                        *cells.entry((c, k)).or_default() += net;
                    }
                }
            }
        }
    }

    let first = size.keys().next().copied().unwrap_or(last_period);
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
                let v = cells.get(&(c, k)).copied().unwrap_or(0.0);
                Some(match metric {
                    CohortMetric::Retention => round_to(v / n as f64, 4),
                    CohortMetric::Customers => v,
                    CohortMetric::Revenue => round_to(v, 2),
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
    Ok(Cohorts {
        matrix: DataFrame::new_infer_height(out)?,
        as_of,
        after_as_of,
    })
}
