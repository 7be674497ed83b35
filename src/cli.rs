//! Command-line definition: the clap types and nothing else. The flags every subcommand shares
//! are [`GlobalArgs`] in [`crate::settings`], which resolves them into typed [`Settings`]
//! before any subcommand starts work.
//!
//! [`Settings`]: crate::settings::Settings

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::cmd;
use crate::settings::GlobalArgs;

#[derive(Debug, Parser)]
#[command(
    name = "crm-eval",
    version,
    about = "Analytics for CRM exports: RFM, ABC tiers, CLV, subscriber retention, lead conversion, recovery, pool rules, lifecycle, cohorts, rating, NPS/CSAT, the sales funnel, one report of them all, and an inspector for export files.",
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
    /// Who should get each pool customer or new lead: the owner likeliest to convert it, within the pool rules.
    Assign(cmd::assign::Args),
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
    /// Predictions with a backtest: `predict churn` (risk per customer), `predict deal` (open deals), `predict lead` (lead lists).
    #[command(subcommand)]
    Predict(cmd::predict::Predict),
    /// Subscriber retention: churn, Kaplan–Meier curves, sBG/BdW models, who cancels next.
    Retention(cmd::retention::Args),
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

/// The line under a command's short help (`-h`), where the shared input options are left out.
const SHARED_OPTIONS: &str =
    "Input options every command shares (--map, --encoding, --date-format, \
     --delimiter, --sheet, --tz, --decimal-comma, --strict, --config, --no-config …) and \
     examples: --help";

/// The command line as clap sees it, with each subcommand's examples (from its docs page) at the
/// end of its `--help`.
pub fn command() -> clap::Command {
    let mut command = Cli::command().after_long_help(examples(""));
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        command = command.mut_subcommand(&name, |sub| {
            // `--top -5` reaches --top's own check ("invalid value '-5' for '--top <N>'")
            // instead of clap's "unexpected argument '-5' found", which names no option.
            let sub = sub
                .allow_negative_numbers(true)
                .after_help(SHARED_OPTIONS)
                .after_long_help(examples(&name));
            let inner: Vec<String> = sub
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            inner.into_iter().fold(sub, |sub, inner| {
                let text = examples(&format!("{name} {inner}"));
                sub.mut_subcommand(&inner, |c| {
                    c.allow_negative_numbers(true)
                        .after_help(SHARED_OPTIONS)
                        .after_long_help(text)
                })
            })
        });
    }
    command
}

/// Parses the process's arguments with [`command`]; help, --version and mistakes end the process
/// as clap does (exit 0 or 2).
pub fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The docs page of a command, whose examples its help shows (tests/docs.rs runs them).
fn page(command: &str) -> &'static str {
    match command.split(' ').next().unwrap_or("") {
        "rfm" => include_str!("../docs/cmd/rfm.md"),
        "abc" => include_str!("../docs/cmd/abc.md"),
        "clv" => include_str!("../docs/cmd/clv.md"),
        "conversion" => include_str!("../docs/cmd/conversion.md"),
        "recovery" => include_str!("../docs/cmd/recovery.md"),
        "pool" => include_str!("../docs/cmd/pool.md"),
        "assign" => include_str!("../docs/cmd/assign.md"),
        "cohort" => include_str!("../docs/cmd/cohort.md"),
        "lifecycle" => include_str!("../docs/cmd/lifecycle.md"),
        "rating" => include_str!("../docs/cmd/rating.md"),
        "nps" => include_str!("../docs/cmd/nps.md"),
        "funnel" => include_str!("../docs/cmd/funnel.md"),
        "predict" => include_str!("../docs/cmd/predict.md"),
        "report" => include_str!("../docs/cmd/report.md"),
        "retention" => include_str!("../docs/cmd/retention.md"),
        "check" => include_str!("../docs/cmd/check.md"),
        "sql" => include_str!("../docs/cmd/sql.md"),
        "inspect" => include_str!("../docs/cmd/inspect.md"),
        "completions" | "man" => include_str!("../docs/cmd/completions.md"),
        _ => include_str!("../docs/cookbook.md"),
    }
}

/// `Examples:` and the `crm-eval …` command lines of a command's docs page (`console` and `sh`
/// blocks; `predict churn` keeps its own), at most eight; empty when the page has none.
pub fn examples(command: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut in_block = false;
    let mut pending: Option<String> = None;
    for line in page(command).lines() {
        let fence = line.trim_start();
        if fence.starts_with("```") {
            in_block = !in_block && (fence == "```console" || fence == "```sh");
            continue;
        }
        if !in_block {
            continue;
        }
        let text = line.trim();
        let text = match pending.take() {
            Some(head) => format!("{head} {text}"),
            None => match text.strip_prefix("$ ").unwrap_or(text) {
                t if t.starts_with("crm-eval ") => t.to_string(),
                _ => continue,
            },
        };
        match text.strip_suffix('\\') {
            Some(head) => pending = Some(head.trim_end().to_string()),
            None => {
                let wanted = command.is_empty()
                    || text.starts_with(&format!("crm-eval {command} "))
                    || (command == "man" && text.starts_with("crm-eval man"));
                if wanted && !lines.contains(&text) {
                    lines.push(text);
                }
            }
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from("Examples:\n");
    for l in lines.iter().take(8) {
        out.push_str("  ");
        out.push_str(l);
        out.push('\n');
    }
    out
}
