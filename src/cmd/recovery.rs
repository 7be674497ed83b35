//! `crm-eval recovery`: win-back success of customers returned to the pool (--events), or of
//! churned customers (--churn-days, no event log).

use anyhow::Result;

use crate::error::usage;
use crate::load::groups::{split_by, CustomerGroups};
use crate::load::ownership::{load_in_range, Files};
use crate::load::range::{with_range_columns, RangeArgs};
use crate::metrics::recovery::{self, RecoveryGroup};
use crate::output::{self, note};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The orders export (the same as --orders; either form).
    #[arg(value_name = "ORDERS", conflicts_with = "orders")]
    pub orders_positional: Option<String>,

    #[command(flatten)]
    pub files: Files,

    /// Days after the recovery start (next assignment, or churn day) in which a purchase
    /// recovers the customer; also the loyalty window after it.
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = crate::settings::days)]
    pub window: i32,

    /// Without an event log: a customer churns this many days after a purchase with no next one.
    #[arg(long, value_name = "DAYS")]
    pub churn_days: Option<i32>,

    /// Group by owner (recovering), previous-owner, reason, pool, month, or any customers-file
    /// column (role or header, with --customers); comma-separated, e.g. owner,region.
    #[arg(long, value_name = "GROUP[,GROUP]", default_value = "owner")]
    pub by: String,

    #[command(flatten)]
    pub dates: RangeArgs,
}

pub fn run(mut args: Args, settings: &Settings) -> Result<()> {
    if let Some(p) = args.orders_positional.take() {
        args.files.orders = Some(p);
    }
    let churn = match (args.churn_days, &args.files.events) {
        (Some(d), None) if d >= 1 => Some(d),
        (Some(_), None) => return Err(usage("--churn-days: expected 1 or more days")),
        (Some(_), Some(_)) => {
            return Err(usage(
                "give either --events (recycled customers) or --churn-days (churned customers), not both",
            ))
        }
        (None, None) => {
            return Err(usage(
                "recovery needs --events FILE (customers recycled to the pool) or --churn-days N",
            ))
        }
        (None, Some(_)) => None,
    };
    let (by, columns) = split_by(
        &args.by,
        RecoveryGroup::from_name,
        RecoveryGroup::Customer,
        args.files.customers.is_some(),
        "owner, previous-owner, reason, pool, month",
    )?;
    let range = args.dates.parse()?;
    let (mut data, span) = load_in_range(&args.files, churn.is_none(), range.as_ref(), settings)?;
    let customer_keys = match (&args.files.customers, columns.is_empty()) {
        (Some(path), false) => {
            Some(CustomerGroups::load(path, &columns, settings)?.by_index(&data.customers))
        }
        _ => None,
    };
    let out = &settings.output;
    let mut episodes = match churn {
        Some(days) => {
            let churned = data.strings.id("churned");
            recovery::from_churn(&data.orders, days, data.as_of, churned)
        }
        None => recovery::from_events(&data.own, data.as_of),
    };
    // A range counts the returns (churn days) in it, as check's periods do.
    if let (Some(r), Some(span)) = (&range, span) {
        recovery::began_from(&mut episodes, span.from);
        if episodes.is_empty() {
            let file = args
                .files
                .events
                .as_deref()
                .or(args.files.orders.as_deref());
            return Err(r.nothing_in(
                span,
                if churn.is_some() {
                    "churn episode"
                } else {
                    "return to the pool"
                },
                file.unwrap_or("the data"),
            ));
        }
    }
    let outcomes = recovery::outcomes(&episodes, &data.orders, args.window, data.as_of);
    note(
        out,
        format!(
            "{} {} as of {}; recovered = a purchase within {} days of {}",
            episodes.len(),
            if churn.is_some() {
                "churn episodes"
            } else {
                "returns to the pool"
            },
            data.as_of,
            args.window,
            if churn.is_some() {
                "the churn day"
            } else {
                "the next assignment or claim"
            }
        ),
    );
    let mut table = recovery::table(
        &episodes,
        &outcomes,
        &by,
        &data.strings,
        customer_keys.as_ref(),
        churn.is_none(),
    )?;
    if let Some(span) = span {
        table = with_range_columns(table, span)?;
    }
    output::emit(&table, out)
}
