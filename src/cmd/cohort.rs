//! `crm-eval cohort ORDERS`: the cohort matrix by first-purchase period.

use anyhow::Result;

use crate::cli::Settings;
use crate::input::values::format_days;
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
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let (orders, ledger) = load_ledger(&args.input, &[], settings)?;
    require_purchases(&orders, &ledger)?;
    let watch = crate::output::progress::Stopwatch::new();
    let result = cohort::cohorts(&ledger, args.period, args.metric)?;
    watch.lap("cohort matrix");
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
