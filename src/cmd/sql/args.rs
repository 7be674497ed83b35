//! The flags of `crm-eval sql` and of each query: one clap subcommand per command whose table it
//! writes, flattening that command's own argument groups.

use crate::metrics::abc::AbcBasis;
use crate::metrics::cohort::CohortMetric;
use crate::metrics::funnel::Show;
use crate::metrics::periods::Period;
use crate::metrics::pool::Section;
use crate::sql::Dialect;

/// The engine and the orders every query reads (before or after the query's name).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The engine the SQL is written for.
    #[arg(long, value_enum, default_value = "duckdb", global = true)]
    pub dialect: Dialect,

    /// The orders table or view (customer_id, order_id, order_date DATE, amount, status).
    #[arg(long, value_name = "NAME", default_value = "orders", global = true)]
    pub orders_table: String,

    /// Analysis date, YYYY-MM-DD (default: the day after the latest order date).
    #[arg(long, value_name = "DATE", global = true)]
    pub as_of: Option<String>,

    /// An orders export (CSV, Excel, Parquet) whose layout the orders table has: its header is
    /// read as the command reads it (synonyms, --map), so the SQL uses the export's own column
    /// names, and a status or order ID column it lacks is read as none (every row paid, each row
    /// an order), as the command does.
    #[arg(long, value_name = "FILE", global = true)]
    pub like: Option<String>,

    #[command(subcommand)]
    pub query: Query,
}

/// Which command's table; each takes its command's own flags (`crm-eval sql rfm --help`).
#[derive(Debug, clap::Subcommand)]
pub enum Query {
    /// `crm-eval rfm`: one row per customer, scores and segments as the command (--bins,
    /// --frequency, --r-breaks …, the config's segments).
    Rfm(RfmSql),
    /// The per-customer summary `crm-eval clv --summary-in` fits: customer_id, frequency,
    /// recency, T, monetary.
    ClvSummary(ClvSummarySql),
    /// `crm-eval nps`: NPS and CSAT with their 95 % intervals (with --by-owner, per owner).
    Nps(NpsSql),
    /// `crm-eval lifecycle`: the stage of each customer (with --customers-table, `potential`
    /// customers too).
    Lifecycle(LifecycleSql),
    /// `crm-eval lifecycle --rates`: churn and retention per complete week, month or quarter.
    LifecycleRates(LifecycleRatesSql),
    /// `crm-eval conversion`: spells, conversion and revenue per owner (or --by cohort) over an
    /// `events` table (customer_id, event_time, event, owner, seq); with --followups-table the
    /// follow-up columns too.
    Conversion(ConversionSql),
    /// `crm-eval recovery`: win-back of the customers returned to the pool (events), or with
    /// --churn-days of churned customers (orders with an owner column), per owner or --by.
    Recovery(RecoverySql),
    /// `crm-eval rating`: weighted score and grade per customer.
    Rating(RatingSql),
    /// `crm-eval abc` (--by revenue or margin): rank, value, shares and tier per customer.
    Abc(AbcSql),
    /// `crm-eval cohort`: the cohort matrix, with --periods N columns period_0 … period_{N−1}.
    Cohort(CohortSql),
    /// `crm-eval funnel`: the summary, the stage table or the open opportunities (--show) of an
    /// `opportunities` table (and --history-table), by --by owner, product, source, month.
    Funnel(FunnelSql),
    /// `crm-eval pool`: one table (--show due, owners, reclaims, priority, health) of the pool
    /// rules (--rules) over the orders, `events` (with a pool column) and `followups` tables.
    Pool(PoolSql),
}

#[derive(Debug, clap::Args)]
pub struct RfmSql {
    /// The scores, as the command makes them (the config's `[rfm]` and segments too).
    #[command(flatten)]
    pub scores: crate::cmd::rfm::ScoreArgs,
}

/// The time unit of a clv summary's recency and T.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryUnit {
    Day,
    Week,
    Month,
}

#[derive(Debug, clap::Args)]
pub struct ClvSummarySql {
    /// The time unit of recency and T.
    #[arg(long, value_enum, default_value = "week")]
    pub period: SummaryUnit,
}

