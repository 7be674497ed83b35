//! `crm-eval sql QUERY --dialect duckdb|spark|postgres`: prints the SQL that computes a command's
//! table (rfm, abc, cohort, lifecycle, lifecycle-rates, rating, conversion, recovery, nps, funnel,
//! pool and the clv summary) from `orders` (and `events`, `followups`, `surveys`, `customers`,
//! `opportunities`, `stage_history`) tables, for data that live in a warehouse or a lake (docs/metrics.md, "SQL").

use anyhow::Result;

use crate::cmd::funnel::Show;
use crate::cmd::pool::Section;
use crate::error::usage;
use crate::input::values::parse_iso_day;
use crate::load::groups::split_by;
use crate::metrics::abc::{threshold_bp, AbcBasis};
use crate::metrics::clv::TimeUnit;
use crate::metrics::cohort::CohortMetric;
use crate::metrics::conversion::ConversionGroup;
use crate::metrics::funnel::stages::{StageKind, StageWords};
use crate::metrics::funnel::FunnelGroup;
use crate::metrics::periods::Period;
use crate::metrics::recovery::RecoveryGroup;
use crate::settings::Settings;
use crate::sql::{self, Dialect, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Query {
    /// `crm-eval rfm`: one row per customer, scores and segments as the command (--bins,
    /// --frequency, --r-breaks …, the config's segments).
    Rfm,
    /// The per-customer summary `crm-eval clv --summary-in` fits: customer_id, frequency,
    /// recency, T, monetary.
    ClvSummary,
    /// `crm-eval nps`: NPS and CSAT with their 95 % intervals (with --by-owner, per owner).
    Nps,
    /// `crm-eval lifecycle`: the stage of each customer (with --customers-table, `potential`
    /// customers too).
    Lifecycle,
    /// `crm-eval lifecycle --rates`: churn and retention per complete week, month or quarter.
    LifecycleRates,
    /// `crm-eval conversion`: spells, conversion and revenue per owner (or --by cohort) over an
    /// `events` table (customer_id, event_time, event, owner, seq); with --followups-table the
    /// follow-up columns too.
    Conversion,
    /// `crm-eval recovery`: win-back of the customers returned to the pool (events), or with
    /// --churn-days of churned customers (orders with an owner column), per owner or --by.
    Recovery,
    /// `crm-eval rating`: weighted score and grade per customer.
    Rating,
    /// `crm-eval abc` (--by revenue or margin): rank, value, shares and tier per customer.
    Abc,
    /// `crm-eval cohort`: the cohort matrix, with --periods N columns period_0 … period_{N−1}.
    Cohort,
    /// `crm-eval funnel`: the summary, the stage table or the open opportunities (--show) of an
    /// `opportunities` table (and --history-table), by --by owner, product, source, month.
    Funnel,
    /// `crm-eval pool`: one table (--show due, owners, reclaims, priority, health) of the pool
    /// rules (--rules) over the orders, `events` (with a pool column) and `followups` tables.
    Pool,
}

/// The table `sql funnel` and `sql pool` write (one query, one table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SqlShow {
    /// funnel (default): per group, counts, win rate, cycle, amounts, pipeline, velocity.
    Summary,
    /// funnel: per stage.
    Stages,
    /// funnel: the open opportunities.
    Open,
    /// pool (default): customers due back to the pool.
    Due,
    /// pool: owners against their limits.
    Owners,
    /// pool: reclaims inside the cooldown.
    Reclaims,
    /// pool: the pool ranked for re-allocation.
    Priority,
    /// pool: pool health per pool, then all.
    Health,
}

/// The periods the queries know; each query takes some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SqlPeriod {
    Day,
    Week,
    Month,
    Quarter,
}

