//! `crm-eval abc ORDERS`: ABC (Pareto) tiers per customer, or per tier with `--summary`.

use anyhow::{bail, Result};

use crate::cli::Settings;
use crate::error::usage;
use crate::input::schema::{Role, TableKind};
use crate::input::values::{format_days, parse_iso_day};
use crate::input::{self};
use crate::metrics::abc::{self, AbcBasis, AbcOptions};
use crate::output::{self, note};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Orders export (CSV/TSV, optionally .gz/.zst, Parquet, xlsx), or - for standard input.
    #[arg(value_name = "ORDERS")]
    pub orders: String,

    /// Analysis date, YYYY-MM-DD: orders on or after it are left out (default: all).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,

    /// Rank by net revenue or by margin (margin column, or amount − cost).
    #[arg(long, value_enum, default_value = "revenue")]
    pub by: AbcBasis,

    /// Cumulative-share limits of tiers A and B in percent.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "A,B",
        default_value = "80,95"
    )]
    pub thresholds: Vec<f64>,

    /// One row per tier: customers, share of customers, value, share of value.
    #[arg(long)]
    pub summary: bool,
}

/// Parses `--as-of`, shared by the commands that take one.
pub fn parse_as_of(as_of: &Option<String>) -> Result<Option<i32>> {
    match as_of {
        Some(s) => Ok(Some(parse_iso_day(s).ok_or_else(|| {
            usage(format!("--as-of {s:?}: expected a date as YYYY-MM-DD"))
        })?)),
        None => Ok(None),
    }
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let [a, b] = args.thresholds[..] else {
        return Err(usage(format!(
            "--thresholds {:?}: expected two percentages, A and B, e.g. 80,95",
            args.thresholds
        )));
    };
    if !(a > 0.0 && a < b && b <= 100.0) {
        return Err(usage(format!(
            "--thresholds {a},{b}: expected 0 < A < B <= 100 (percent of value)"
        )));
    }
    let opts = AbcOptions {
        as_of: parse_as_of(&args.as_of)?,
        basis: args.by,
        a: a / 100.0,
        b: b / 100.0,
    };
    let orders = input::load(
        &args.orders,
        TableKind::Orders,
        Some(&[Role::Status, Role::Margin, Role::Cost]),
        &settings.input,
    )?;
    if orders.df.height() == 0 {
        bail!("{}: no order rows after the header", orders.info.display);
    }
    let result =
        abc::abc(&orders.df, &opts).map_err(|e| anyhow::anyhow!("{}: {e}", orders.info.display))?;
    let out = &settings.output;
    note(
        out,
        format!(
            "{} customers ranked by {} as of {}",
            result.customers.height(),
            if opts.basis == AbcBasis::Margin {
                "margin"
            } else {
                "net revenue"
            },
            format_days(result.as_of)
        ),
    );
    if result.after_as_of > 0 {
        note(
            out,
            format!(
                "{} order rows dated on or after {} are left out",
                result.after_as_of,
                format_days(result.as_of)
            ),
        );
    }
    if args.summary {
        output::emit(&abc::tier_summary(&result.customers)?, out)
    } else {
        output::emit(&result.customers, out)
    }
}
