//! `crm-eval sql QUERY --dialect duckdb|spark|postgres`: prints the SQL that computes a command's
//! table (rfm, abc, cohort, lifecycle, lifecycle-rates, rating, conversion, recovery, nps, funnel,
//! pool and the clv summary) from `orders` (and `events`, `followups`, `surveys`, `customers`,
//! `opportunities`, `stage_history`) tables, for data that live in a warehouse or a lake (docs/metrics.md, "SQL").

use anyhow::Result;

use crate::error::usage;
use crate::load::groups::split_by;
use crate::metrics::abc::threshold_bp;
use crate::metrics::clv::TimeUnit;
use crate::metrics::conversion::ConversionGroup;
use crate::metrics::funnel::stages::{StageKind, StageWords};
use crate::metrics::funnel::FunnelGroup;
use crate::metrics::funnel::Show;
use crate::metrics::pool::Section;
use crate::metrics::recovery::RecoveryGroup;
use crate::settings::Settings;
use crate::sql::{self, Source};

mod args;

pub use args::*;

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    // The one --as-of rule of every command (the SQL takes the text once it is a day).
    crate::load::parse_as_of(&args.as_of)?;
    let mut tables = vec![("--orders-table", args.orders_table.as_str())];
    tables.extend(args.query.tables());
    for (flag, name) in tables {
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
    let OrdersShape {
        maps: like_maps,
        absent,
        lines,
        cancellations,
    } = match &args.like {
        Some(path) => like_export(path, &args.query, settings)?,
        None => {
            let (lines, cancellations) =
                line_items_of_maps(&settings.input.mappings, settings.input.discount)?;
            OrdersShape {
                maps: settings.input.mappings.clone(),
                absent: Vec::new(),
                lines,
                cancellations,
            }
        }
    };
    let mappings = &like_maps;
    let source = |events: Option<&str>| {
        let mut s = Source::new(
            args.dialect,
            &args.orders_table,
            events,
            args.as_of.clone(),
            mappings.clone(),
        );
        s.orders_absent = absent.clone();
        s.line_items = lines;
        s.cancellations = cancellations;
        s
    };
    let text = match &args.query {
        Query::Rfm(q) => sql::rfm(
            &source(None),
            &crate::cmd::rfm::score_options(&q.scores, None, settings)?,
        ),
        Query::ClvSummary(q) => sql::clv_summary(
            &source(None),
            match q.period {
                SummaryUnit::Day => TimeUnit::Day,
                SummaryUnit::Week => TimeUnit::Week,
                SummaryUnit::Month => TimeUnit::Month,
            },
        ),
        Query::Cohort(q) => {
            if !(1..=600).contains(&q.periods) {
                return Err(usage("--periods: expected 1 to 600 columns"));
            }
            sql::cohort(&source(None), q.period.period(), q.metric, q.periods)
        }
        Query::LifecycleRates(q) => {
            let opts = q.stages.options()?;
            sql::lifecycle_rates(&source(None), q.period.period(), opts.churn_days)
        }
        Query::Lifecycle(q) => sql::lifecycle(
            &source(None),
            &q.stages.options()?,
            q.customers.customers_table.as_deref(),
        ),
        Query::Conversion(q) => {
            let window = q.events.window;
            let has_customers = q.customers.customers_table.is_some();
            let (by, columns) = conversion_groups(&q.by, has_customers)?;
            let mut source = source(Some(&q.events.events_table));
            source.followups = q.followups_table.clone();
            source.customer_groups = customer_columns(&q.customers, columns);
            sql::conversion(&source, window, &by)
        }
        Query::Recovery(q) => {
            let window = q.events.window;
            let churn = match q.churn_days {
                None => None,
                Some(days) => Some(
                    i32::try_from(days)
                        .ok()
                        .filter(|d| *d >= 1)
                        .ok_or_else(|| usage("--churn-days: expected 1 or more days"))?,
                ),
            };
            let has_customers = q.customers.customers_table.is_some();
            let (by, columns) = recovery_groups(&q.by, has_customers)?;
            // With --churn-days the returns come from the orders, not the events.
            let events = churn.is_none().then_some(q.events.events_table.as_str());
            let mut source = source(events);
            source.customer_groups = customer_columns(&q.customers, columns);
            sql::recovery(&source, window, churn, &by)
        }
        Query::Rating(q) => {
            let rules = crate::cmd::rating::load_rules(q.rules.as_deref())?;
            sql::rating(
                &source(None),
                &rules,
                q.customers.customers_table.as_deref(),
            )
        }
        Query::Abc(q) => {
            let (a, b) = q.thresholds.fractions()?;
            sql::abc(&source(None), q.by, threshold_bp(a), threshold_bp(b))
        }
        Query::Funnel(q) => funnel(&args, q, settings)?,
        Query::Pool(q) => {
            let window = q.events.window;
            // true: the pool; false: customers-file columns (--customers-table).
            let (by, columns) = split_by(
                q.by.as_deref().unwrap_or("pool"),
                |name| (name == "pool").then_some(true),
                false,
                true,
                "",
            )?;
            let has_customers = q.customers.customers_table.is_some();
            needs_customers_table("pool", &columns, has_customers, "pool")?;
            let table = q.show;
            if q.by.is_some() && table != Section::Health {
                return Err(usage(
                    "sql pool --by groups the health table: add --show health",
                ));
            }
            let mut source = source(Some(&q.events.events_table));
            source.followups = Some(q.followups_table.clone());
            source.customer_groups = customer_columns(&q.customers, columns);
            let rules = crate::load::pool_rules(q.rules.as_deref())?;
            sql::pool(&source, &rules, window, table, by.contains(&true))
        }
        Query::Nps(q) => sql::nps(
            args.dialect,
            &q.surveys_table,
            mappings,
            args.as_of.as_deref(),
            q.by_owner,
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
fn customer_columns(c: &CustomersTable, names: Vec<String>) -> Option<sql::CustomerColumns> {
    let table = c.customers_table.clone()?;
    (!names.is_empty()).then_some(sql::CustomerColumns { table, names })
}

/// `sql funnel`: the stage order must be known without reading the data (given, or the
/// history table's).
fn funnel(args: &Args, q: &FunnelSql, settings: &Settings) -> Result<String> {
    let cfg = &settings.config.funnel;
    let stale_days = q.stale_days.or(cfg.stale_days).unwrap_or(30);
    if stale_days < 1 {
        return Err(usage("--stale-days: expected 1 or more days"));
    }
    let words = StageWords::with(&cfg.won, &cfg.lost, &cfg.invalid);
    let stages = q.stages.as_ref().or(cfg.stages.as_ref());
    if let Some(list) = stages {
        if list.iter().any(|s| s.trim().is_empty()) {
            return Err(usage("--stages: a stage name is empty"));
        }
        if list.iter().all(|s| words.kind(s) != StageKind::Open) {
            return Err(usage("--stages: name at least one open stage"));
        }
    } else if q.history_table.is_none() {
        return Err(usage(
            "sql funnel needs the stage order: --stages A,B,C (or the config's [funnel] stages) or --history-table NAME",
        ));
    }
    let (by, columns) = match q.by.as_deref().map(str::trim) {
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
    needs_customers_table(
        "funnel",
        &columns,
        q.customers.customers_table.is_some(),
        own,
    )?;
    if by.contains(&FunnelGroup::Team) && q.teams_table.is_none() {
        return Err(usage(
            "sql funnel --by team needs --teams-table NAME (owner, team)",
        ));
    }
    if by.contains(&FunnelGroup::Region)
        && q.teams_table.is_none()
        && q.customers.customers_table.is_none()
    {
        return Err(usage(
            "sql funnel --by region needs --customers-table NAME (the account's region) or --teams-table NAME (the owner's)",
        ));
    }
    let show = q.show;
    if show == Show::Open && !by.is_empty() {
        return Err(usage(
            "sql funnel --show open: the open table has no groups",
        ));
    }
    Ok(sql::FunnelQuery {
        dialect: args.dialect,
        opportunities: &q.opportunities_table,
        history: q.history_table.as_deref(),
        stages: stages.map(Vec::as_slice),
        words: &words,
        as_of: args.as_of.as_deref(),
        by: &by,
        show,
        stale_days,
        mappings: &settings.input.mappings,
        teams: q.teams_table.as_deref(),
        customers: q.customers.customers_table.as_deref(),
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

/// The line items a mapping describes: `--map quantity=… --map unit_price=…` (and `discount`) with
/// no amount column named make the SQL compute each line's amount as the command does; a
/// `product` mapping adds the invoice-cancellation step, linking by product (`Some(true)`). A
/// quantity or unit price without the other would be ignored and the answer differ from the
/// command's with no word (issue 28), so it is a usage error naming it.
fn line_items_of_maps(
    mappings: &[crate::input::schema::MapEntry],
    discount: crate::input::lines::DiscountKind,
) -> Result<(Option<sql::LineItems>, Option<bool>)> {
    use crate::input::schema::{Role, TableKind};
    let orders =
        |m: &&crate::input::schema::MapEntry| m.table.is_none_or(|t| t == TableKind::Orders);
    let named = |role: Role| mappings.iter().filter(orders).any(|m| m.role == role);
    let lines = named(Role::Quantity) && named(Role::UnitPrice) && !named(Role::Amount);
    for m in mappings.iter().filter(orders) {
        let refused = match m.role {
            Role::Quantity | Role::UnitPrice | Role::Discount => !lines,
            _ => false,
        };
        if refused {
            let named = match m.via {
                "--map" => format!("--map {}={}", m.role.name(), m.header),
                via => format!(
                    "{} = {:?} under [map] in the {via}",
                    m.role.name(),
                    m.header
                ),
            };
            let why = "the SQL computes a line's amount from quantity × unit price only when \
                       both are named and no amount column is";
            return Err(usage(format!(
                "{named}: {why}; compute the amounts in a view first, or run the command itself \
                 on the export"
            )));
        }
    }
    let lines = lines.then(|| sql::LineItems {
        discount: named(Role::Discount).then_some(discount),
    });
    Ok((lines, named(Role::Product).then_some(true)))
}

/// `--like FILE`: the orders table's columns as the command would read FILE — each role the SQL
/// reads under the export's header (`--map` first, then the synonyms), and the optional order ID
/// and status columns it lacks. An export whose amount is computed from quantity × unit price is
/// refused: the SQL has no line-amount step.
fn like_export(path: &str, query: &Query, settings: &Settings) -> Result<OrdersShape> {
    use crate::input::schema::{resolve_partial, MapEntry, Role, TableKind};
    if matches!(query, Query::Nps(_) | Query::Funnel(_)) {
        return Err(usage(
            "--like FILE describes an orders export; sql nps and sql funnel read other tables",
        ));
    }
    let opts = &settings.input;
    let raw = crate::input::source::open(path, &opts.read)?;
    let (bindings, _) =
        resolve_partial(TableKind::Orders, &raw.headers, &opts.mappings).map_err(|_| {
            anyhow::anyhow!(
                "{}: two columns name one role; choose with --map orders.ROLE=HEADER",
                raw.info.display
            )
        })?;
    let bound = |role: Role| bindings.iter().any(|b| b.role == role);
    let lines = !bound(Role::Amount) && bound(Role::Quantity) && bound(Role::UnitPrice);
    // The cancellation step when the export's invoice numbers mark cancellations, linking by
    // product when it names products.
    let cancellations = match bindings.iter().find(|b| b.role == Role::OrderId) {
        Some(b) if cancellation_marker(&raw, &b.header, &opts.read)? => Some(bound(Role::Product)),
        _ => None,
    };
    // The required columns, with the command's own explanation when one is missing.
    crate::input::resolve_or_explain(TableKind::Orders, &raw.headers, opts, &raw.info)?;
    let mut read = vec![
        Role::CustomerId,
        Role::OrderId,
        Role::OrderDate,
        Role::Amount,
        Role::Status,
        Role::Owner,
        Role::Margin,
        Role::Cost,
    ];
    if lines {
        read.extend([Role::Quantity, Role::UnitPrice, Role::Discount]);
    }
    if cancellations == Some(true) {
        read.push(Role::Product);
    }
    let mut maps = opts.mappings.clone();
    for b in bindings.iter().filter(|b| read.contains(&b.role)) {
        maps.push(MapEntry {
            table: Some(TableKind::Orders),
            role: b.role,
            header: b.header.clone(),
            via: "--like",
        });
    }
    let absent = [Role::OrderId, Role::Status]
        .into_iter()
        .filter(|r| !bound(*r))
        .collect();
    let lines = lines.then(|| sql::LineItems {
        discount: bound(Role::Discount).then_some(opts.discount),
    });
    Ok(OrdersShape {
        maps,
        absent,
        lines,
        cancellations,
    })
}

/// What the SQL needs to know of the orders table besides its name: the column names, the
/// optional columns it lacks, whether it holds invoice lines, and whether the cancellation step
/// runs (linking by product with `Some(true)`).
struct OrdersShape {
    maps: Vec<crate::input::schema::MapEntry>,
    absent: Vec<crate::input::schema::Role>,
    lines: Option<sql::LineItems>,
    cancellations: Option<bool>,
}

/// Whether an export's order IDs mark cancellations (`C` + digits beside plain numbers:
/// `ledger::cancel`'s rule), read over the whole column.
fn cancellation_marker(
    raw: &crate::input::source::RawSource,
    header: &str,
    read: &crate::input::source::ReadOptions,
) -> Result<bool> {
    let (frame, _) = raw.read(Some(&[header.to_string()]), &[], read)?;
    let ids = frame
        .column(header)?
        .cast(&polars::prelude::DataType::String)?;
    let (mut c_ids, mut plain) = (false, false);
    for id in ids.str()?.iter().flatten() {
        let id = id.trim();
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match id.strip_prefix(['C', 'c']) {
            Some(rest) if digits(rest) => c_ids = true,
            _ if digits(id) => plain = true,
            _ => {}
        }
        if c_ids && plain {
            return Ok(true);
        }
    }
    Ok(false)
}
