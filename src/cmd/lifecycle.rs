//! `crm-eval lifecycle ORDERS [--customers FILE]`: the stage of each customer, a per-stage
//! summary, or churn and retention rates per period.

use anyhow::Result;

use crate::day::Day;
use crate::error::usage;
use crate::load::groups::{parse_by, ByArgs, CustomerGroups};
use crate::load::owners::{CustomerColumns, ListArgs};
use crate::load::range::{with_range_columns, RangeArgs, Ranged};
use crate::load::{
    load_customer_ids, load_ledger, load_ledger_in_range, parse_as_of, partitioned,
    require_purchases, OrdersArgs,
};
use crate::metrics::lifecycle::{self, LifecycleOptions};
use crate::metrics::periods::Period;
use crate::output::{self, note, OutputOptions};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: OrdersArgs,

    /// Customers export: customers in it without a purchase are `potential`.
    #[arg(long, value_name = "FILE")]
    pub customers: Option<String>,

    #[command(flatten)]
    pub stages: StageArgs,

    /// Read the orders in pieces and build the ledger a partition of customers at a time, so
    /// that memory stays under about this size (e.g. 4GiB; docs/metrics.md "Bounded memory";
    /// --rates not with --by).
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<partitioned::MemoryLimit>,

    #[command(flatten)]
    pub owners: ListArgs,

    #[command(flatten)]
    pub dates: RangeArgs,

    /// One row per stage: customers and share.
    #[arg(long, conflicts_with = "rates")]
    pub summary: bool,

    /// With --summary or --rates: one table per group of these customers-file columns (role or
    /// header, e.g. region,industry), then `all` (needs --customers; with --summary, `--by
    /// owner` alone groups by the current owner, docs/metrics.md "Current owner", and needs none).
    #[arg(long, value_name = "COLUMN[,COLUMN]")]
    pub by: Option<String>,

    /// Churn and retention rates per complete period instead of stages.
    #[arg(long)]
    pub rates: bool,

    /// Period for --rates.
    #[arg(long, value_enum, default_value = "month")]
    pub period: Period,
}

/// The thresholds of the stages (docs/metrics.md "Lifecycle"), shared by `lifecycle` and `sql
/// lifecycle|lifecycle-rates`.
#[derive(Debug, clap::Args)]
pub struct StageArgs {
    /// Days without a purchase after which a customer is churned [default: 180].
    #[arg(long, value_name = "DAYS")]
    pub churn_days: Option<i64>,

    /// A first purchase at most this many days ago makes a customer new.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub new_days: i64,

    /// Purchases that make an active customer loyal.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub loyal_orders: i64,

    /// At risk when the days since the last purchase exceed this many typical gaps.
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    pub at_risk_factor: f64,
}

