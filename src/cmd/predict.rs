//! `crm-eval predict churn ORDERS [--followups F] [--events F] [--surveys F] [--customers F]
//! [--horizon DAYS] [--evaluate]`: churn risk per customer from a logistic model on documented
//! features, with a rolling-origin backtest beside the recency and P(alive) baselines
//! (docs/metrics.md, "Churn prediction").

use anyhow::Result;

use crate::cli::Settings;
use crate::error::usage;
use crate::input::values::format_days;
use crate::ledger::Ledger;
use crate::load::signals::{self, SignalFiles};
use crate::load::{linked_orders, load_orders, note_after_as_of, parse_as_of, require_purchases};
use crate::metrics::predict::churn::{self, ChurnOptions};
use crate::output::{self, note};

#[derive(Debug, clap::Subcommand)]
pub enum Predict {
    /// Churn risk: the probability of no purchase in the next --horizon days, per customer.
    Churn(ChurnArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Show {
    /// Per customer: churn_probability, risk_band, the three drivers, recency, frequency, value.
    Predictions,
    /// Per backtest cutoff and model: AUC, Brier, log loss, lift and capture in the top 10 %.
    Backtest,
    /// Per backtest cutoff, model and decile: mean predicted and observed churn.
    Calibration,
    /// The fitted model: coefficient of each standardised feature, its mean and sd.
    Coefficients,
    /// The rows the model was trained on: customer_id, churned and every feature.
    Training,
}

#[derive(Debug, clap::Args)]
pub struct ChurnArgs {
    #[command(flatten)]
    pub orders: crate::load::OrdersArgs,

    /// Follow-up log (adds follow-ups in the last 30/90 days and days since the last one).
    #[arg(long, value_name = "FILE")]
    pub followups: Option<String>,

    /// Ownership event log (adds owner changes and returns to the pool).
    #[arg(long, value_name = "FILE")]
    pub events: Option<String>,

    /// Survey answers with customer and date (adds the latest NPS and CSAT).
    #[arg(long, value_name = "FILE")]
    pub surveys: Option<String>,

    /// Customers export (adds source, industry and region, rare values pooled).
    #[arg(long, value_name = "FILE")]
    pub customers: Option<String>,

    /// Churned = no purchase in this many days after a cutoff.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub horizon: i32,

    /// Backtest cutoffs (as_of − horizon, then every --step days earlier).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub cutoffs: usize,

    /// Days between backtest cutoffs (default: the horizon).
    #[arg(long, value_name = "DAYS")]
    pub step: Option<i32>,

    /// Print only the backtest (the same as --show backtest).
    #[arg(long)]
    pub evaluate: bool,

    /// Which tables to write (default: predictions; one sheet each in xlsx).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub show: Vec<Show>,
}

pub fn run(command: Predict, settings: &Settings) -> Result<()> {
    match command {
        Predict::Churn(args) => churn(args, settings),
    }
}

fn churn(args: ChurnArgs, settings: &Settings) -> Result<()> {
    let step = args.step.unwrap_or(args.horizon);
    if args.horizon < 1 || step < 1 {
        return Err(usage("--horizon and --step: expected 1 or more days"));
    }
    if args.cutoffs < 1 {
        return Err(usage("--cutoffs: expected 1 or more"));
    }
    let show = if args.evaluate {
        vec![Show::Backtest]
    } else if args.show.is_empty() {
        vec![Show::Predictions]
    } else {
        args.show.clone()
    };
    let out = &settings.output;
    let as_of = parse_as_of(&args.orders.as_of)?;
    let table = load_orders(&args.orders.orders, &[], settings)?;
    let (orders, info) = linked_orders(table, out)?;
    let ledger =
        Ledger::build(&orders, as_of).map_err(|e| anyhow::anyhow!("{}: {e}", info.display))?;
    note_after_as_of(out, ledger.stats.rows_after_as_of, ledger.as_of);
    require_purchases(&info, &ledger)?;
    let signals = signals::load(
        &SignalFiles {
            followups: args.followups.as_deref(),
            events: args.events.as_deref(),
            surveys: args.surveys.as_deref(),
            customers: args.customers.as_deref(),
        },
        settings,
    )?;
    let watch = crate::output::progress::Stopwatch::new();
    let result = churn::run(
        &orders,
        &ledger,
        &signals,
        &ChurnOptions {
            horizon: args.horizon,
            cutoffs: args.cutoffs,
            step,
        },
    )?;
    watch.lap("churn features, fits and backtest");
    for n in &result.notes {
        note(out, n);
    }
    note(
        out,
        format!(
            "churn = no purchase in {} days; model trained on the {} customers of {} (outcomes to {}, penalty λ = {}), scoring {} customers as of {}",
            args.horizon,
            result.training.height(),
            format_days(result.train_cutoff),
            format_days(ledger.as_of),
            result.fitted.model.lambda,
            result.predictions.height(),
            format_days(ledger.as_of)
        ),
    );
    // The validation is always said: AUC per cutoff for the model and its baselines.
    let mut cutoffs: Vec<i32> = result.evaluations.iter().map(|e| e.cutoff).collect();
    cutoffs.dedup();
    for c in cutoffs {
        let line: Vec<String> = result
            .evaluations
            .iter()
            .filter(|e| e.cutoff == c)
            .map(|e| {
                format!(
                    "{} {}",
                    e.model,
                    e.scores.auc.map_or("-".into(), |a| format!("{a:.3}"))
                )
            })
            .collect();
        note(
            out,
            format!("backtest {}: AUC {}", format_days(c), line.join(" · ")),
        );
    }
    let mut tables = Vec::new();
    for s in &show {
        tables.push(match s {
            Show::Predictions => ("predictions", result.predictions.clone()),
            Show::Backtest => ("backtest", churn::backtest_table(&result.evaluations)?),
            Show::Calibration => (
                "calibration",
                churn::calibration_table(&result.evaluations)?,
            ),
            Show::Coefficients => ("coefficients", result.fitted.coefficients()?),
            Show::Training => ("training", result.training.clone()),
        });
    }
    let sheets: Vec<(&str, &polars::prelude::DataFrame)> =
        tables.iter().map(|(n, df)| (*n, df)).collect();
    output::emit_sheets(&sheets, out)
}
