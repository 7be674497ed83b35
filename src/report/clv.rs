//! The CLV section of the report: BG/NBD purchases and Gamma-Gamma spend on weekly times, 12
//! months, 1 % a month, margin 1. A fit that fails on this data leaves the section out with the
//! reason; the rest of the report is still written.

use anyhow::Result;
use polars::prelude::*;

use super::{pct, pick, table, Analysis, Context, Figure, Headline, Measure, Parts, Section};
use crate::metrics::clv::tables::{self as clv, ClvOptions};
use crate::metrics::clv::{Grouping, Model, TimeUnit, Value};
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
}

fn build(ctx: &Context) -> Result<Parts> {
    let opts = ClvOptions {
        model: Model::BgNbd,
        grouping: Grouping {
            unit: TimeUnit::Week,
            by_period: false,
        },
        value: Value {
            horizon_months: 12,
            discount: 0.01,
            margin: 1.0,
        },
        lifespan_months: 36.0,
        penalty: 0.0,
        spend_penalty: 0.0,
        standard_errors: true,
        as_of: Some(ctx.ledger.as_of),
        holdout: None,
        intervals: None,
    };
    let fitted = clv::fit_all(&ctx.ledger, &opts).and_then(|(_, f)| {
        Ok((
            clv::customer_table(&f, &opts)?,
            clv::params_table(&f, &opts)?,
        ))
    });
    Ok(match fitted {
        Ok((predictions, params)) => Parts::one(ClvSection {
            customers: predictions.table,
            params,
            clv: predictions.clv,
            p_alive: predictions.p_alive,
        }),
        Err(e) => Parts::missing("clv", format!("the BG/NBD fit failed: {e}")),
    })
}

impl Section for ClvSection {
    fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        vec![("clv", &self.customers), ("clv_params", &self.params)]
    }

    fn measures(&self) -> Vec<Measure> {
        vec![Measure::of(
            "expected_clv_12m",
            crate::metrics::rfm::round_to(self.clv.iter().sum(), 2),
        )]
    }

    fn headlines(&self) -> Vec<Headline> {
        let mean_alive = self.p_alive.iter().sum::<f64>() / self.p_alive.len().max(1) as f64;
        vec![Headline {
            label: "Expected 12-month value",
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
        Ok(vec![charts::histogram(
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
        )?])
    }

    fn html<'a>(&'a self, charts: &'a [Chart], _as_of: i32) -> html::Section<'a> {
        html::Section {
            title: "Customer lifetime value".into(),
            notes: vec![
                "BG/NBD purchases and Gamma-Gamma spend, fitted by maximum likelihood on weekly times; CLV = expected spend over 12 months discounted at 1% a month, margin 1 (revenue).".into(),
            ],
            charts: pick(charts, &["clv_distribution"]),
            tables: vec![
                table("Fitted parameters", &self.params, 20),
                table("Highest CLV", &self.customers, 15),
            ],
        }
    }
}
