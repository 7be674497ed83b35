//! `crm-eval rating ORDERS [--rules FILE]`: weighted score and grade per customer.

use anyhow::Result;

use crate::error::usage;
use crate::input::schema::Role;
use crate::load::owners::{CustomerColumns, ListArgs};
use crate::load::{load_customer_ids, load_ledger, partitioned, require_purchases, OrdersArgs};
use crate::metrics::rating::{self, RatingRules, DEFAULT_RULES};
use crate::output::{self, note};
use crate::settings::Settings;

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

    /// Read the orders in pieces and build the ledger a partition of customers at a time, so
    /// that memory stays under about this size (e.g. 4GiB; docs/metrics.md "Bounded memory").
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<partitioned::MemoryLimit>,

    #[command(flatten)]
    pub owners: ListArgs,
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
    let ids_owned = load_customer_ids(args.customers.as_deref(), settings)?;
    let ids: Option<Vec<&str>> = ids_owned
        .as_ref()
        .map(|v| v.iter().map(String::as_str).collect());
    let watch = crate::diag::Stopwatch::new();
    let mut columns = CustomerColumns::shown(!args.summary);
    let mut roles = vec![Role::Margin, Role::Cost];
    roles.extend(columns.order_roles());
    let result = match partitioned::chosen_limit(args.memory_limit, &args.input.orders, settings)? {
        None => {
            let (orders, ledger) = load_ledger(&args.input, &roles, settings)?;
            // With no purchase and no customers file there is nobody to rate: an empty table
            // would pass for a result.
            if args.customers.is_none() {
                require_purchases(&orders, &ledger.stats, ledger.as_of)?;
            }
            columns.add_purchases(&ledger);
            rating::rating(&ledger, ids.as_deref(), &rules)
                .map_err(|e| anyhow::anyhow!("{}: {e}", orders.display))?
        }
        Some(limit) => {
            // The raw criteria a partition of customers at a time; normalised over everyone.
            let run =
                partitioned::each_partition(&args.input, limit, &roles, settings, |ledger| {
                    rating::raw_criteria(ledger, &rules)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", args.input.orders))
                })?;
            if args.customers.is_none() {
                require_purchases(&run.info, &run.stats, run.as_of)?;
            }
            columns.add_purchase_owners(run.purchase_owners);
            let mut all_ids = Vec::new();
            let mut raw: Vec<(rating::Criterion, Vec<f64>)> = rules
                .weights
                .iter()
                .map(|(c, _)| (*c, Vec::new()))
                .collect();
            for (part_ids, part_raw) in run.results {
                all_ids.extend(part_ids);
                for ((_, all), (_, values)) in raw.iter_mut().zip(part_raw) {
                    all.extend(values);
                }
            }
            rating::rate(all_ids, raw, run.as_of, ids.as_deref(), &rules)?
        }
    };
    watch.lap("rating scores");
    columns.load_files(
        args.customers.as_deref(),
        &args.owners,
        result.as_of,
        settings,
    )?;
    let out = &settings.output;
    note(
        out,
        format!(
            "{} customers rated as of {}",
            result.customers.height(),
            result.as_of
        ),
    );
    if args.summary {
        output::emit(&rating::grade_summary(&result.customers, &rules)?, out)
    } else {
        output::emit(&columns.top(columns.attach(result.customers)?), out)
    }
}
