//! `crm-eval pool --events E --followups F --orders O [--rules FILE]`: pool-rule checks as of a
//! date — customers due back, owners over their limits, reclaims inside the cooldown, the pool
//! ranked for re-allocation, and pool health.

use anyhow::Result;

use crate::error::usage;
use crate::load::groups::{split_by, CustomerGroups};
use crate::load::ownership::{load, Files};
use crate::load::pool_rules;
use crate::metrics::conversion;
use crate::metrics::pool::HealthGroups;
use crate::output::{self, note};
use crate::settings::Settings;

pub use crate::metrics::pool::Section;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub files: Files,

    /// Pool rules (TOML; default: the built-in rules, the same as examples/pool-rules.toml).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<String>,

    /// Which tables to show (default: all, one after another; one sheet each in xlsx).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub show: Vec<Section>,

    /// Conversion window for the claim-to-win rate, in days.
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = crate::settings::days)]
    pub window: i32,

    /// Group the health table by pool and/or customers-file columns (role or header: region,
    /// industry, 标签 …; needs --customers), e.g. region or pool,region. A multi-valued cell
    /// (a;b) counts the customer in each value.
    #[arg(long, value_name = "GROUP[,GROUP]", default_value = "pool")]
    pub by: String,
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let rules = pool_rules(args.rules.as_deref())?;
    if args.files.followups.is_none() {
        return Err(usage(
            "--followups FILE is required (the no-follow-up rule and recent activity use it)",
        ));
    }
    // true: the pool; false: the customers-file columns.
    let (by, columns) = split_by(
        &args.by,
        |name| (name == "pool").then_some(true),
        false,
        args.files.customers.is_some(),
        "pool",
    )?;
    if args.by != "pool" && !args.show.is_empty() && !args.show.contains(&Section::Health) {
        return Err(usage(
            "--by groups the health table: add --show health (or leave --show out)",
        ));
    }
    let data = load(&args.files, true, settings)?;
    let out = &settings.output;
    let followups = data.followups.as_deref().unwrap_or(&[]);
    let outcomes = conversion::outcomes(
        &data.own,
        &data.orders,
        Some(followups),
        args.window,
        data.as_of,
    );
    let mut report = data.pool_report(followups, &outcomes, &rules)?;
    if by != [true] {
        let customer = match &args.files.customers {
            Some(path) if !columns.is_empty() => {
                Some(CustomerGroups::load(path, &columns, settings)?.by_index(&data.customers))
            }
            _ => None,
        };
        report.health = data.pool_health(
            followups,
            &outcomes,
            &HealthGroups {
                pool: by.contains(&true),
                customer: customer.as_ref(),
            },
        )?;
    }
    note(
        out,
        format!(
            "pool as of {} (start of day): {} due back or due within {} days, {} owners, {} reclaims inside the {}-day cooldown, {} customers in the pool",
            data.as_of,
            report.due.height(),
            rules.recycle.warn_days,
            report.owners.height(),
            report.reclaims.height(),
            rules.cooldown.reclaim_days,
            report.priority.height()
        ),
    );
    let all = [
        (Section::Due, "due", &report.due),
        (Section::Owners, "owners", &report.owners),
        (Section::Reclaims, "reclaims", &report.reclaims),
        (Section::Priority, "priority", &report.priority),
        (Section::Health, "health", &report.health),
    ];
    let sheets: Vec<(&str, &polars::prelude::DataFrame)> = all
        .iter()
        .filter(|(s, _, _)| args.show.is_empty() || args.show.contains(s))
        .map(|(_, name, df)| (*name, *df))
        .collect();
    output::emit_sheets(&sheets, args.show.is_empty().then_some("due"), out)
}