impl SqlShow {
    fn name(self) -> String {
        <Self as clap::ValueEnum>::to_possible_value(&self)
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

impl SqlPeriod {
    fn time_unit(self) -> Result<TimeUnit> {
        match self {
            SqlPeriod::Day => Ok(TimeUnit::Day),
            SqlPeriod::Week => Ok(TimeUnit::Week),
            SqlPeriod::Month => Ok(TimeUnit::Month),
            SqlPeriod::Quarter => Err(usage(
                "--period quarter: clv-summary takes day, week or month",
            )),
        }
    }

    fn cohort_period(self) -> Result<Period> {
        match self {
            SqlPeriod::Week => Ok(Period::Week),
            SqlPeriod::Month => Ok(Period::Month),
            SqlPeriod::Quarter => Ok(Period::Quarter),
            SqlPeriod::Day => Err(usage(
                "--period day: cohort and lifecycle-rates take week, month or quarter",
            )),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which command's table.
    #[arg(value_enum)]
    pub query: Query,

    /// The engine the SQL is written for.
    #[arg(long, value_enum, default_value = "duckdb")]
    pub dialect: Dialect,

    /// The orders table or view (customer_id, order_id, order_date DATE, amount, status).
    #[arg(long, value_name = "NAME", default_value = "orders")]
    pub orders_table: String,

    /// Analysis date, YYYY-MM-DD (default: the day after the latest order date).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,

    /// rfm: the scores, as the command makes them (the config's `[rfm]` and segments too).
    #[command(flatten)]
    pub scores: crate::cmd::rfm::ScoreArgs,

    /// clv-summary: the time unit of recency and T (day, week, month; default week); cohort
    /// and lifecycle-rates: the period (week, month, quarter; default month).
    #[arg(long, value_enum)]
    pub period: Option<SqlPeriod>,

    /// cohort: what a cell holds.
    #[arg(long, value_enum, default_value = "retention")]
    pub metric: CohortMetric,

    /// cohort: the number of period columns (the command writes one per period from the first
    /// cohort to the one holding the day before as_of).
    #[arg(long, value_name = "N", default_value_t = 24)]
    pub periods: u32,

    /// nps: the surveys table or view (customer_id, response_date DATE, survey, score, owner).
    #[arg(long, value_name = "NAME", default_value = "surveys")]
    pub surveys_table: String,

    /// nps: one row per owner and survey kind.
    #[arg(long)]
    pub by_owner: bool,

    /// abc: what is ranked, revenue (default) or margin (the orders' margin column, or amount −
    /// cost with --map cost=HEADER); conversion: owner (default) and cohort (the month a spell
    /// started); recovery: owner (default), previous-owner, reason, pool, month; both also
    /// columns of --customers-table (a `a;b` cell counts in both); funnel (summary and stages):
    /// owner, product, source, month (none by default); comma-separated.
    #[arg(long, value_name = "BY")]
    pub by: Option<String>,

    /// abc: the tier limits.
    #[command(flatten)]
    pub thresholds: crate::cmd::abc::Thresholds,

    /// lifecycle and lifecycle-rates: the stage thresholds (lifecycle-rates reads --churn-days);
    /// recovery: --churn-days counts churned customers (orders with an owner column) instead
    /// of returns to the pool (events).
    #[command(flatten)]
    pub stages: crate::cmd::lifecycle::StageArgs,

    /// conversion and recovery: the ownership events table or view (customer_id, event_time TIMESTAMP,
    /// event: assign|claim|transfer|recycle|release, owner, seq: the row's place in the export).
    #[arg(long, value_name = "NAME", default_value = "events")]
    pub events_table: String,

    /// conversion and recovery: days after a spell (or recovery) starts in which a purchase
    /// counts; pool: the window of the claim-to-win rate.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub window: i32,

    /// rating: rules (TOML; default: the built-in rules, as `crm-eval rating`); pool: the pool
    /// rules (default: the built-in ones, as `crm-eval pool`).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<String>,

    /// funnel: the opportunities table or view (opportunity_id, stage, created_at, closed_at
    /// DATE, amount, seq: the row's place in the export; owner, customer_id, product, source
    /// when read; outcome, won, closed when --map names them).
    #[arg(long, value_name = "NAME", default_value = "opportunities")]
    pub opportunities_table: String,

    /// funnel: the teams table or view (owner, team, region), for --by team and the owner's
    /// region.
    #[arg(long, value_name = "NAME")]
    pub teams_table: Option<String>,

    /// funnel: the stage history table or view (opportunity_id, stage, entered_at TIMESTAMP,
    /// seq); the stage order comes from it unless --stages names it.
    #[arg(long, value_name = "NAME")]
    pub history_table: Option<String>,

    /// funnel: the open stages in funnel order (default: the config's [funnel] stages, else the
    /// history table's order).
    #[arg(
        long = "stages",
        id = "funnel_stages",
        value_name = "A,B,C",
        value_delimiter = ','
    )]
    pub funnel_stages: Option<Vec<String>>,

    /// funnel: which table (summary — the default —, stages, open); pool: due (default),
    /// owners, reclaims, priority, health.
    #[arg(long, value_enum)]
    pub show: Option<SqlShow>,

    /// pool: the follow-ups table or view (customer_id, followup_time TIMESTAMP; default
    /// `followups`); conversion: adds the follow-up columns, as `conversion --followups`.
    #[arg(long, value_name = "NAME")]
    pub followups_table: Option<String>,

    /// funnel --show open: stale after this many days without a stage change (default: the
    /// config's, else 30).
    #[arg(long, value_name = "DAYS")]
    pub stale_days: Option<i32>,

    /// lifecycle and rating: the customers table or view (customer_id): its customers without
    /// a purchase are `potential` (lifecycle) or score 0 (rating); conversion and recovery: the
    /// table whose columns --by names besides the command's own groups (region, 标签 …).
    #[arg(long, value_name = "NAME")]
    pub customers_table: Option<String>,
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    if let Some(day) = &args.as_of {
        if parse_iso_day(day).is_none() {
            return Err(usage(format!(
                "--as-of {day:?}: expected a date as YYYY-MM-DD"
            )));
        }
    }
    for (flag, name) in [
        ("--orders-table", Some(&args.orders_table)),
        ("--surveys-table", Some(&args.surveys_table)),
        ("--customers-table", args.customers_table.as_ref()),
        ("--events-table", Some(&args.events_table)),
        ("--opportunities-table", Some(&args.opportunities_table)),
        ("--history-table", args.history_table.as_ref()),
        ("--followups-table", args.followups_table.as_ref()),
        ("--teams-table", args.teams_table.as_ref()),
    ] {
        let Some(name) = name else { continue };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
        {
            return Err(usage(format!(
                "{flag} {name:?}: expected a table name (letters, digits, _ and .)"
            )));
        }
    }
    let mappings = &settings.input.mappings;
    refuse_line_item_maps(mappings)?;
    if args.by.is_some()
        && !matches!(
            args.query,
            Query::Abc | Query::Conversion | Query::Recovery | Query::Funnel | Query::Pool
        )
    {
        return Err(usage(
            "--by: sql abc (revenue or margin), sql conversion, sql recovery and sql funnel (their groups) take it",
        ));
    }
    if args.show.is_some() && !matches!(args.query, Query::Funnel | Query::Pool) {
        return Err(usage("--show: sql funnel and sql pool take it"));
    }
    if args.followups_table.is_some() && !matches!(args.query, Query::Conversion | Query::Pool) {
        return Err(usage(
            "--followups-table: sql conversion and sql pool read follow-ups",
        ));
    }
    let churn = args.query == Query::Recovery && args.stages.churn_days.is_some();
    let events = (matches!(
        args.query,
        Query::Conversion | Query::Recovery | Query::Pool
    ) && !churn)
        .then_some(args.events_table.as_str());
    let source = Source::new(
        args.dialect,
        &args.orders_table,
        events,
        args.as_of.clone(),
        mappings.clone(),
    );
    let text = match args.query {
        Query::Rfm => sql::rfm(
            &source,
            &crate::cmd::rfm::score_options(&args.scores, None, settings)?,
        ),
        Query::ClvSummary => {
            sql::clv_summary(&source, args.period.unwrap_or(SqlPeriod::Week).time_unit()?)
        }
        Query::Cohort => {
            if !(1..=600).contains(&args.periods) {
                return Err(usage("--periods: expected 1 to 600 columns"));
            }
            let period = args.period.unwrap_or(SqlPeriod::Month).cohort_period()?;
            sql::cohort(&source, period, args.metric, args.periods)
        }
        Query::LifecycleRates => {
            let opts = args.stages.options()?;
            let period = args.period.unwrap_or(SqlPeriod::Month).cohort_period()?;
            sql::lifecycle_rates(&source, period, opts.churn_days)
        }
        Query::Lifecycle => sql::lifecycle(
            &source,
            &args.stages.options()?,
            args.customers_table.as_deref(),
        ),
        Query::Conversion | Query::Recovery => {
            if args.window < 1 {
                return Err(usage("--window: expected 1 or more days"));
            }
            if args.query == Query::Conversion {
                let (by, columns) = conversion_groups(
                    args.by.as_deref().unwrap_or("owner"),
                    args.customers_table.is_some(),
                )?;
                let mut source = source.clone();
                source.followups = args.followups_table.clone();
                source.customer_groups = customer_columns(&args, columns);
                sql::conversion(&source, args.window, &by)
            } else {
                let churn = match args.stages.churn_days {
                    None => None,
                    Some(days) => Some(
                        i32::try_from(days)
                            .ok()
                            .filter(|d| *d >= 1)
                            .ok_or_else(|| usage("--churn-days: expected 1 or more days"))?,
                    ),
                };
                let (by, columns) = recovery_groups(
                    args.by.as_deref().unwrap_or("owner"),
                    args.customers_table.is_some(),
                )?;
                let mut source = source.clone();
                source.customer_groups = customer_columns(&args, columns);
                sql::recovery(&source, args.window, churn, &by)
            }
        }
        Query::Rating => {
            let rules = crate::cmd::rating::load_rules(args.rules.as_deref())?;
            sql::rating(&source, &rules, args.customers_table.as_deref())
        }
        Query::Abc => {
            let (a, b) = args.thresholds.fractions()?;
            let basis = match args.by.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None | Some("revenue") => AbcBasis::Revenue,
                Some("margin") => AbcBasis::Margin,
                Some(other) => {
                    return Err(usage(format!(
                        "sql abc --by {other}: expected revenue or margin (the SQL has no customers-file groups)"
                    )))
                }
            };
            sql::abc(&source, basis, threshold_bp(a), threshold_bp(b))
        }
        Query::Funnel => funnel(&args, settings)?,
        Query::Pool => {
            if args.window < 1 {
                return Err(usage("--window: expected 1 or more days"));
            }
            // true: the pool; false: customers-file columns (--customers-table).
            let (by, columns) = split_by(
                args.by.as_deref().unwrap_or("pool"),
                |name| (name == "pool").then_some(true),
                false,
                true,
                "",
            )?;
            needs_customers_table("pool", &columns, args.customers_table.is_some(), "pool")?;
            let table = match args.show.unwrap_or(SqlShow::Due) {
                SqlShow::Due => Section::Due,
                SqlShow::Owners => Section::Owners,
                SqlShow::Reclaims => Section::Reclaims,
                SqlShow::Priority => Section::Priority,
                SqlShow::Health => Section::Health,
                other => {
                    return Err(usage(format!(
                        "sql pool --show {}: expected due, owners, reclaims, priority or health",
                        other.name()
                    )))
                }
            };
            if args.by.is_some() && table != Section::Health {
                return Err(usage(
                    "sql pool --by groups the health table: add --show health",
                ));
            }
            let mut source = source.clone();
            source.followups = Some(
                args.followups_table
                    .clone()
                    .unwrap_or_else(|| "followups".into()),
            );
            source.customer_groups = customer_columns(&args, columns);
            let rules = crate::load::pool_rules(args.rules.as_deref())?;
            sql::pool(&source, &rules, args.window, table, by.contains(&true))
        }
        Query::Nps => sql::nps(
            args.dialect,
            &args.surveys_table,
            mappings,
            args.as_of.as_deref(),
            args.by_owner,
        ),
    };
    // Written, not println!: a reader that goes away (`| head`) is a broken pipe, not a panic.
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text};")?;
    out.flush()?;
    Ok(())
}

