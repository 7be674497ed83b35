//! The CLV section of the report: BG/NBD purchases and Gamma-Gamma spend on weekly times, 12
//! months, 1 % a month, margin 1, with the checks of the fit (`clv --show`): the tracking of
//! repeat purchases — over a holdout of the last 26 weeks when the data reach 78 weeks back, so
//! the reader sees the model predict weeks it was not fitted on — the histogram of repeat
//! purchases and P(alive) by frequency × recency. A fit that fails on this data leaves the
//! section out with the reason; the rest of the report is still written.

use crate::day::Day;
use anyhow::Result;
use polars::prelude::*;

use super::{pct, pick, table, Analysis, Context, Figure, Headline, Measure, Parts, Section};
use crate::metrics::clv::diagnostics;
use crate::metrics::clv::tables::{self as clv, ClvOptions};
use crate::metrics::clv::{Grouping, Model, TimeUnit, DEFAULT_LIFESPAN_MONTHS, DEFAULT_VALUE};
use crate::output::charts::{self, Chart};
use crate::output::html;

pub const CLV: Analysis = Analysis {
    step: "customer lifetime value",
    build,
    kpis: &["expected_clv_12m"],
};

struct ClvSection {
    customers: DataFrame,
    params: DataFrame,
    /// CLV per customer, highest first.
    clv: Vec<f64>,
    p_alive: Vec<f64>,
    /// Weekly repeat purchases, actual and expected (`clv --show tracking`).
    tracking: Option<DataFrame>,
    /// The holdout's first day, when the tracking has one.
    holdout: Option<Day>,
    /// The holdout table by calibration frequency, with its split.
    holdout_table: Option<DataFrame>,
    histogram: Option<DataFrame>,
    alive: Option<DataFrame>,
}

/// Weeks of holdout in the report's fit check, and the history it needs before it.
const HOLDOUT_WEEKS: i32 = 26;
const CALIBRATION_WEEKS: i32 = 52;

fn build(ctx: &Context) -> Result<Parts> {
    let opts = ClvOptions {
        model: Model::BgNbd,
        grouping: Grouping {
            unit: TimeUnit::Week,
            by_period: false,
        },
        value: DEFAULT_VALUE,
        lifespan_months: DEFAULT_LIFESPAN_MONTHS,
        penalty: 0.0,
        spend_penalty: 0.0,
        standard_errors: true,
        as_of: Some(ctx.ledger.as_of),
        holdout: None,
        intervals: None,
    };
    let fitted = clv::fit_all(&ctx.ledger, &opts).and_then(|(purchases, f)| {
        let predictions = clv::customer_table(&f, &opts)?;
        let params = clv::params_table(&f, &opts)?;
        let (tracking, holdout, holdout_table) = fit_check(ctx, &opts, &purchases, &f);
        let model = &f.count_model.params;
        Ok(ClvSection {
            customers: predictions.table,
            params,
            clv: predictions.clv,
            p_alive: predictions.p_alive,
            tracking,
            holdout,
            holdout_table,
            histogram: diagnostics::histogram(opts.model, model, &f.customers).ok(),
            alive: diagnostics::alive_matrix(opts.model, model, &f.customers, "weeks").ok(),
        })
    });
    Ok(match fitted {
        Ok(section) => Parts::one(section),
        Err(e) => Parts::missing("clv", format!("the BG/NBD fit failed: {e}")),
    })
}

/// The tracking of repeat purchases: fitted on all but the last 26 weeks and tracked into them
/// when the purchases reach 78 weeks back (and that fit succeeds), else in-sample.
fn fit_check(
    ctx: &Context,
    opts: &ClvOptions,
    purchases: &crate::metrics::clv::Purchases,
    f: &clv::Fitted,
) -> (Option<DataFrame>, Option<Day>, Option<DataFrame>) {
    let as_of = ctx.ledger.as_of;
    let first = f
        .customers
        .first
        .iter()
        .copied()
        .min()
        .unwrap_or(as_of.days());
    let split = as_of - 7 * HOLDOUT_WEEKS;
    if split.days() - first >= 7 * CALIBRATION_WEEKS {
        if let Ok(h) = clv::holdout(&ctx.ledger, opts, split) {
            let tracking = diagnostics::tracking(
                &h.purchases,
                opts.model,
                &h.fit.params,
                opts.grouping,
                split,
            );
            if let Ok(t) = tracking {
                return (Some(t), Some(split), Some(h.table));
            }
        }
    }
    let tracking = diagnostics::tracking(
        purchases,
        opts.model,
        &f.count_model.params,
        opts.grouping,
        as_of,
    );
    (tracking.ok(), None, None)
}

