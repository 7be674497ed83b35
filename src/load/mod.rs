//! What the commands load, between the input layer (a file → a typed table) and the metrics:
//! the orders and their purchase ledger, the analysis date, the customer list, the pool rules,
//! and (in [`ownership`]) the ownership log with its follow-ups. Shared by every subcommand and
//! by the report, so that a file is read and a rule applied in one place.

pub mod assign;
pub mod clv_summary;
pub mod funnel;
pub mod groups;
pub mod owners;
pub mod ownership;
pub mod partitioned;
pub mod range;
pub mod signals;
pub mod snapshot;
pub mod subscriptions;

use anyhow::{bail, Result};
use polars::prelude::DataFrame;

use crate::day::Day;
use crate::error::usage;
use crate::input::schema::{Role, TableKind};
use crate::input::source::SourceInfo;
use crate::input::{self, Table};
use crate::ledger::cancel::Cancellations;
use crate::ledger::{Ledger, LedgerStats};
use crate::metrics::pool::{PoolRules, DEFAULT_RULES};
use crate::output::{note, OutputOptions};
use crate::settings::Settings;

/// The orders file and analysis date that every order-based subcommand takes.
#[derive(Debug, clap::Args)]
pub struct OrdersArgs {
    /// Orders export (CSV/TSV, optionally .gz/.zst, Parquet, xlsx), or - for standard input.
    #[arg(value_name = "ORDERS")]
    pub orders: String,