/// The customers-file columns of `--by`, read from --customers-table.
fn customer_columns(args: &Args, names: Vec<String>) -> Option<sql::CustomerColumns> {
    let table = args.customers_table.clone()?;
    (!names.is_empty()).then_some(sql::CustomerColumns { table, names })
}

/// `sql funnel`: the stage order must be known without reading the data (given, or the
/// history table's).
fn funnel(args: &Args, settings: &Settings) -> Result<String> {
    let cfg = &settings.config.funnel;
    let stale_days = args.stale_days.or(cfg.stale_days).unwrap_or(30);
    if stale_days < 1 {
        return Err(usage("--stale-days: expected 1 or more days"));
    }
    let words = StageWords::with(&cfg.won, &cfg.lost, &cfg.invalid);
    let stages = args.funnel_stages.as_ref().or(cfg.stages.as_ref());
    if let Some(list) = stages {
        if list.iter().any(|s| s.trim().is_empty()) {
            return Err(usage("--stages: a stage name is empty"));
        }
        if list.iter().all(|s| words.kind(s) != StageKind::Open) {
            return Err(usage("--stages: name at least one open stage"));
        }
    } else if args.history_table.is_none() {
        return Err(usage(
            "sql funnel needs the stage order: --stages A,B,C (or the config's [funnel] stages) or --history-table NAME",
        ));
    }
    let (by, columns) = match args.by.as_deref().map(str::trim) {
        None | Some("") => (Vec::new(), Vec::new()),
        Some(list) => split_by(
            list,
            |name| <FunnelGroup as clap::ValueEnum>::from_str(name, true).ok(),
            FunnelGroup::Customer,
            true,
            "",
        )?,
    };
    let by = dedup(by);
    let own = "owner, team, region, product, source, month";
    needs_customers_table("funnel", &columns, args.customers_table.is_some(), own)?;
    if by.contains(&FunnelGroup::Team) && args.teams_table.is_none() {
        return Err(usage(
            "sql funnel --by team needs --teams-table NAME (owner, team)",
        ));
    }
    if by.contains(&FunnelGroup::Region)
        && args.teams_table.is_none()
        && args.customers_table.is_none()
    {
        return Err(usage(
            "sql funnel --by region needs --customers-table NAME (the account's region) or --teams-table NAME (the owner's)",
        ));
    }
    let show = match args.show.unwrap_or(SqlShow::Summary) {
        SqlShow::Summary => Show::Summary,
        SqlShow::Stages => Show::Stages,
        SqlShow::Open => Show::Open,
        other => {
            return Err(usage(format!(
                "sql funnel --show {}: expected summary, stages or open",
                other.name()
            )))
        }
    };
    if show == Show::Open && !by.is_empty() {
        return Err(usage(
            "sql funnel --show open: the open table has no groups",
        ));
    }
    Ok(sql::FunnelQuery {
        dialect: args.dialect,
        opportunities: &args.opportunities_table,
        history: args.history_table.as_deref(),
        stages: stages.map(Vec::as_slice),
        words: &words,
        as_of: args.as_of.as_deref(),
        by: &by,
        show,
        stale_days,
        mappings: &settings.input.mappings,
        teams: args.teams_table.as_deref(),
        customers: args.customers_table.as_deref(),
        customer_columns: &columns,
    }
    .sql())
}