impl StageArgs {
    /// The options, or a usage error.
    pub fn options(&self) -> Result<LifecycleOptions> {
        let churn_days = self
            .churn_days
            .unwrap_or(LifecycleOptions::default().churn_days);
        if churn_days <= 0
            || self.new_days < 0
            || self.loyal_orders < 1
            || self.at_risk_factor.is_nan()
            || self.at_risk_factor <= 0.0
        {
            return Err(usage(
                "--churn-days must be above 0, --new-days 0 or more, --loyal-orders 1 or more, --at-risk-factor above 0",
            ));
        }
        Ok(LifecycleOptions {
            churn_days,
            new_days: self.new_days,
            loyal_orders: self.loyal_orders,
            at_risk_factor: self.at_risk_factor,
        })
    }
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let opts = args.stages.options()?;
    if args.by.is_some() && !(args.rates || args.summary) {
        return Err(usage("--by: groups a summary: pass --summary or --rates"));
    }
    if args.rates {
        if args.by.is_some() && args.customers.is_none() {
            return Err(usage(
                "--rates --by: customers-file columns need --customers FILE",
            ));
        }
        return rates(&args, &opts, settings);
    }
    if args.dates.given() {
        return Err(usage(
            "--from/--to/--range count the periods of --rates: pass --rates (the stages are a state as of --as-of)",
        ));
    }
    let ids_owned = load_customer_ids(args.customers.as_deref(), settings)?;
    let ids: Option<Vec<&str>> = ids_owned
        .as_ref()
        .map(|v| v.iter().map(String::as_str).collect());
    let by_owner = args.by.as_deref() == Some(crate::load::owners::OWNER);
    let mut columns = CustomerColumns::shown(!args.summary || by_owner);
    let result = match partitioned::chosen_limit(args.memory_limit, &args.input.orders, settings)? {
        None => {
            let (orders, ledger) = load_ledger(&args.input, columns.order_roles(), settings)?;
            columns.add_purchases(&ledger);
            // Without a purchase only a customers file gives anybody a stage (potential).
            if args.customers.is_none() {
                require_purchases(&orders, &ledger.stats, ledger.as_of)?;
            }
            let watch = crate::diag::Stopwatch::new();
            let result = lifecycle::lifecycle(&ledger, ids.as_deref(), &opts)?;
            watch.lap("lifecycle stages");
            result
        }
        Some(limit) => {
            partitioned_stages(&args, limit, ids.as_deref(), &opts, &mut columns, settings)?
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
            "{} customers as of {}",
            result.customers.height(),
            result.as_of
        ),
    );
    let by = ByArgs {
        customers: args.customers.clone(),
        by: args.by.clone(),
    };
    if let Some(groups) = by.load(Some((&columns, &result.customers)), settings)? {
        let table = groups.summarise(&result.customers, settings, lifecycle::stage_summary_of)?;
        output::emit(&table, out)
    } else if args.summary {
        output::emit(&lifecycle::stage_summary(&result)?, out)
    } else {
        output::emit(&columns.top(columns.attach(result.customers)?), out)
    }
}

/// `--rates`: in memory, or a partition of customers at a time.
fn rates(args: &Args, opts: &LifecycleOptions, settings: &Settings) -> Result<()> {
    let limit = partitioned::ungrouped_limit(
        args.memory_limit,
        args.by.is_some(),
        "lifecycle --rates",
        &args.input.orders,
        settings,
    )?;
    let range = args.dates.parse()?;
    if let Some(limit) = limit {
        return partitioned_rates(args, limit, opts.churn_days, range.as_ref(), settings);
    }
    let (orders, ledger, span) = load_ledger_in_range(&args.input, &[], range.as_ref(), settings)?;
    require_purchases(&orders, &ledger.stats, ledger.as_of)?;
    let out = &settings.output;
    let watch = crate::diag::Stopwatch::new();
    let from = span.map(|s| s.from);
    let mut table = match (&args.by, &args.customers) {
        (Some(by), Some(path)) => CustomerGroups::load(path, &parse_by(by)?, settings)?
            .summarise_codes(&ledger, settings, |codes| {
                lifecycle::rates_of(&ledger, codes, args.period, opts.churn_days, from)
            })?,
        _ => {
            let buyers: Vec<usize> = ledger.buyers().collect();
            lifecycle::rates_of(&ledger, &buyers, args.period, opts.churn_days, from)?
        }
    };
    watch.lap("lifecycle rates");
    note_rates(&table, ledger.as_of, opts.churn_days, out);
    if let (Some(r), Some(span)) = (&range, span) {
        if table.height() == 0 {
            return Err(r.nothing_in(span, "complete period", &orders.display));
        }
        table = with_range_columns(table, span)?;
    }
    output::emit(&table, out)
}

