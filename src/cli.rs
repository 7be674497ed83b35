//! Command-line definition. Raw flags are turned into validated, typed settings
//! ([`Settings::resolve`]) before any subcommand starts work.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::cmd;
use crate::config::Config;
use crate::error::usage;
use crate::input::coerce::ValueOptions;
use crate::input::schema::{MapEntry, Role, TableKind};
use crate::input::source::{EncodingChoice, ReadOptions};
use crate::input::values::ExcelEpoch;
use crate::input::InputOptions;
use crate::output::{Format, OutputOptions};

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

/// Flags that every subcommand accepts, before or after its name.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Text encoding of CSV input: auto tries strict UTF-8, then GBK/GB18030.
    #[arg(long, global = true, value_enum, help_heading = "Input")]
    pub encoding: Option<EncodingChoice>,

    /// Name the column for a role, e.g. --map customer_id=客户编号 or --map orders.amount=实付金额.
    #[arg(
        long = "map",
        global = true,
        value_name = "[TABLE.]ROLE=HEADER",
        help_heading = "Input"
    )]
    pub map: Vec<String>,

    /// chrono format for every date column, e.g. %d/%m/%Y (needed when day/month order is ambiguous).
    #[arg(long, global = true, value_name = "FORMAT", help_heading = "Input")]
    pub date_format: Option<String>,

    /// CSV delimiter (default: sniffed). One character, or "tab".
    #[arg(long, global = true, value_name = "CHAR", help_heading = "Input")]
    pub delimiter: Option<String>,

    /// Excel sheet to read (default: the first).
    #[arg(long, global = true, value_name = "NAME", help_heading = "Input")]
    pub sheet: Option<String>,

    /// Amounts use a decimal comma: 1.234,56.
    #[arg(long, global = true, help_heading = "Input")]
    pub decimal_comma: bool,

    /// Bare Excel serial numbers count from 1904 (old Mac Excel), not 1900.
    #[arg(long = "excel-1904", global = true, help_heading = "Input")]
    pub excel_1904: bool,

    /// Count calendar days at this UTC offset (e.g. +08:00, UTC). Default: the data's own.
    #[arg(long, global = true, value_name = "OFFSET", help_heading = "Input")]
    pub tz: Option<String>,

    /// Fail on rows without an ID (guest checkouts) instead of leaving them out with a note.
    #[arg(long, global = true, help_heading = "Input")]
    pub strict: bool,

    /// How a line-item discount column is read when the amount is computed from quantity ×
    /// unit price: rate (0.2 = 20 % off), amount (money off), or auto (rate when every value is
    /// between 0 and 1).
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "KIND",
        help_heading = "Input"
    )]
    pub line_discount: Option<crate::input::lines::DiscountKind>,

    /// Config file (default: ./crm-eval.toml when present).
    #[arg(long, global = true, value_name = "FILE", help_heading = "Input")]
    pub config: Option<PathBuf>,

    /// Output format (default: from -o's extension; table on a terminal, csv when piped).
    #[arg(long, short = 'f', global = true, value_enum, help_heading = "Output")]
    pub format: Option<Format>,

    /// Write to FILE (atomically) instead of standard output.
    #[arg(
        long,
        short = 'o',
        global = true,
        value_name = "FILE",
        help_heading = "Output"
    )]
    pub output: Option<PathBuf>,

    /// Start CSV/TSV output with a UTF-8 byte-order mark, so Excel shows Chinese text correctly.
    #[arg(long, global = true, help_heading = "Output")]
    pub bom: bool,

    /// No notes or warnings on standard error.
    #[arg(long, short = 'q', global = true, help_heading = "Output")]
    pub quiet: bool,
}

/// Validated settings shared by all subcommands.
#[derive(Clone)]
pub struct Settings {
    pub input: InputOptions,
    pub output: OutputOptions,
    pub config: Config,
}

