//! The churn risk section of the report (docs/metrics.md, "Churn prediction"): the logistic
//! model on the orders and the follow-ups, events and surveys given, trained at as_of − 90 days;
//! the customers at risk with their value, the backtest, the distribution of the probabilities
//! and the calibration of the latest backtest cutoff. It re-reads the orders file, because the
//! features of each cutoff come from a ledger of the rows before it.

use crate::day::Day;
use anyhow::Result;
use polars::prelude::*;

use super::{floats, pct, pick, table, Analysis, Context, Figure, Headline, Parts, Section};
use crate::load::signals::{self, SignalFiles};
use crate::load::{linked_orders, load_orders};
use crate::metrics::predict::evaluate::{self, Evaluation};
use crate::metrics::predict::{churn, Options};
use crate::output::charts::{self, Chart};
use crate::output::html;

pub const CHURN: Analysis = Analysis {
    step: "churn risk",
    build,
    kpis: &[],
};

/// The report's horizon and backtest.
const OPTIONS: Options = Options {
    horizon: 90,
    cutoffs: 3,
    step: 90,
};

struct ChurnSection {
    predictions: DataFrame,
    by_owner: DataFrame,
    backtest: DataFrame,
    calibration: DataFrame,
    evaluations: Vec<Evaluation>,
}

fn build(ctx: &Context) -> Result<Parts> {
    if ctx.orders.display == "<stdin>" {
        return Ok(Parts::missing(
            "churn risk",
            "it re-reads the orders file, and these came from standard input",
        ));
    }
    // Quietly: the orders' load notes were said when the report read them.
    let quiet = ctx.settings.quiet();
    let table = load_orders(&ctx.orders.display, &[], &quiet)?;
    let (orders, _) = linked_orders(table, &quiet.output)?;
    let signals = signals::load(
        &SignalFiles {
            followups: ctx.followups,
            events: ctx.events,
            surveys: ctx.surveys,
            customers: None,
        },
        &quiet,
    )?;
    // The shortlist as `predict churn` gives it: customers not yet gone, most value at risk
    // first.
    let list = churn::ListOptions {
        churned_after: Some(crate::metrics::lifecycle::LifecycleOptions::default().churn_days),
        by_probability: false,
        top: None,
    };
    let run = match churn::run(&orders, &ctx.ledger, &signals, &OPTIONS, &list, &|_| {}) {
        Ok(mut run) => {
            // The owner beside each customer, as `predict churn` gives it.
            let mut columns = crate::load::owners::CustomerColumns::default();
            columns.add_purchases(&ctx.ledger);
            let events = crate::load::owners::ListArgs {
                events: ctx.events.map(str::to_string),
                columns: None,
                top: None,
            };
            columns.load_files(None, &events, ctx.ledger.as_of, &quiet)?;
            run.predictions = columns.attach(run.predictions)?;
            run
        }
        Err(e) => return Ok(Parts::missing("churn risk", e.to_string())),
    };
    // The backtest of every model and cutoff; the calibration of the fitted model at the
    // latest cutoff.
    let backtest = evaluate::backtest_table(&run.evaluations, churn::BACKTEST)?;
    let latest: Vec<Evaluation> = run
        .evaluations
        .into_iter()
        .filter(|e| e.model == "logistic")
        .take(1)
        .collect();
    Ok(Parts::one(ChurnSection {
        by_owner: churn::by_owner(&run.predictions)?,
        predictions: run.predictions,
        backtest,
        calibration: evaluate::calibration_table(&latest, churn::BACKTEST)?,
        evaluations: latest,
    }))
}

impl Section for ChurnSection {
    fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        vec![
            ("churn_risk", &self.predictions),
            ("churn_by_owner", &self.by_owner),
            ("churn_backtest", &self.backtest),
            ("churn_calibration", &self.calibration),
        ]
    }

    fn headlines(&self) -> Vec<Headline> {
        let bands = self
            .predictions
            .column("risk_band")
            .ok()
            .and_then(|c| c.str().ok().cloned());
        let high = bands.map_or(0, |b| b.iter().filter(|v| *v == Some("high")).count());
        let auc = self.evaluations.first().and_then(|e| e.scores.auc);
        vec![Headline {
            label: "High churn risk",
            higher_is_better: Some(false),
            value: Figure::Count(high),
            detail: format!(
                "of {} customers; backtest AUC {}",
                self.predictions.height(),
                auc.map_or("-".into(), |a| format!("{a:.2}"))
            ),
        }]
    }

    fn charts(&self) -> Result<Vec<Chart>> {
        let p: Vec<f64> = floats(&self.predictions, "churn_probability")?
            .into_iter()
            .flatten()
            .collect();
        let mut out = vec![charts::histogram(
            "churn_distribution",
            "Churn probability in the next 90 days",
            ("churn probability", "customers"),
            &p,
            1.0,
            20,
        )?];
        if let Some(e) = self.evaluations.first() {
            let points: Vec<(f64, f64)> = e
                .calibration
                .iter()
                .map(|d| (d.mean_probability, d.observed_rate))
                .collect();
            out.push(charts::calibration(
                "churn_calibration",
                &format!(
                    "Calibration at the backtest cutoff {} (deciles)",
                    crate::day::iso(e.cutoff)
                ),
                &points,
            )?);
        }
        Ok(out)
    }

    fn html<'a>(&'a self, charts: &'a [Chart], _as_of: Day) -> html::Section<'a> {
        let mut notes = vec![
            "Churn = no purchase in the next 90 days. Logistic model on recency, frequency, value, tenure, spend trend, regularity and P(alive) (plus follow-ups, ownership events and surveys when given), trained 90 days ago; the drivers are what raises each customer's risk most.".to_string(),
            "Listed: the customers who have not already left (no purchase for more than 180 days), most value at risk first: churn probability × the net spend of the last 365 days. High risk: the top 10 % by probability.".to_string(),
        ];
        if let Some(e) = self.evaluations.first() {
            notes.push(format!(
                "Backtest at {}: AUC {}, {} of churners in the top 10% of scores; the calibration plot compares predicted and observed churn by decile.",
                crate::day::iso(e.cutoff),
                e.scores.auc.map_or("-".into(), |a| format!("{a:.3}")),
                e.scores.capture_top10.map_or("-".into(), pct)
            ));
        }
        html::Section {
            title: "Churn risk".into(),
            notes,
            charts: pick(charts, &["churn_distribution", "churn_calibration"]),
            tables: vec![
                table("Value at risk per owner", &self.by_owner, 20),
                table("Most value at risk", &self.predictions, 20),
                table("Backtest", &self.backtest, 20),
            ],
        }
    }
}
