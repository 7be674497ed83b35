//! `crm-eval funnel OPPORTUNITIES [--stage-history FILE] [--stages A,B,C] [--by owner,team,…]
//! [--teams FILE] [--customers FILE] [--open] [--stale-days N]`: the sales funnel of an
//! opportunities export — win rate, sales cycle, pipeline and velocity per group, and stage
//! conversion; `--open` lists the open deals with their age, staleness and weighted amount.

use anyhow::Result;

use crate::error::usage;
use crate::load::funnel::{load_pipeline, FunnelFiles, FunnelOptions};
use crate::load::groups::{split_by, CustomerGroups};
use crate::load::parse_as_of;
use crate::load::range::{load_in, with_range_columns, RangeArgs};
use crate::metrics::funnel::stages::StageWords;
use crate::metrics::funnel::{self, FunnelGroup, Outcome};
use crate::metrics::ownership::NONE;
use crate::metrics::GroupKeys;
use crate::output::{self, note};
use crate::settings::Settings;

pub use crate::metrics::funnel::Show;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Opportunities (deals, 商机) export: ID, stage and created date, and usually owner, account,
    /// amount, close date and a won/closed flag.
    #[arg(value_name = "OPPORTUNITIES")]
    pub opportunities: String,

    /// Stage history: opportunity ID, stage, date entered (long form), or HubSpot's
    /// `Date entered "<stage>"` columns.
    #[arg(long = "stage-history", alias = "history", value_name = "FILE")]
    pub history: Option<String>,

    /// The open stages in funnel order, comma-separated (closing stages such as 赢单 may be listed
    /// last and are recognised). Default: the config's [funnel] stages, the history's order, or a
    /// built-in list of common stages.
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    pub stages: Option<Vec<String>>,

    /// Group the summary and the stage table by owner, team, region, product, source, month
    /// and any customers-file column of the account (role or header: industry, 标签 …; needs
    /// --customers), comma-separated; an `all` row is added. A multi-valued cell (a;b) counts
    /// the opportunity in each value.
    #[arg(long, value_name = "GROUP[,GROUP]", default_value = "")]
    pub by: String,

    /// Teams file: owner, team, region (for --by team / region).
    #[arg(long, value_name = "FILE")]
    pub teams: Option<String>,

    /// Customers export with a region column (the account's region, for --by region).
    #[arg(long, value_name = "FILE")]
    pub customers: Option<String>,

    /// Which tables to show (default: summary, stages).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub show: Vec<Show>,

    /// Only the open opportunities (the same as --show open).
    #[arg(long)]
    pub open: bool,

    /// An open opportunity is stale after this many days without a stage change (default 30).
    #[arg(long, value_name = "DAYS")]
    pub stale_days: Option<i32>,

    /// Analysis date, YYYY-MM-DD (default: the day after the latest date in the files).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,

    #[command(flatten)]
    pub dates: RangeArgs,
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let cfg = &settings.config.funnel;
    let stale_days = args.stale_days.or(cfg.stale_days).unwrap_or(30);
    if stale_days < 1 {
        return Err(usage("--stale-days: expected 1 or more days"));
    }
    let (by, columns) = if args.by.trim().is_empty() {
        (Vec::new(), Vec::new())
    } else {
        split_by(
            &args.by,
            |name| <FunnelGroup as clap::ValueEnum>::from_str(name, true).ok(),
            FunnelGroup::Customer,
            args.customers.is_some(),
            "owner, team, region, product, source, month",
        )?
    };
    if by.len() > funnel::MAX_GROUPS || (1..by.len()).any(|i| by[..i].contains(&by[i])) {
        return Err(usage(
            "--by: each grouping once (owner, team, region, product, source, month, customers-file columns)",
        ));
    }
    if by.contains(&FunnelGroup::Team) && args.teams.is_none() {
        return Err(usage("--by team needs --teams FILE (owner, team)"));
    }
    if by.contains(&FunnelGroup::Region) && args.teams.is_none() && args.customers.is_none() {
        return Err(usage(
            "--by region needs --customers FILE (the account's region) or --teams FILE (the owner's)",
        ));
    }
    let stages = args.stages.clone().or_else(|| cfg.stages.clone());
    if let Some(list) = &stages {
        if list.iter().any(|s| s.trim().is_empty()) {
            return Err(usage("--stages: a stage name is empty"));
        }
    }
    let show = if args.open {
        vec![Show::Open]
    } else if args.show.is_empty() {
        vec![Show::Summary, Show::Stages]
    } else {
        args.show.clone()
    };
    let range = args.dates.parse()?;
    let opts = FunnelOptions {
        stages,
        words: StageWords::with(&cfg.won, &cfg.lost, &cfg.invalid),
        as_of: None,
        stage_from_history: false,
    };
    let files = FunnelFiles {
        opportunities: &args.opportunities,
        history: args.history.as_deref(),
        teams: args.teams.as_deref(),
        customers: args.customers.as_deref(),
    };
    let (mut pipeline, span) = load_in(
        range.as_ref(),
        parse_as_of(&args.as_of)?,
        settings,
        |as_of, settings| {
            let opts = FunnelOptions {
                as_of,
                ..opts.clone()
            };
            load_pipeline(&files, &opts, settings)
        },
        |p| p.as_of,
    )?;
    let out = &settings.output;
    // A range: the deals closed in it and those open at its end, as of the day after it.
    let span = match (&range, span) {
        (Some(r), Some(span)) => {
            pipeline = pipeline.counted_from(span.from);
            // Outside the data: no deal was created or closed in it.
            let inside = |d: i32| span.from <= d && d < span.to;
            if !pipeline
                .opportunities
                .iter()
                .any(|o| inside(o.created) || o.closed.is_some_and(inside))
            {
                return Err(r.nothing_in(span, "deal created or closed", &args.opportunities));
            }
            Some(span)
        }
        _ => None,
    };
    if let (Some(path), false) = (&args.customers, columns.is_empty()) {
        pipeline.customer_groups = Some(account_groups(&pipeline, path, &columns, settings)?);
    }
    let count = |o: Outcome| {
        pipeline
            .opportunities
            .iter()
            .filter(|x| x.outcome == o)
            .count()
    };
    note(
        out,
        format!(
            "{} opportunities as of {}: {} open, {} won, {} lost, {} invalid",
            pipeline.opportunities.len(),
            pipeline.as_of,
            count(Outcome::Open),
            count(Outcome::Won),
            count(Outcome::Lost),
            count(Outcome::Invalid)
        ),
    );
    let watch = crate::diag::Stopwatch::new();
    let mut tables = Vec::new();
    for s in &show {
        tables.push(match s {
            Show::Summary => ("summary", funnel::summary(&pipeline, &by)?),
            Show::Stages => ("stages", funnel::stage_table(&pipeline, &by)?),
            Show::Open => ("open", funnel::open_table(&pipeline, stale_days)?),
        });
    }
    watch.lap("funnel tables");
    if let Some(span) = span {
        for (_, table) in tables.iter_mut() {
            *table = with_range_columns(std::mem::take(table), span)?;
        }
    }
    let sheets: Vec<(&str, &polars::prelude::DataFrame)> =
        tables.iter().map(|(name, df)| (*name, df)).collect();
    output::emit_sheets(&sheets, args.show.is_empty().then_some("summary"), out)
}