#[derive(Debug, clap::Args)]
pub struct NpsSql {
    /// The surveys table or view (customer_id, response_date DATE, survey, score, owner).
    #[arg(long, value_name = "NAME", default_value = "surveys")]
    pub surveys_table: String,

    /// One row per owner and survey kind.
    #[arg(long)]
    pub by_owner: bool,
}

/// The customers table or view of a query that reads one.
#[derive(Debug, clap::Args)]
pub struct CustomersTable {
    /// The customers table or view (customer_id, and the columns --by names): lifecycle's
    /// customers without a purchase are `potential`, rating's score 0; conversion, recovery,
    /// funnel and pool group by its columns.
    #[arg(long, value_name = "NAME")]
    pub customers_table: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct LifecycleSql {
    /// The stage thresholds.
    #[command(flatten)]
    pub stages: crate::cmd::lifecycle::StageArgs,

    #[command(flatten)]
    pub customers: CustomersTable,
}

/// The periods of cohorts and lifecycle rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RatePeriod {
    Week,
    Month,
    Quarter,
}

impl RatePeriod {
    pub(super) fn period(self) -> Period {
        match self {
            RatePeriod::Week => Period::Week,
            RatePeriod::Month => Period::Month,
            RatePeriod::Quarter => Period::Quarter,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct LifecycleRatesSql {
    /// The stage thresholds (--churn-days is read).
    #[command(flatten)]
    pub stages: crate::cmd::lifecycle::StageArgs,

    /// The period of the rates.
    #[arg(long, value_enum, default_value = "month")]
    pub period: RatePeriod,
}

/// The ownership events and the window of the queries that read them.
#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// The ownership events table or view (customer_id, event_time TIMESTAMP, event:
    /// assign|claim|transfer|recycle|release, owner, seq: the row's place in the export).
    #[arg(long, value_name = "NAME", default_value = "events")]
    pub events_table: String,

    /// Days after a spell (or recovery) starts in which a purchase counts; pool: the window of
    /// the claim-to-win rate.
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = crate::settings::days)]
    pub window: i32,
}

#[derive(Debug, clap::Args)]
pub struct ConversionSql {
    #[command(flatten)]
    pub events: EventsArgs,

    /// Groups: owner (default), cohort (the month a spell started), and columns of
    /// --customers-table (a `a;b` cell counts in both); comma-separated.
    #[arg(long, value_name = "BY", default_value = "owner")]
    pub by: String,

    /// The follow-ups table or view (customer_id, followup_time TIMESTAMP): adds the follow-up
    /// columns, as `conversion --followups`.
    #[arg(long, value_name = "NAME")]
    pub followups_table: Option<String>,

    #[command(flatten)]
    pub customers: CustomersTable,
}

#[derive(Debug, clap::Args)]
pub struct RecoverySql {
    #[command(flatten)]
    pub events: EventsArgs,

    /// Count churned customers (no purchase for DAYS; orders with an owner column) instead of
    /// returns to the pool (events).
    #[arg(long, value_name = "DAYS")]
    pub churn_days: Option<i64>,

    /// Groups: owner (default), previous-owner, reason, pool, month, and columns of
    /// --customers-table; comma-separated.
    #[arg(long, value_name = "BY", default_value = "owner")]
    pub by: String,

    #[command(flatten)]
    pub customers: CustomersTable,
}

#[derive(Debug, clap::Args)]
pub struct RatingSql {
    /// Rules (TOML; default: the built-in rules, as `crm-eval rating`).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<String>,

    #[command(flatten)]
    pub customers: CustomersTable,
}

#[derive(Debug, clap::Args)]
pub struct AbcSql {
    /// What is ranked: revenue, or margin (the orders' margin column, or amount − cost with
    /// --map cost=HEADER).
    #[arg(long, value_enum, default_value = "revenue")]
    pub by: AbcBasis,

    /// The tier limits.
    #[command(flatten)]
    pub thresholds: crate::cmd::abc::Thresholds,
}

#[derive(Debug, clap::Args)]
pub struct CohortSql {
    /// The period of a cohort and of a column.
    #[arg(long, value_enum, default_value = "month")]
    pub period: RatePeriod,

    /// What a cell holds.
    #[arg(long, value_enum, default_value = "retention")]
    pub metric: CohortMetric,