impl Settings {
    /// Resolves flags and the config file (flags win) into typed settings. Every mistake here is a
    /// usage error, reported before any file is read.
    pub fn resolve(global: &GlobalArgs) -> Result<Settings> {
        let config = Config::find_and_load(global.config.as_deref())?;
        let cfg = &config.input;

        let encoding = global.encoding.or(cfg.encoding).unwrap_or_default();
        let delimiter = match global.delimiter.as_deref().or(cfg.delimiter.as_deref()) {
            None => None,
            Some(d) => Some(parse_delimiter(d)?),
        };
        let tz_offset_secs = match global.tz.as_deref().or(cfg.tz.as_deref()) {
            None => None,
            Some(tz) => Some(parse_offset(tz)?),
        };
        let date_format = global
            .date_format
            .clone()
            .or_else(|| cfg.date_format.clone());
        if let Some(f) = &date_format {
            validate_date_format(f)?;
        }
        let decimal_comma = global.decimal_comma || cfg.decimal_comma.unwrap_or(false);
        let excel_epoch = if global.excel_1904 || cfg.excel_1904.unwrap_or(false) {
            ExcelEpoch::Excel1904
        } else {
            ExcelEpoch::Excel1900
        };

        let mut mappings = config.mappings()?;
        for spec in &global.map {
            mappings.push(parse_map(spec, "--map")?);
        }

        let input = InputOptions {
            read: ReadOptions {
                encoding,
                delimiter,
                sheet: global.sheet.clone().or_else(|| cfg.sheet.clone()),
            },
            values: ValueOptions {
                date_format,
                excel_epoch,
                decimal_comma,
                tz_offset_secs,
            },
            mappings,
            strict: global.strict || cfg.strict.unwrap_or(false),
            discount: global
                .line_discount
                .or(cfg.line_discount)
                .unwrap_or_default(),
        };
        let output = OutputOptions::resolve(
            global.format,
            global.output.clone(),
            global.bom,
            global.quiet,
        )?;
        Ok(Settings {
            input,
            output,
            config,
        })
    }
}

/// Parses `[table.]role=header`.
pub fn parse_map(spec: &str, via: &'static str) -> Result<MapEntry> {
    let Some((lhs, header)) = spec.split_once('=') else {
        return Err(usage(format!(
            "{via} {spec:?}: expected ROLE=HEADER, e.g. customer_id=客户编号"
        )));
    };
    let (table, role_name) = match lhs.split_once('.') {
        Some((t, r)) => {
            let table = TableKind::from_name(t).ok_or_else(|| {
                usage(format!(
                    "{via} {spec:?}: unknown table {t:?}; tables are orders, customers, events, \
                     followups, surveys"
                ))
            })?;
            (Some(table), r)
        }
        None => (None, lhs),
    };
    let role = Role::from_name(role_name).ok_or_else(|| {
        usage(format!(
            "{via} {spec:?}: unknown role {role_name:?}; roles are {}",
            crate::input::schema::ALL_ROLES
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    if let Some(t) = table {
        if !t.roles().any(|r| r == role) {
            return Err(usage(format!("{via} {spec:?}: {t} have no {role} column")));
        }
    }
    if header.trim().is_empty() {
        return Err(usage(format!("{via} {spec:?}: the header name is empty")));
    }
    Ok(MapEntry {
        table,
        role,
        header: header.to_string(),
        via,
    })
}

fn parse_delimiter(d: &str) -> Result<u8> {
    match d {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        d if d.len() == 1 && d.is_ascii() => Ok(d.as_bytes()[0]),
        _ => Err(usage(format!(
            "--delimiter {d:?}: expected one ASCII character or \"tab\""
        ))),
    }
}

/// Parses a fixed UTC offset: `UTC`, `Z`, `+08:00`, `+0800`, `-5`.
pub fn parse_offset(tz: &str) -> Result<i32> {
    let t = tz.trim();
    if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("gmt") || t == "Z" {
        return Ok(0);
    }
    let bad = || {
        usage(format!(
            "--tz {tz:?}: expected a UTC offset such as +08:00, -05:00 or UTC"
        ))
    };
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 4 {
        return Err(bad());
    }
    let (h, m) = if digits.len() <= 2 {
        (digits.parse::<i32>().map_err(|_| bad())?, 0)
    } else {
        let split = digits.len() - 2;
        (
            digits[..split].parse::<i32>().map_err(|_| bad())?,
            digits[split..].parse::<i32>().map_err(|_| bad())?,
        )
    };
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60))
}

fn validate_date_format(format: &str) -> Result<()> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
        return Err(usage(format!(
            "--date-format {format:?} is not a valid chrono/strftime format (e.g. %d/%m/%Y)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("UTC").unwrap(), 0);
        assert_eq!(parse_offset("+08:00").unwrap(), 8 * 3600);
        assert_eq!(parse_offset("-0530").unwrap(), -(5 * 3600 + 30 * 60));
        assert_eq!(parse_offset("+8").unwrap(), 8 * 3600);
        assert!(parse_offset("Asia/Shanghai").is_err());
        assert!(parse_offset("+25:00").is_err());
    }

    #[test]
    fn maps() {
        let m = parse_map("orders.amount=实付金额", "--map").unwrap();
        assert_eq!(
            (m.table, m.role, m.header.as_str()),
            (Some(TableKind::Orders), Role::Amount, "实付金额")
        );
        assert!(parse_map("amount", "--map").is_err());
        assert!(parse_map("amout=x", "--map").is_err());
        assert!(parse_map("events.amount=x", "--map").is_err());
    }
}
