//! `crm-eval cohort ORDERS`: the cohort matrix by first-purchase period.

use anyhow::Result;

use crate::day::Day;
use crate::error::usage;
use crate::load::groups::ByArgs;
use crate::load::range::{with_range_columns, RangeArgs, Ranged};
use crate::load::{load_ledger, load_ledger_in_range, partitioned, require_purchases, OrdersArgs};
use crate::metrics::cohort::{self, CohortMetric};
use crate::metrics::periods::Period;
use crate::output::{self, note};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: OrdersArgs,

    /// Read the orders in pieces and count a partition of customers at a time, so that memory
    /// stays under about this size (e.g. 4GiB; docs/metrics.md "Bounded memory"; not with --by).
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<partitioned::MemoryLimit>,

    /// Cohort and cell period.
    #[arg(long, value_enum, default_value = "month")]
    pub period: Period,

    /// Cell value: share of the cohort buying, number buying, or net revenue.
    #[arg(long, value_enum, default_value = "retention")]
    pub metric: CohortMetric,

    #[command(flatten)]
    pub groups: ByArgs,

    #[command(flatten)]
    pub dates: RangeArgs,
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let limit = partitioned::ungrouped_limit(
        args.memory_limit,
        args.groups.by.is_some(),
        "cohort",
        &args.input.orders,
        settings,
    )?;
    let range = args.dates.parse()?;
    if let Some(r) = &range {
        if limit.is_some() || args.groups.by.is_some() {
            return Err(usage(format!(
                "{}: a cohort range is read in memory and without --by groups for now",
                r.flags
            )));
        }
        return ranged(&args, r, settings);
    }
    if let Some(limit) = limit {
        // The cells of each partition of customers add up; the matrix is made once.
        let run = partitioned::each_partition(&args.input, limit, &[], settings, |ledger| {
            let buyers: Vec<usize> = ledger.buyers().collect();
            Ok(cohort::CohortCells::of(
                ledger,
                &buyers,
                args.period,
                args.metric,
            ))
        })?;
        require_purchases(&run.info, &run.stats, run.as_of)?;
        let mut cells = cohort::CohortCells::default();
        for part in run.results {
            cells.add(part);
        }
        let matrix = cohort::matrix(cells, args.period, args.metric, run.as_of, None)?;
        return emit_matrix(&matrix, run.as_of, settings);
    }
    let (orders, ledger) = load_ledger(&args.input, &[], settings)?;
    require_purchases(&orders, &ledger.stats, ledger.as_of)?;
    let watch = crate::diag::Stopwatch::new();
    let result = cohort::cohorts(&ledger, args.period, args.metric)?;
    watch.lap("cohort matrix");
    if let Some(groups) = args.groups.load(None, settings)? {
        // The earliest cohort of all customers fixes the period columns of every group.
        let since = ledger
            .buyers()
            .filter_map(|c| ledger.first_purchase(c))
            .min()
            .map(|d| args.period.index(d));
        let table = groups.summarise_codes(&ledger, settings, |codes| {
            Ok(cohort::cohorts_of(&ledger, codes, args.period, args.metric, since)?.matrix)
        })?;
        return output::emit(&table, &settings.output);
    }
    emit_matrix(&result.matrix, result.as_of, settings)
}

/// The cohorts whose first purchase falls in the range (docs/metrics.md, "Periods"), followed up
/// to its end (the analysis date), with `from` and `to` columns.
fn ranged(args: &Args, r: &Ranged, settings: &Settings) -> Result<()> {
    let (orders, ledger, span) = load_ledger_in_range(&args.input, &[], Some(r), settings)?;
    let Some(span) = span else {
        return Ok(());
    };
    let joined: Vec<usize> = ledger
        .buyers()
        .filter(|&c| ledger.first_purchase(c).is_some_and(|d| d >= span.from))
        .collect();
    if joined.is_empty() {
        return Err(r.nothing_in(span, "first purchase", &orders.display));
    }
    let result = cohort::cohorts_of(&ledger, &joined, args.period, args.metric, None)?;
    let matrix = with_range_columns(result.matrix, span)?;
    emit_matrix(&matrix, result.as_of, settings)
}

fn emit_matrix(matrix: &polars::prelude::DataFrame, as_of: Day, settings: &Settings) -> Result<()> {
    let out = &settings.output;
    note(
        out,
        format!(
            "{} cohorts as of {}; cells after the last observed period are empty",
            matrix.height(),
            as_of
        ),
    );
    output::emit(matrix, out)
}
