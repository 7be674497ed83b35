//! Command-line definition: the clap types and nothing else. The flags every subcommand shares
//! are [`GlobalArgs`] in [`crate::settings`], which resolves them into typed [`Settings`]
//! before any subcommand starts work.
//!
//! [`Settings`]: crate::settings::Settings

use clap::{Parser, Subcommand};

use crate::cmd;
use crate::settings::GlobalArgs;

#[derive(Debug, Parser)]
#[command(
    name = "crm-eval",
    version,
    about = "Analytics for CRM exports: RFM, ABC tiers, CLV, lead conversion, recovery, pool rules, lifecycle, cohorts, rating, NPS/CSAT, the sales funnel, one report of them all, and an inspector for export files.",
    long_about = None,
    after_help = "Exit status: 0 success, 1 bad data or runtime failure, 2 usage error, 3 a target of `check` missed."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// RFM per customer: recency, frequency, monetary, 1–5 scores and a named segment.
    Rfm(cmd::rfm::Args),
    /// ABC (Pareto) tiers: A up to 80 % of cumulative value, B up to 95 %, C the rest.
    Abc(cmd::abc::Args),
    /// Customer lifetime value: BG/NBD or Pareto/NBD with Gamma-Gamma, or historical; --params, --holdout.
    Clv(cmd::clv::Args),
    /// Conversion of allocated leads: spells converted within --window days, per owner/source/cohort.
    Conversion(cmd::conversion::Args),
    /// Recovery (win-back) of customers recycled to the pool, or churned (--churn-days).
    Recovery(cmd::recovery::Args),
    /// Pool (公海) rules as of a date: due back, owner limits, cooldown reclaims, priority, health.
    Pool(cmd::pool::Args),
    /// Cohort matrix: customers by first-purchase period, retention (or customers, revenue) after.
    Cohort(cmd::cohort::Args),
    /// Lifecycle stage per customer (potential, new, active, loyal, at risk, churned), or --rates.
    Lifecycle(cmd::lifecycle::Args),
    /// Customer rating (客户评级): weighted score over normalised criteria, graded by cut-offs.
    Rating(cmd::rating::Args),
    /// NPS (0–10) and CSAT (1–5) with 95 % intervals, overall, per owner or per month.
    Nps(cmd::nps::Args),
    /// Sales funnel (销售漏斗) of an opportunities export: win rate, cycle, stage conversion, pipeline.
    Funnel(cmd::funnel::Args),
    /// Predictions with a backtest: `predict churn` (risk per customer), `predict deal` (open deals).
    #[command(subcommand)]
    Predict(cmd::predict::Predict),
    /// Every analysis in one workbook (-o report.xlsx, a sheet each) or one HTML page with charts.
    Report(cmd::report::Args),
    /// KPI targets for cron: check targets.toml against the data; exit 3 when one is missed.
    Check(cmd::check::Args),
    /// The SQL of a command's table for DuckDB, Spark or PostgreSQL: crm-eval sql rfm --dialect spark
    Sql(cmd::sql::Args),
    /// Show how a file is read: format, encoding, delimiter, column roles, types, data quality.
    Inspect(cmd::inspect::Args),
    /// Print a shell completion script: crm-eval completions bash > /etc/bash_completion.d/crm-eval
    Completions(cmd::shell::CompletionsArgs),
    /// Print the man page (roff): crm-eval man | man -l -   (or crm-eval man rfm for one command)
    Man(cmd::shell::ManArgs),
}