/// The groups of `sql conversion --by`: owner, cohort, and customers-file columns (read from
/// --customers-table), side by side where the first of them is named, as the command places them.
fn conversion_groups(by: &str, customers: bool) -> Result<(Vec<ConversionGroup>, Vec<String>)> {
    let (groups, columns) = split_by(
        by,
        |name| match name {
            "owner" => Some(ConversionGroup::Owner),
            "cohort" => Some(ConversionGroup::Cohort),
            _ => None,
        },
        ConversionGroup::Customer,
        true,
        "",
    )?;
    needs_customers_table("conversion", &columns, customers, "owner, cohort")?;
    Ok((dedup(groups), columns))
}

/// The groups of `sql recovery --by`: those of the command, customers-file columns read from
/// --customers-table.
fn recovery_groups(by: &str, customers: bool) -> Result<(Vec<RecoveryGroup>, Vec<String>)> {
    let (groups, columns) = split_by(
        by,
        RecoveryGroup::from_name,
        RecoveryGroup::Customer,
        true,
        "",
    )?;
    needs_customers_table(
        "recovery",
        &columns,
        customers,
        "owner, previous-owner, reason, pool, month",
    )?;
    Ok((dedup(groups), columns))
}

/// Customers-file columns in `--by` need a customers table to read them from.
fn needs_customers_table(query: &str, columns: &[String], has: bool, own: &str) -> Result<()> {
    if columns.is_empty() || has {
        return Ok(());
    }
    Err(usage(format!(
        "sql {query} --by {}: not one of {own}; a customers-file column needs --customers-table NAME",
        columns.join(",")
    )))
}

