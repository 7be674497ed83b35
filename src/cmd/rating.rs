//! `crm-eval rating ORDERS [--rules FILE]`: weighted score and grade per customer.

use anyhow::Result;

use crate::cli::Settings;
use crate::error::usage;
use crate::input::schema::Role;
use crate::input::values::format_days;
use crate::load::{load_customer_ids, load_ledger, require_purchases, OrdersArgs};
use crate::metrics::rating::{self, RatingRules, DEFAULT_RULES};
use crate::output::{self, note};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: OrdersArgs,

    /// Customers export: customers in it without a purchase are rated too (score 0).
    #[arg(long, value_name = "FILE")]
    pub customers: Option<String>,

    /// Rating rules (TOML; default: the built-in rules, the same as examples/rating.toml).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<String>,

    /// One row per grade: cut-off, customers, share.
    #[arg(long)]
    pub summary: bool,
}

/// The rules of `--rules FILE`, or the built-in ones; a bad file is a usage error (shared with
/// `sql rating`).
pub fn load_rules(path: Option<&str>) -> Result<RatingRules> {
    Ok(match path {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| usage(format!("--rules {path}: {e}")))?;
            RatingRules::parse(&text).map_err(|e| usage(format!("{path}: {e}")))?
        }
        None => RatingRules::parse(DEFAULT_RULES)
            .map_err(|e| usage(format!("built-in rating rules: {e}")))?,
    })
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let rules = load_rules(args.rules.as_deref())?;
    let (orders, ledger) = load_ledger(&args.input, &[Role::Margin, Role::Cost], settings)?;
    // With no purchase and no customers file there is nobody to rate: an empty table would
    // pass for a result.
    if args.customers.is_none() {
        require_purchases(&orders, &ledger.stats, ledger.as_of)?;
    }
    let ids_owned = load_customer_ids(args.customers.as_deref(), settings)?;
    let ids: Option<Vec<&str>> = ids_owned
        .as_ref()
        .map(|v| v.iter().map(String::as_str).collect());
    let watch = crate::output::progress::Stopwatch::new();
    let result = rating::rating(&ledger, ids.as_deref(), &rules)
        .map_err(|e| anyhow::anyhow!("{}: {e}", orders.display))?;
    watch.lap("rating scores");
    let out = &settings.output;
    note(
        out,
        format!(
            "{} customers rated as of {}",
            result.customers.height(),
            format_days(result.as_of)
        ),
    );
    if args.summary {
        output::emit(&rating::grade_summary(&result.customers, &rules)?, out)
    } else {
        output::emit(&result.customers, out)
    }
}
