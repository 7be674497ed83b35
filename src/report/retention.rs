//! The subscriber retention section of the report (`crm-eval retention`'s summary by plan and
//! the subscribers likeliest to cancel next), and the `subscriber_churn_rate` and
//! `mrr_churn_rate` KPIs.

use crate::day::Day;
use anyhow::Result;
use polars::prelude::*;

use super::{table, Analysis, Context, Figure, Headline, Measure, Parts, Section};
use crate::metrics::retention::{self, models::Model, Options, Unit};
use crate::output::charts::Chart;
use crate::output::html;

pub const RETENTION: Analysis = Analysis {
    step: "subscriber retention",
    build,
    kpis: &["subscriber_churn_rate", "mrr_churn_rate"],
};

/// Subscribers listed as likeliest to cancel next.
const TOP: usize = 25;

struct RetentionSection {
    summary: DataFrame,
    next: DataFrame,
    /// Over all subscriptions: the Kaplan–Meier points (period, survival, low, high) and the
    /// model's survival over the same periods and a year past them, with its name.
    observed: Vec<(f64, f64, f64, f64)>,
    model: Vec<(f64, f64)>,
    model_name: &'static str,
    /// (subscribers, churned, churn rate, MRR churn rate) over the file or the period.
    churn: f64,
    mrr_churn: Option<f64>,
    subscribers: usize,
    churned: usize,
    period: bool,
}

fn build(ctx: &Context) -> Result<Parts> {
    let Some(path) = ctx.subscriptions else {
        return Ok(Parts::missing("retention", "pass --subscriptions FILE"));
    };
    // Dated subscriptions are counted as of the report's analysis date, like the orders.
    let quiet = ctx.settings.quiet();
    let settings = if ctx.since.is_some() {
        &quiet
    } else {
        ctx.settings
    };
    let mut loaded = crate::load::subscriptions::load(
        path,
        &[],
        Unit::Month,
        0,
        Some(ctx.ledger.as_of),
        settings,
    )?;
    // By plan when the file has one (read once: the plan is each subscription's group key).
    let by: Vec<String> = if loaded.has_plan {
        for s in &mut loaded.subscriptions {
            let plan = s.plan.clone().filter(|p| !p.is_empty());
            s.key = vec![plan.unwrap_or_else(|| crate::metrics::UNKNOWN.to_string())];
        }
        vec!["plan".to_string()]
    } else {
        Vec::new()
    };
    let subs = &loaded.subscriptions;
    let opts = Options {
        model: Model::Sbg,
        unit: Unit::Month,
        level: 0.95,
        horizon: 12,
        discount: 0.01,
        by,
        has_mrr: loaded.has_mrr,
        has_owner: loaded.has_owner,
        has_plan: loaded.has_plan,
        has_start: loaded.dated,
    };
    let groups = retention::groups(subs, &opts);
    let (churn, mrr_churn, period) = match ctx.since {
        // Over the whole file: the `all` group's rates, as `retention`'s summary has them.
        None => match groups.last() {
            Some(all) => (all.churn_rate().unwrap_or(0.0), all.mrr_churn_rate(), false),
            None => return Ok(Parts::missing("retention", "no subscription")),
        },
        Some(from) => {
            if !loaded.dated {
                return Ok(Parts::missing(
                    "retention",
                    format!(
                        "{}: tenures, not dates, so no churn can be placed in a period",
                        loaded.display
                    ),
                ));
            }
            match retention::churn_between(subs, from, ctx.ledger.as_of.days()) {
                Some((rate, mrr)) => (rate, mrr.filter(|_| loaded.has_mrr), true),
                None => {
                    return Ok(Parts::missing(
                        "retention",
                        "no subscription was active at the period's start",
                    ))
                }
            }
        }
    };
    let summary = retention::summary(subs, &groups, &opts)?;
    // The chart: the `all` group, the last.
    let all = groups.last();
    let mut observed = vec![(0.0, 1.0, 1.0, 1.0)];
    let mut model = Vec::new();
    let mut model_name = "model";
    if let Some(g) = all {
        let km = retention::kaplan_meier(&g.counts, opts.level);
        observed.extend(
            km.iter()
                .map(|r| (f64::from(r.period), r.survival, r.low, r.high)),
        );
        if let Some(f) = &g.fit {
            model_name = f.model;
            let last = km.len() as u32 + opts.horizon;
            model = (0..=last)
                .map(|t| (f64::from(t), f.curve.survival(f64::from(t))))
                .collect();
        }
    }
    let next = retention::subscribers(subs, &groups, &opts)?.head(Some(TOP));
    Ok(Parts::one(RetentionSection {
        summary,
        next,
        observed,
        model,
        model_name,
        churn,
        mrr_churn,
        subscribers: subs.len(),
        churned: subs.iter().filter(|s| s.churned).count(),
        period,
    }))
}

impl Section for RetentionSection {
    fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        vec![("retention", &self.summary), ("cancel_next", &self.next)]
    }

    fn measures(&self) -> Vec<Measure> {
        let mut m = vec![Measure {
            kpi: "subscriber_churn_rate",
            owner: None,
            value: self.churn,
            interval: None,
        }];
        if let Some(v) = self.mrr_churn {
            m.push(Measure {
                kpi: "mrr_churn_rate",
                owner: None,
                value: v,
                interval: None,
            });
        }
        m
    }

    fn headlines(&self) -> Vec<Headline> {
        if self.period {
            return Vec::new();
        }
        vec![Headline {
            label: "Subscriber churn",
            higher_is_better: Some(false),
            value: Figure::Share(self.churn),
            detail: format!(
                "{} of {} subscriptions cancelled",
                self.churned, self.subscribers
            ),
        }]
    }

    fn charts(&self) -> Result<Vec<Chart>> {
        let points: Vec<(f64, f64)> = self.observed.iter().map(|p| (p.0, p.1)).collect();
        let band: Vec<(f64, f64, f64)> = self.observed.iter().map(|p| (p.0, p.2, p.3)).collect();
        Ok(vec![crate::output::charts::survival(
            "retention_survival",
            "Subscribers still subscribed, by months since they started",
            "months since the start",
            &points,
            &band,
            &self.model,
            self.model_name,
        )?])
    }

    fn html<'a>(&'a self, charts: &'a [Chart], _as_of: Day) -> html::Section<'a> {
        html::Section {
            title: "Subscriber retention".into(),
            notes: vec![
                "Churn rate: cancelled ÷ subscriptions in the file; median tenure from the \
                 Kaplan–Meier curve; p_renew_next, expected cancellations and churned MRR next \
                 month from a shifted-beta-geometric fit per plan (a plan whose subscribers do \
                 not differ is fitted with one churn rate, the geometric). Below: the active \
                 subscribers likeliest to cancel before their next renewal."
                    .into(),
            ],
            charts: charts.iter().collect(),
            tables: vec![
                table("", &self.summary, 50),
                table("Likeliest to cancel next", &self.next, TOP),
            ],
        }
    }
}
