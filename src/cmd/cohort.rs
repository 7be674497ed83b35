//! `crm-eval cohort ORDERS`: the cohort matrix by first-purchase period.

use anyhow::Result;

use crate::cli::Settings;
use crate::input::values::format_days;
use crate::load::groups::ByArgs;
use crate::load::{load_ledger, require_purchases, OrdersArgs};
use crate::metrics::cohort::{self, CohortMetric};
use crate::metrics::periods::Period;
use crate::output::{self, note};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: OrdersArgs,

    /// Cohort and cell period.
    #[arg(long, value_enum, default_value = "month")]
    pub period: Period,

    /// Cell value: share of the cohort buying, number buying, or net revenue.
    #[arg(long, value_enum, default_value = "retention")]
    pub metric: CohortMetric,

    #[command(flatten)]
    pub groups: ByArgs,
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let (orders, ledger) = load_ledger(&args.input, &[], settings)?;
    require_purchases(&orders, &ledger.stats, ledger.as_of)?;
    let watch = crate::output::progress::Stopwatch::new();
    let result = cohort::cohorts(&ledger, args.period, args.metric)?;
    watch.lap("cohort matrix");
    if let Some(groups) = args.groups.load(settings)? {
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
    let out = &settings.output;
    note(
        out,
        format!(
            "{} cohorts as of {}; cells after the last observed period are empty",
            result.matrix.height(),
            format_days(result.as_of)
        ),
    );
    output::emit(&result.matrix, out)
}