/// Each group once, in the order first named.
fn dedup<G: PartialEq>(groups: Vec<G>) -> Vec<G> {
    let mut out: Vec<G> = Vec::new();
    for g in groups {
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

/// The SQL reads an orders table with an amount per row, as the purchase rule takes it: it has no
/// line-amount step (quantity × unit price less a discount) and no invoice-cancellation step
/// (which links by product). A `--map` (or config mapping) of those roles would be ignored and
/// the answer differ from the command's with no word (issue 28): it is a usage error naming it.
fn refuse_line_item_maps(mappings: &[crate::input::schema::MapEntry]) -> Result<()> {
    use crate::input::schema::{Role, TableKind};
    let line_roles = [
        Role::Quantity,
        Role::UnitPrice,
        Role::Discount,
        Role::Product,
    ];
    for m in mappings {
        if line_roles.contains(&m.role) && m.table.is_none_or(|t| t == TableKind::Orders) {
            let named = match m.via {
                "--map" => format!("--map {}={}", m.role.name(), m.header),
                via => format!(
                    "{} = {:?} under [map] in the {via}",
                    m.role.name(),
                    m.header
                ),
            };
            return Err(usage(format!(
                "{named}: the SQL cannot use {} — it reads one amount per order row and has no \
                 line-amount or invoice-cancellation step; compute the amount in a view first \
                 (quantity × unit price), or run the command itself on the export, which does both",
                m.role.name()
            )));
        }
    }
    Ok(())
}
