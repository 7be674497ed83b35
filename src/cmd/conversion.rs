//! `crm-eval conversion --events E --orders O`: conversion of ownership spells within a window,
//! per owner, source or assignment cohort, with a chi-square test of whether owners differ.

use anyhow::Result;

use crate::load::groups::{split_by, CustomerGroups};
use crate::load::ownership::{load_in_range, Files};
use crate::load::range::{with_range_columns, RangeArgs};
use crate::metrics::conversion::{self, ConversionGroup, Keys};
use crate::output::{self, note};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub files: Files,

    /// Days after a spell starts in which a purchase counts as its conversion.
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = crate::settings::days)]
    pub window: i32,

    /// Group by owner, cohort (month the spell started) and any customers-file column (role or
    /// header: source, region, industry, 标签 …; needs --customers); several comma-separated,
    /// e.g. owner,region. A multi-valued cell (a;b) counts the spell in each value.
    #[arg(long, value_name = "GROUP[,GROUP]", default_value = "owner")]
    pub by: String,

    #[command(flatten)]
    pub dates: RangeArgs,
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let (by, columns) = split_by(
        &args.by,
        |name| match name {
            "owner" => Some(ConversionGroup::Owner),
            "cohort" => Some(ConversionGroup::Cohort),
            _ => None,
        },
        ConversionGroup::Customer,
        args.files.customers.is_some(),
        "owner, cohort",
    )?;
    let range = args.dates.parse()?;
    let (data, span) = load_in_range(&args.files, true, range.as_ref(), settings)?;
    let customer_keys = match (&args.files.customers, columns.is_empty()) {
        (Some(path), false) => {
            let groups = CustomerGroups::load(path, &columns, settings)?;
            Some(groups.by_index(&data.customers))
        }
        _ => None,
    };
    let watch = crate::diag::Stopwatch::new();
    let out = &settings.output;
    let outcomes = conversion::outcomes(
        &data.own,
        &data.orders,
        data.followups.as_deref(),
        args.window,
        data.as_of,
    );
    // A range counts the spells started in it (as check's periods do).
    let ranged = match (&range, span) {
        (Some(r), Some(span)) => {
            let counted = conversion::started_from(&data.own.spells, &outcomes, span.from);
            if counted.0.is_empty() {
                let events = args.files.events.as_deref().unwrap_or("the events");
                return Err(r.nothing_in(span, "spell started", events));
            }
            Some(counted)
        }
        _ => None,
    };
    let (spells, outcomes) = match &ranged {
        Some((spells, outcomes)) => (spells.as_slice(), outcomes.as_slice()),
        None => (data.own.spells.as_slice(), outcomes.as_slice()),
    };
    let keys = Keys {
        strings: &data.strings,
        customer: customer_keys.as_ref(),
    };
    let mut table = conversion::table(spells, outcomes, &by, &keys, data.followups.is_some())?;
    if let Some(span) = span {
        table = with_range_columns(table, span)?;
    }
    watch.lap("conversion outcomes and table");
    note(
        out,
        format!(
            "{} ownership spells as of {}; converted = a purchase within {} days of the spell's start while held; spells younger than that are immature",
            spells.len(),
            data.as_of,
            args.window
        ),
    );
    output::emit(&table, out)?;
    // The test line comes after the table, as the last thing on stderr.
    match conversion::owner_test(spells, outcomes) {
        Some(t) => note(
            out,
            format!(
                "owners differ? Pearson chi-square {:.2} on {} df over {} owners' matured spells: {}{}",
                t.statistic,
                t.df,
                t.owners,
                t.p_text(),
                if t.small_cells > 0 {
                    format!(" ({} cells expect fewer than 5 spells: approximate)", t.small_cells)
                } else {
                    String::new()
                }
            ),
        ),
        None => note(
            out,
            "owners differ? no test: it needs two owners with matured spells, some converted and some not",
        ),
    }
    Ok(())
}
