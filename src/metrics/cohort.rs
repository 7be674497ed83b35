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

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use polars::prelude::*;

use super::orders::{before_as_of, collect, has_column, order_level, resolve_as_of, row_net_expr};
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
    let with_period = |df: DataFrame, date: &str| -> Result<LazyFrame> {
        let periods: Int32Chunked = df
            .column(date)?
            .date()?
            .physical()
            .iter()
            .map(|d| d.map(|d| period.index(d)))
            .collect();
        let mut df = df;
        df.with_column(periods.with_name("period".into()).into_column())?;
        Ok(df.lazy())
    };
    let purchases = collect(
        order_level(known.clone(), has_column(orders, "order_id"), has_status)
            .filter(col("purchase_date").is_not_null())
            .select([col("customer_id"), col("purchase_date")]),
    )?;
    let last_period = period.index(as_of - 1);
    // (customer, period) pairs with a purchase; the cohort is each customer's first period.
    let active = with_period(purchases, "purchase_date")?
        .group_by([col("customer_id"), col("period")])
        .agg([]);
    let cohort_of = active
        .clone()
        .group_by([col("customer_id")])
        .agg([col("period").min().alias("cohort")]);
    let sizes = collect(
        cohort_of
            .clone()
            .group_by([col("cohort")])
            .agg([len().alias("n")]),
    )?;
    let cell_values = match metric {
        CohortMetric::Retention | CohortMetric::Customers => active
            .join(
                cohort_of,
                [col("customer_id")],
                [col("customer_id")],
                JoinArgs::new(JoinType::Inner),
            )
            .group_by([col("cohort"), (col("period") - col("cohort")).alias("k")])
            .agg([len().cast(DataType::Float64).alias("value")]),
        CohortMetric::Revenue => {
            let rows = collect(known.select([
                col("customer_id"),
                col("order_date"),
                row_net_expr(has_status),
            ]))?;
            with_period(rows, "order_date")?
                .join(
                    cohort_of,
                    [col("customer_id")],
                    [col("customer_id")],
                    JoinArgs::new(JoinType::Inner),
                )
                .with_column((col("period") - col("cohort")).alias("k"))
                .filter(col("k").gt_eq(lit(0)))
                .group_by([col("cohort"), col("k")])
                .agg([col("net").sum().alias("value")])
        }
    };
    let cell_values = collect(cell_values)?;
    let mut cells: HashMap<(i32, i32), f64> = HashMap::new();
    let cohort_col = cell_values.column("cohort")?.cast(&DataType::Int32)?;
    let k_col = cell_values.column("k")?.cast(&DataType::Int32)?;
    for ((c, k), v) in cohort_col
        .i32()?
        .iter()
        .zip(k_col.i32()?.iter())
        .zip(cell_values.column("value")?.f64()?.iter())
    {
        if let (Some(c), Some(k), Some(v)) = (c, k, v) {
            cells.insert((c, k), v);
        }
    }
    let mut size: BTreeMap<i32, i64> = BTreeMap::new();
    let size_cohorts = sizes.column("cohort")?.cast(&DataType::Int32)?;
    let size_counts = sizes.column("n")?.cast(&DataType::Int64)?;
    for (c, n) in size_cohorts.i32()?.iter().zip(size_counts.i64()?.iter()) {
        if let (Some(c), Some(n)) = (c, n) {
            size.insert(c, n);
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
