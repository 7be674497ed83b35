//! The lifecycle section of the report: stages, monthly churn and retention rates, and the
//! monthly cohort retention matrix.

use crate::day::Day;
use anyhow::Result;
use polars::prelude::*;

use super::{
    floats, pick, table, texts, Analysis, Context, Figure, Headline, Measure, Parts, Section,
};
use crate::metrics::cohort::{self, CohortMetric};
use crate::metrics::lifecycle::{self, LifecycleOptions};
use crate::metrics::periods::Period;
use crate::output::charts::{self, Chart, Heatmap};
use crate::output::html;

pub const LIFECYCLE: Analysis = Analysis {
    step: "lifecycle and cohorts",
    build,
    kpis: &["churned_share", "churn_rate", "retention_rate"],
};

struct LifecycleSection {
    customers: DataFrame,
    stages: DataFrame,
    rates: DataFrame,
    cohorts: DataFrame,
    churned_share: f64,
}

fn build(ctx: &Context) -> Result<Parts> {
    let opts = LifecycleOptions::default();
    let known: Option<Vec<&str>> = ctx
        .customer_ids
        .as_ref()
        .map(|ids| ids.iter().map(String::as_str).collect());
    let life = lifecycle::lifecycle(&ctx.ledger, known.as_deref(), &opts)?;
    Ok(Parts::one(LifecycleSection {
        stages: lifecycle::stage_summary(&life)?,
        rates: match ctx.since {
            // A target period: its rates over the period as one span.
            Some(first) => lifecycle::rates_over(
                &ctx.ledger,
                &ctx.ledger.buyers().collect::<Vec<_>>(),
                &[lifecycle::RateSpan {
                    label: "period".into(),
                    first,
                    last: ctx.ledger.as_of.days() - 1,
                }],
                opts.churn_days,
            )?,
            None => lifecycle::rates(&ctx.ledger, Period::Month, opts.churn_days)?,
        },
        cohorts: cohort::cohorts(&ctx.ledger, Period::Month, CohortMetric::Retention)?.matrix,
        churned_share: life.stage_share("churned"),
        customers: life.customers,
    }))
}

impl Section for LifecycleSection {
    fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        vec![
            ("lifecycle_stages", &self.stages),
            ("lifecycle_rates", &self.rates),
            ("lifecycle", &self.customers),
            ("cohort", &self.cohorts),
        ]
    }

    fn measures(&self) -> Vec<Measure> {
        // The last complete month of the rates table.
        let last = |name: &str| -> Option<f64> {
            let c = self.rates.column(name).ok()?.f64().ok()?.clone();
            c.get(c.len().checked_sub(1)?)
        };
        let mut m = vec![Measure::of("churned_share", self.churned_share)];
        if let Some(v) = last("churn_rate") {
            m.push(Measure::of("churn_rate", v));
        }
        if let Some(v) = last("retention_rate") {
            m.push(Measure::of("retention_rate", v));
        }
        m
    }

    fn headlines(&self) -> Vec<Headline> {
        vec![Headline {
            label: "Churned",
            higher_is_better: Some(false),
            value: Figure::Share(self.churned_share),
            detail: "of customers (lifecycle stage)".into(),
        }]
    }

    fn charts(&self) -> Result<Vec<Chart>> {
        // Cohort retention: the last 12 cohorts × the first 12 periods.
        let names = texts(&self.cohorts, "cohort")?;
        let periods: Vec<String> = self
            .cohorts
            .get_column_names()
            .iter()
            .filter(|n| n.starts_with("period_"))
            .map(|n| n.to_string())
            .take(12)
            .collect();
        let first = names.len().saturating_sub(12);
        let mut rows: Vec<Vec<Option<f64>>> = vec![Vec::new(); names.len() - first];
        for p in &periods {
            let v = floats(&self.cohorts, p)?;
            for (k, row) in rows.iter_mut().enumerate() {
                row.push(v[first + k]);
            }
        }
        // Period 0 is 100 % by definition; the colours spread over the later periods.
        let later_max = rows
            .iter()
            .flat_map(|r| r.iter().skip(1).flatten())
            .fold(0.0f64, |m, &v| m.max(v));
        Ok(vec![charts::heatmap(&Heatmap {
            name: "cohort_retention",
            title: "Monthly cohort retention (share of the cohort buying in month k)",
            x_desc: "months since first purchase",
            y_desc: "cohort (first purchase month)",
            columns: periods
                .iter()
                .map(|p| p.trim_start_matches("period_").to_string())
                .collect(),
            rows: names[first..].to_vec(),
            values: rows,
            cell_text: &|v| format!("{:.0}%", v * 100.0),
            scale_max: Some(later_max.max(0.05)),
        })?])
    }

    fn html<'a>(&'a self, charts: &'a [Chart], _as_of: Day) -> html::Section<'a> {
        html::Section {
            title: "Lifecycle and cohorts".into(),
            notes: vec![
                "Where each customer stands today — potential, new, active, loyal, at risk, churned — with what each stage means and what to do (definitions: docs/metrics.md, \"Lifecycle\"); the cohort matrix shows what share of each month's new buyers bought again k months later.".into(),
            ],
            charts: pick(charts, &["cohort_retention"]),
            tables: vec![table("Lifecycle stages", &self.stages, 20)],
        }
    }
}
