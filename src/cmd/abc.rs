//! `crm-eval abc ORDERS`: ABC (Pareto) tiers per customer, or per tier with `--summary`.

use anyhow::Result;

use crate::error::usage;
use crate::input::schema::Role;
use crate::load::groups::{parse_by, ByArgs};
use crate::load::owners::{CustomerColumns, ListArgs};
use crate::load::{load_ledger, note_without_purchase, partitioned, require_purchases, OrdersArgs};
use crate::metrics::abc::{self, AbcBasis, AbcOptions};
use crate::output::{self, note};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: OrdersArgs,

    /// Read the orders in pieces and build the ledger a partition of customers at a time, so
    /// that memory stays under about this size (e.g. 4GiB; docs/metrics.md "Bounded memory").
    /// Uses temporary files (TMPDIR) about the size of the needed columns.
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<partitioned::MemoryLimit>,

    /// Rank by `revenue` (net revenue, the default) or `margin` (margin column, or amount −
    /// cost); any other name is a customers-file column to summarise by, with --summary and
    /// --customers (e.g. --by margin,region).
    #[arg(long, value_name = "revenue|margin|COLUMN[,COLUMN]")]
    pub by: Option<String>,

    /// Customers export, for --by COLUMN.
    #[arg(long, value_name = "FILE")]
    pub customers: Option<String>,

    #[command(flatten)]
    pub thresholds: Thresholds,

    #[command(flatten)]
    pub owners: ListArgs,

    /// One row per tier: customers, share of customers, value, share of value.
    #[arg(long)]
    pub summary: bool,
}

/// `--thresholds A,B`, shared by `abc` and `sql abc`.
#[derive(Debug, clap::Args)]
pub struct Thresholds {
    /// Cumulative-share limits of tiers A and B in percent (read to 0.01 %).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "A,B",
        default_value = "80,95"
    )]
    pub thresholds: Vec<f64>,
}

impl Thresholds {
    /// The limits as fractions, or a usage error.
    pub fn fractions(&self) -> Result<(f64, f64)> {
        let values = &self.thresholds;
        let [a, b] = values[..] else {
            return Err(usage(format!(
                "--thresholds {values:?}: expected two percentages, A and B, e.g. 80,95"
            )));
        };
        if !(a > 0.0 && a < b && b <= 100.0) {
            return Err(usage(format!(
                "--thresholds {a},{b}: expected 0 < A < B <= 100 (percent of value)"
            )));
        }
        Ok((a / 100.0, b / 100.0))
    }
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let (a, b) = args.thresholds.fractions()?;
    // `revenue`/`margin` choose what is ranked; other names are groups.
    let mut basis = AbcBasis::Revenue;
    let mut group_by = Vec::new();
    if let Some(by) = &args.by {
        for name in parse_by(by)? {
            match name.to_ascii_lowercase().as_str() {
                "revenue" => basis = AbcBasis::Revenue,
                "margin" => basis = AbcBasis::Margin,
                _ => group_by.push(name),
            }
        }
    }
    if !group_by.is_empty() && !args.summary {
        return Err(usage(format!(
            "--by {}: grouping needs --summary (and --customers FILE for a customers-file column)",
            group_by.join(",")
        )));
    }
    let groups = ByArgs {
        customers: args.customers.clone(),
        by: (!group_by.is_empty()).then(|| group_by.join(",")),
    };
    let opts = AbcOptions { basis, a, b };
    let by_owner = group_by == [crate::load::owners::OWNER];
    let mut columns = CustomerColumns::shown(!args.summary || by_owner);
    let mut roles = vec![Role::Margin, Role::Cost];
    roles.extend(columns.order_roles());
    let (result, stats) =
        match partitioned::chosen_limit(args.memory_limit, &args.input.orders, settings)? {
            None => {
                let (orders, ledger) = load_ledger(&args.input, &roles, settings)?;
                require_purchases(&orders, &ledger.stats, ledger.as_of)?;
                let watch = crate::diag::Stopwatch::new();
                columns.add_purchases(&ledger);
                let result = abc::abc(&ledger, &opts)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", orders.display))?;
                watch.lap("abc tiers");
                (result, ledger.stats)
            }
            Some(limit) => {
                // Values a partition of customers at a time; the tiers rank everyone at once.
                let run =
                    partitioned::each_partition(&args.input, limit, &roles, settings, |ledger| {
                        let (ids, values) = abc::customer_values(ledger, &opts)
                            .map_err(|e| anyhow::anyhow!("{}: {e}", args.input.orders))?;
                        let ids: Vec<String> = ids.into_iter().map(str::to_string).collect();
                        Ok((ids, values))
                    })?;
                require_purchases(&run.info, &run.stats, run.as_of)?;
                columns.add_purchase_owners(run.purchase_owners);
                let (ids, values): (Vec<Vec<String>>, Vec<Vec<f64>>) =
                    run.results.into_iter().unzip();
                let ids: Vec<&str> = ids.iter().flatten().map(String::as_str).collect();
                let values: Vec<f64> = values.into_iter().flatten().collect();
                let watch = crate::diag::Stopwatch::new();
                let result =
                    abc::rank(&ids, &values, run.as_of, run.stats.rows_after_as_of, &opts)?;
                watch.lap("abc tiers");
                (result, run.stats)
            }
        };
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
            "{} customers ranked by {} as of {}",
            result.customers.height(),
            if opts.basis == AbcBasis::Margin {
                "margin"
            } else {
                "net revenue"
            },
            result.as_of
        ),
    );
    note_without_purchase(out, &stats);
    if let Some(groups) = groups.load(Some((&columns, &result.customers)), settings)? {
        let table = groups.summarise(&result.customers, settings, abc::tier_summary_of)?;
        output::emit(&table, out)
    } else if args.summary {
        output::emit(&abc::tier_table(&result.tiers)?, out)
    } else {
        output::emit(&columns.top(columns.attach(result.customers)?), out)
    }
}