    /// Analysis date, YYYY-MM-DD: orders on or after it are left out (default: the day after the
    /// latest order date, so every order counts and reruns agree).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

/// Loads a table through the input layer and says on stderr what loading decided (rows
/// without an ID left out, amounts computed from line items). Every command reads its files
/// through here.
pub fn table(
    path: &str,
    kind: TableKind,
    optional: Option<&[Role]>,
    settings: &Settings,
) -> Result<Table> {
    let table = input::load(path, kind, optional, &settings.input)?;
    for line in &table.notes {
        note(&settings.output, line);
    }
    Ok(table)
}

/// The optional order columns the purchase rule reads (docs/metrics.md, "Orders and purchases"):
/// every order-based command loads them.
pub const LEDGER_ROLES: &[Role] = &[Role::OrderId, Role::Status, Role::Product];

/// Loads an orders export with the columns of the purchase rule and the optional roles a command
/// uses; an export without a single order row is a data error.
pub fn load_orders(path: &str, optional: &[Role], settings: &Settings) -> Result<Table> {
    // A spinner for big files (hidden inside a command's own progress bar, in pipes, with -q).
    let watch = crate::diag::Stopwatch::new();
    let progress = crate::output::progress::Progress::new(1, settings.output.quiet);
    progress.step(format!("loading {path}"));
    let mut roles = LEDGER_ROLES.to_vec();
    roles.extend(
        optional
            .iter()
            .copied()
            .filter(|r| !LEDGER_ROLES.contains(r)),
    );
    let orders = table(path, TableKind::Orders, Some(&roles), settings)?;
    drop(progress);
    watch.lap("loading orders");
    if orders.df.height() == 0 {
        bail!("{}: no order rows after the header", orders.info.display);
    }
    Ok(orders)
}

/// The purchase ledger of loaded orders (built once per run; every order-based analysis reads
/// it), with the orders file named in its errors.
/// The rows are consumed: the ledger frees them as soon as it holds what it reads.
/// Cancellation rows are linked to the orders they cancel first (docs/metrics.md, "Invoice
/// cancellations"), which is said on stderr.
pub fn build_ledger(
    orders: Table,
    as_of: Option<Day>,
    out: &OutputOptions,
) -> Result<(SourceInfo, Ledger)> {
    let watch = crate::diag::Stopwatch::new();
    let (df, info) = linked_orders(orders, out)?;
    let ledger =
        Ledger::from_frame(df, as_of).map_err(|e| anyhow::anyhow!("{}: {e}", info.display))?;
    watch.lap("purchase ledger");
    Ok((info, ledger))
}

/// The order rows with their cancellation rows linked to the orders they cancel, ready for
/// [`Ledger::build`] (for a command that builds ledgers at several dates from the same rows).
pub fn linked_orders(orders: Table, out: &OutputOptions) -> Result<(DataFrame, SourceInfo)> {
    let Table { mut df, info, .. } = orders;
    if let Some(c) = crate::ledger::cancel::link(&mut df)? {
        note_cancellations(out, &info, &c);
    }
    Ok((df, info))
}

/// Says on stderr how the cancellation rows of an export were linked.
pub fn note_cancellations(out: &OutputOptions, info: &SourceInfo, c: &Cancellations) {
    note(
        out,
        format!(
            "{}: {} cancellation rows (order IDs C + number) count as refunds: {} netted \
             against the order of the same number, {} against the customer's latest order of \
             the same product issued at or before it, {} unlinked (refunds on their own date)",
            info.display, c.rows, c.by_number, c.by_product, c.unlinked
        ),
    );
}

/// [`load_ledger`] over a date range (docs/metrics.md, "Periods"): as of the range's end,
/// built again there when a relative range ends before the data do; with the range's days.
pub fn load_ledger_in_range(
    args: &OrdersArgs,
    optional: &[Role],
    range: Option<&range::Ranged>,
    settings: &Settings,
) -> Result<(SourceInfo, Ledger, Option<crate::metrics::periods::Span>)> {
    let Some(r) = range else {
        let (info, ledger) = load_ledger(args, optional, settings)?;
        return Ok((info, ledger, None));
    };
    // The file is read once; a relative range that ends earlier builds the ledger again.
    let orders = load_orders(&args.orders, optional, settings)?;
    let (df, info) = linked_orders(orders, &settings.output)?;
    let (ledger, span) = range::load_in(
        Some(r),
        parse_as_of(&args.as_of)?,
        settings,
        |as_of, _| Ledger::build(&df, as_of).map_err(|e| anyhow::anyhow!("{}: {e}", info.display)),
        |ledger| ledger.as_of,
    )?;
    note_after_as_of(
        &settings.output,
        ledger.stats.rows_after_as_of,
        ledger.as_of,
    );
    Ok((info, ledger, span))
}

/// Loads an orders export and builds its ledger, saying on stderr how many rows as_of left out.
/// The file's description is kept for messages.
pub fn load_ledger(
    args: &OrdersArgs,
    optional: &[Role],
    settings: &Settings,
) -> Result<(SourceInfo, Ledger)> {
    let as_of = parse_as_of(&args.as_of)?;
    let orders = load_orders(&args.orders, optional, settings)?;
    let (info, ledger) = build_ledger(orders, as_of, &settings.output)?;
    note_after_as_of(
        &settings.output,
        ledger.stats.rows_after_as_of,
        ledger.as_of,
    );
    Ok((info, ledger))
}

/// The customer IDs of a `--customers` export, when one was given (the analyses use only the IDs).
pub fn load_customer_ids(path: Option<&str>, settings: &Settings) -> Result<Option<Vec<String>>> {
    let Some(path) = path else { return Ok(None) };
    let customers = table(path, TableKind::Customers, Some(&[]), settings)?;
    let ids = crate::metrics::orders::str_values(&customers.df, "customer_id")?;
    Ok(Some(ids.into_iter().map(String::from).collect()))
}

/// Parses `--as-of YYYY-MM-DD`.
pub fn parse_as_of(as_of: &Option<String>) -> Result<Option<Day>> {
    parse_day_flag("--as-of", as_of)
}

/// Parses the value of a date flag (`--as-of`, `--holdout`): `YYYY-MM-DD`, else a usage error
/// naming the flag.
pub fn parse_day_flag(flag: &str, value: &Option<String>) -> Result<Option<Day>> {
    match value {
        Some(s) => Ok(Some(Day::parse(s).ok_or_else(|| {
            usage(format!("{flag} {s:?}: expected a date as YYYY-MM-DD"))
        })?)),
        None => Ok(None),
    }
}

/// Says on stderr how many order rows the analysis date left out, if any.
pub fn note_after_as_of(out: &OutputOptions, rows: usize, as_of: Day) {
    if rows > 0 {
        note(
            out,
            format!("{rows} order rows dated on or after {} are left out", as_of),
        );
    }
}

/// A data error when no order is a purchase: the per-customer commands would have nothing to
/// rank, and an empty table is easy to mistake for a result.
pub fn require_purchases(orders: &SourceInfo, stats: &LedgerStats, as_of: Day) -> Result<()> {
    if stats.purchases == 0 {
        // Say why: the rows are all on or after as_of, or none of those before it is a purchase.
        let why = if stats.rows > 0 && stats.rows_after_as_of == stats.rows {
            "every order row is dated on or after it; pass a later --as-of or leave it out"
        } else {
            "every order before it is cancelled, unpaid or refunded"
        };
        bail!("{}: no purchases before {} ({why})", orders.display, as_of);
    }
    Ok(())
}

/// Says on stderr how many customers have order rows but no purchase (they are not listed).
pub fn note_without_purchase(out: &OutputOptions, stats: &LedgerStats) {
    let n = stats.customers_without_purchase;
    if n > 0 {
        note(
            out,
            format!(
                "{n} customers have order rows but no purchase (only cancelled, unpaid or refunded orders) and are not listed"
            ),
        );
    }
}

/// The rules of `--rules FILE`, or the built-in ones; a bad file is a usage error.
pub fn pool_rules(path: Option<&str>) -> Result<PoolRules> {
    match path {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| usage(format!("--rules {path}: {e}")))?;
            PoolRules::parse(&text).map_err(|e| usage(format!("{path}: {e}")))
        }
        None => {
            PoolRules::parse(DEFAULT_RULES).map_err(|e| usage(format!("built-in pool rules: {e}")))
        }
    }
}