    /// The number of period columns (the command writes one per period from the first cohort to
    /// the one holding the day before as_of).
    #[arg(long, value_name = "N", default_value_t = 24)]
    pub periods: u32,
}

#[derive(Debug, clap::Args)]
pub struct FunnelSql {
    /// The opportunities table or view (opportunity_id, stage, created_at, closed_at DATE,
    /// amount, seq: the row's place in the export; owner, customer_id, product, source when
    /// read; outcome, won, closed when --map names them).
    #[arg(long, value_name = "NAME", default_value = "opportunities")]
    pub opportunities_table: String,

    /// The teams table or view (owner, team, region), for --by team and the owner's region.
    #[arg(long, value_name = "NAME")]
    pub teams_table: Option<String>,

    /// The stage history table or view (opportunity_id, stage, entered_at TIMESTAMP, seq); the
    /// stage order comes from it unless --stages names it.
    #[arg(long, value_name = "NAME")]
    pub history_table: Option<String>,

    /// The open stages in funnel order (default: the config's [funnel] stages, else the history
    /// table's order).
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    pub stages: Option<Vec<String>>,

    /// Which table.
    #[arg(long, value_enum, default_value = "summary")]
    pub show: Show,

    /// --show open: stale after this many days without a stage change (default: the config's,
    /// else 30).
    #[arg(long, value_name = "DAYS")]
    pub stale_days: Option<i32>,

    /// Groups of the summary and stage tables: owner, team, region, product, source, month, and
    /// columns of --customers-table (none by default); comma-separated.
    #[arg(long, value_name = "BY")]
    pub by: Option<String>,

    #[command(flatten)]
    pub customers: CustomersTable,
}

#[derive(Debug, clap::Args)]
pub struct PoolSql {
    #[command(flatten)]
    pub events: EventsArgs,

    /// The pool rules (default: the built-in ones, as `crm-eval pool`).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<String>,

    /// Which table.
    #[arg(long, value_enum, default_value = "due")]
    pub show: Section,

    /// The follow-ups table or view (customer_id, followup_time TIMESTAMP).
    #[arg(long, value_name = "NAME", default_value = "followups")]
    pub followups_table: String,

    /// Groups of the health table: pool (default) and columns of --customers-table.
    #[arg(long, value_name = "BY")]
    pub by: Option<String>,

    #[command(flatten)]
    pub customers: CustomersTable,
}

impl Query {
    /// Every table or view name the query was given, by its flag.
    pub(super) fn tables(&self) -> Vec<(&'static str, &str)> {
        let mut t: Vec<(&'static str, Option<&str>)> = Vec::new();
        fn customers(c: &CustomersTable) -> (&'static str, Option<&str>) {
            ("--customers-table", c.customers_table.as_deref())
        }
        match self {
            Query::Rfm(_) | Query::ClvSummary(_) | Query::LifecycleRates(_) | Query::Abc(_) => {}
            Query::Cohort(_) => {}
            Query::Nps(q) => t.push(("--surveys-table", Some(&q.surveys_table))),
            Query::Lifecycle(q) => t.push(customers(&q.customers)),
            Query::Rating(q) => t.push(customers(&q.customers)),
            Query::Conversion(q) => {
                t.push(("--events-table", Some(&q.events.events_table)));
                t.push(("--followups-table", q.followups_table.as_deref()));
                t.push(customers(&q.customers));
            }
            Query::Recovery(q) => {
                t.push(("--events-table", Some(&q.events.events_table)));
                t.push(customers(&q.customers));
            }
            Query::Funnel(q) => {
                t.push(("--opportunities-table", Some(&q.opportunities_table)));
                t.push(("--history-table", q.history_table.as_deref()));
                t.push(("--teams-table", q.teams_table.as_deref()));
                t.push(customers(&q.customers));
            }
            Query::Pool(q) => {
                t.push(("--events-table", Some(&q.events.events_table)));
                t.push(("--followups-table", Some(&q.followups_table)));
                t.push(customers(&q.customers));
            }
        }
        t.into_iter()
            .filter_map(|(flag, name)| name.map(|n| (flag, n)))
            .collect()
    }
}