/// The stages a partition of customers at a time: each partition's buyers (ID, first and last
/// purchase day, purchases) are collected, then staged at once, so that the population's typical
/// gap is the median over every repeat buyer, as in memory.
fn partitioned_stages(
    args: &Args,
    limit: partitioned::MemoryLimit,
    known: Option<&[&str]>,
    opts: &LifecycleOptions,
    columns: &mut CustomerColumns,
    settings: &Settings,
) -> Result<lifecycle::Lifecycle> {
    let run = partitioned::each_partition(
        &args.input,
        limit,
        columns.order_roles(),
        settings,
        |ledger| {
            let b = ledger.buyer_summary();
            let ids: Vec<String> = b.codes.iter().map(|&c| ledger.id(c).to_string()).collect();
            Ok((ids, b.first, b.last, b.purchases))
        },
    )?;
    if args.customers.is_none() {
        require_purchases(&run.info, &run.stats, run.as_of)?;
    }
    columns.add_purchase_owners(run.purchase_owners);
    let (mut ids, mut first, mut last, mut purchases) = (vec![], vec![], vec![], vec![]);
    for (i, f, l, p) in run.results {
        ids.extend(i);
        first.extend(f);
        last.extend(l);
        purchases.extend(p);
    }
    let buyers = lifecycle::BuyerDays {
        ids: &ids,
        first: &first,
        last: &last,
        purchases: &purchases,
    };
    let result = lifecycle::stage_buyers(&buyers, run.as_of, known, opts)?;
    Ok(lifecycle::Lifecycle {
        after_as_of: run.stats.rows_after_as_of,
        ..result
    })
}

/// `--rates` a partition of customers at a time: each partition's span counts (from its own
/// first period; earlier spans count nobody) add up by span.
fn partitioned_rates(
    args: &Args,
    limit: partitioned::MemoryLimit,
    churn_days: i64,
    range: Option<&Ranged>,
    settings: &Settings,
) -> Result<()> {
    // A range relative to the data's own as_of would need the data read twice.
    let input = match range {
        Some(r) if r.range.fixed_as_of().is_none() => {
            return Err(usage(format!(
                "{} with --memory-limit: name the days (--from/--to, or a span such as 2024-Q3)",
                r.flags
            )))
        }
        Some(r) => crate::load::OrdersArgs {
            orders: args.input.orders.clone(),
            as_of: Ranged::load_as_of(Some(r), parse_as_of(&args.input.as_of)?)?
                .map(|d| d.to_string()),
        },
        None => crate::load::OrdersArgs {
            orders: args.input.orders.clone(),
            as_of: args.input.as_of.clone(),
        },
    };
    let from = range.map(|r| r.range.span(Day::default()).from);
    let run = partitioned::each_partition(&input, limit, &[], settings, |ledger| {
        let buyers: Vec<usize> = ledger.buyers().collect();
        let spans = lifecycle::spans_of(ledger, &buyers, args.period, from);
        Ok(lifecycle::rate_counts(ledger, &buyers, &spans, churn_days).unwrap_or_default())
    })?;
    require_purchases(&run.info, &run.stats, run.as_of)?;
    let mut by_span: std::collections::BTreeMap<i32, lifecycle::RateCounts> = Default::default();
    for counts in run.results.into_iter().flatten() {
        match by_span.get_mut(&counts.first) {
            Some(total) => {
                total.at_start += counts.at_start;
                total.retained += counts.retained;
                total.won += counts.won;
            }
            None => {
                by_span.insert(counts.first, counts);
            }
        }
    }
    let counts: Vec<lifecycle::RateCounts> = by_span.into_values().collect();
    let mut table = lifecycle::rates_table(&counts)?;
    note_rates(&table, run.as_of, churn_days, &settings.output);
    if let Some(r) = range {
        let span = r.range.span(run.as_of);
        if table.height() == 0 {
            return Err(r.nothing_in(span, "complete period", &run.info.display));
        }
        table = with_range_columns(table, span)?;
    }
    output::emit(&table, &settings.output)
}

fn note_rates(
    table: &polars::prelude::DataFrame,
    as_of: Day,
    churn_days: i64,
    out: &OutputOptions,
) {
    note(
        out,
        format!(
            "{} complete periods as of {}; active = a purchase in the last {} days",
            table.height(),
            as_of,
            churn_days
        ),
    );
}