impl Section for ClvSection {
    fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        let mut sheets = vec![("clv", &self.customers), ("clv_params", &self.params)];
        let checks = [
            ("clv_tracking", &self.tracking),
            ("clv_holdout", &self.holdout_table),
            ("clv_histogram", &self.histogram),
            ("clv_alive", &self.alive),
        ];
        for (name, table) in checks {
            if let Some(t) = table {
                sheets.push((name, t));
            }
        }
        sheets
    }

    fn measures(&self) -> Vec<Measure> {
        vec![Measure::of(
            "expected_clv_12m",
            crate::metrics::stats::round_to(self.clv.iter().sum(), 2),
        )]
    }

    fn headlines(&self) -> Vec<Headline> {
        let mean_alive = self.p_alive.iter().sum::<f64>() / self.p_alive.len().max(1) as f64;
        vec![Headline {
            label: "Expected 12-month value",
            higher_is_better: Some(true),
            value: Figure::Money(self.clv.iter().sum()),
            detail: format!("BG/NBD; mean P(alive) {}", pct(mean_alive)),
        }]
    }

    fn charts(&self) -> Result<Vec<Chart>> {
        // The distribution, clipped at the 99th percentile.
        let mut values = self.clv.clone();
        values.sort_by(f64::total_cmp);
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let p99 = values[((values.len() - 1) as f64 * 0.99).round() as usize];
        let mut out = vec![charts::histogram(
            "clv_distribution",
            "12-month CLV per customer (BG/NBD + Gamma-Gamma)",
            (
                &format!(
                    "CLV; the last bar holds everything above the 99th percentile ({})",
                    charts::compact(p99)
                ),
                "customers",
            ),
            &values,
            p99,
            40,
        )?];
        if let Some(t) = &self.tracking {
            out.push(tracking_chart(t, self.holdout)?);
        }
        if let Some(h) = &self.histogram {
            let labels = text(h, "repeat_purchases")?;
            out.push(charts::paired_columns(
                "clv_histogram",
                "Customers by repeat purchases: actual and BG/NBD",
                ("repeat purchases", "customers"),
                &labels,
                &numbers(h, "customers")?,
                &numbers(h, "expected")?,
            )?);
        }
        if let Some(a) = &self.alive {
            out.push(alive_chart(a)?);
        }
        Ok(out)
    }

    fn html<'a>(&'a self, charts: &'a [Chart], _as_of: Day) -> html::Section<'a> {
        html::Section {
            title: "Customer lifetime value".into(),
            notes: vec![
                "BG/NBD purchases and Gamma-Gamma spend, fitted by maximum likelihood on weekly times; CLV = expected spend over 12 months discounted at 1% a month, margin 1 (revenue).".into(),
                match self.holdout {
                    Some(day) => format!(
                        "How far to trust it: the model was fitted again on the purchases before {} and asked for the 26 weeks after; the tracking chart and the holdout table set its forecast beside what happened. The histogram sets the customers' repeat purchases beside the model's, and the matrix shows who the model thinks is still a customer (recent buyers are, long-silent frequent buyers are not).",
                        day
                    ),
                    None => "How far to trust it: the tracking chart sets the model's expected repeat purchases beside what happened (the data are too short for a 26-week holdout after a year of history), the histogram the customers' repeat purchases beside the model's, and the matrix shows who the model thinks is still a customer.".into(),
                },
            ],
            charts: pick(
                charts,
                &["clv_distribution", "clv_tracking", "clv_histogram", "clv_alive"],
            ),
            tables: {
                let mut t = vec![
                    table("Fitted parameters", &self.params, 20),
                    table("Highest CLV", &self.customers, 15),
                ];
                if let Some(h) = &self.holdout_table {
                    t.push(table(
                        "Holdout check: repeat purchases in the last 26 weeks, by purchases before",
                        h,
                        10,
                    ));
                }
                t
            },
        }
    }
}

fn text(df: &DataFrame, column: &str) -> Result<Vec<String>> {
    Ok(df
        .column(column)?
        .str()?
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

fn numbers(df: &DataFrame, column: &str) -> Result<Vec<f64>> {
    Ok(df
        .column(column)?
        .cast(&DataType::Float64)?
        .f64()?
        .iter()
        .map(|v| v.unwrap_or(0.0))
        .collect())
}

fn tracking_chart(t: &DataFrame, holdout: Option<Day>) -> Result<Chart> {
    let dates = text(t, "week_start")?;
    let split = holdout.and_then(|day| {
        let first = day.to_string();
        dates.iter().position(|d| *d == first)
    });
    charts::tracking(
        "clv_tracking",
        match split {
            Some(_) => "Repeat purchases: actual and the BG/NBD forecast, with a 26-week holdout",
            None => "Repeat purchases: actual and BG/NBD",
        },
        &dates,
        &numbers(t, "cumulative_actual")?,
        &numbers(t, "cumulative_expected")?,
        split,
    )
}

/// P(alive) by frequency (rows 0 … 12) × recency, as a heatmap of percentages.
fn alive_chart(a: &DataFrame) -> Result<Chart> {
    let rows = a.height().min(13);
    let names: Vec<String> = a.get_column_names().iter().map(|n| n.to_string()).collect();
    let columns: Vec<String> = names[1..]
        .iter()
        .map(|n| {
            n.trim_start_matches("recency_")
                .trim_end_matches("_weeks")
                .to_string()
        })
        .collect();
    let mut values = vec![Vec::with_capacity(columns.len()); rows];
    for name in &names[1..] {
        let column = a.column(name)?.f64()?.clone();
        for (r, row) in values.iter_mut().enumerate() {
            row.push(column.get(r));
        }
    }
    charts::heatmap(&charts::Heatmap {
        name: "clv_alive",
        title: "Chance a customer is still one (P(alive), %), by repeat purchases and recency",
        x_desc:
            "recency: weeks from the first purchase to the last, for a customer of the longest age",
        y_desc: "repeat purchases",
        columns,
        rows: (0..rows).map(|r| r.to_string()).collect(),
        values,
        cell_text: &|v| format!("{:.0}", v * 100.0),
        scale_max: Some(1.0),
    })
}
