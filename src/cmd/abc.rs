//! `crm-eval abc ORDERS`: ABC (Pareto) tiers per customer, or per tier with `--summary`.

use anyhow::Result;

use crate::cli::Settings;
use crate::error::usage;
use crate::input::schema::Role;
use crate::input::values::format_days;
use crate::load::{load_ledger, note_without_purchase, require_purchases, OrdersArgs};
use crate::metrics::abc::{self, AbcBasis, AbcOptions};
use crate::output::{self, note};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: OrdersArgs,

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
        basis: args.by,
        a: a / 100.0,
        b: b / 100.0,
    };
    let (orders, ledger) = load_ledger(&args.input, &[Role::Margin, Role::Cost], settings)?;
    require_purchases(&orders, &ledger)?;
    let watch = crate::output::progress::Stopwatch::new();
    let result =
        abc::abc(&ledger, &opts).map_err(|e| anyhow::anyhow!("{}: {e}", orders.display))?;
    watch.lap("abc tiers");
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
    note_without_purchase(out, &ledger);
    if args.summary {
        output::emit(&abc::tier_table(&result.tiers)?, out)
    } else {
        output::emit(&result.customers, out)
    }
}