/// The customers-file groups of each opportunity's account (docs/metrics.md, "Groups");
/// opportunities without an account, or with one missing from the file, are `(unknown)`,
/// counted on stderr.
fn account_groups(
    pipeline: &funnel::Pipeline,
    path: &str,
    columns: &[String],
    settings: &Settings,
) -> Result<GroupKeys> {
    let groups = CustomerGroups::load(path, columns, settings)?;
    let accounts: Vec<Option<&str>> = pipeline
        .opportunities
        .iter()
        .map(|o| (o.customer != NONE).then(|| pipeline.names.name(o.customer)))
        .collect();
    if accounts.iter().all(Option::is_none) {
        return Err(anyhow::anyhow!(
            "--by {}: the opportunities name no account (customer_id, 客户, …), so no \
             customers-file group applies; name it with --map customer_id=HEADER",
            columns.join(",")
        ));
    }
    let unknown = accounts
        .iter()
        .filter(|a| a.is_none_or(|id| !groups.contains(id)))
        .count();
    if unknown > 0 {
        note(
            &settings.output,
            format!(
                "{unknown} opportunities have no account in {path} and are grouped as {}",
                crate::metrics::UNKNOWN
            ),
        );
    }
    Ok(GroupKeys {
        names: columns.to_vec(),
        of: accounts
            .iter()
            .map(|a| groups.of(a.unwrap_or("")))
            .collect(),
    })
}
