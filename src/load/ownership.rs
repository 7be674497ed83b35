//! Loading shared by `conversion`, `recovery` and `pool`: the event log, orders, follow-ups and
//! customers, interned into one customer index, with every oddity reported on stderr.

use crate::day::Day;
use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Result;

use crate::input::schema::{Role, TableKind};
use crate::input::source::SourceInfo;
use crate::input::Table;
use crate::ledger::Ledger;
use crate::load::{build_ledger, load_orders, note_after_as_of};
use crate::metrics::conversion;
use crate::metrics::ownership::{self, followups_by_customer, CustomerOrders, Interner, Ownership};
use crate::metrics::pool::{self, PoolRules};
use crate::output::progress::Progress;
use crate::output::{note, OutputOptions};
use crate::settings::Settings;

/// The files a pool-side command may read.
#[derive(Debug, Clone, clap::Args)]
pub struct Files {
    /// Ownership event log (assign, claim, transfer, recycle, release).
    #[arg(long, value_name = "FILE")]
    pub events: Option<String>,

    /// Orders export.
    #[arg(long, value_name = "FILE")]
    pub orders: Option<String>,

    /// Follow-up log (customer_id, followup_time).
    #[arg(long, value_name = "FILE")]
    pub followups: Option<String>,

    /// Customers export (for --by source, region or any other of its columns).
    #[arg(long, value_name = "FILE")]
    pub customers: Option<String>,

    /// Analysis date, YYYY-MM-DD: rows on or after it are left out (default: the day after the
    /// latest date in the files read).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

pub struct Loaded {
    pub own: Ownership,
    pub orders: CustomerOrders,
    pub followups: Option<Vec<Vec<i64>>>,
    pub customers: Interner,
    pub strings: Interner,
    /// Source per customer index (with --customers).
    pub source: Option<HashMap<u32, String>>,
    pub as_of: Day,
}

impl Loaded {
    /// The pool checks of this data, given the conversion outcomes of its spells (for the
    /// claim-to-win rate).
    pub fn pool_report(
        &self,
        followups: &[Vec<i64>],
        outcomes: &[conversion::Outcome],
        rules: &PoolRules,
    ) -> Result<pool::PoolReport> {
        pool::report(&self.pool_inputs(followups, outcomes), rules)
    }

    /// The pool health table by other groups than the pool (docs/metrics.md, "Groups").
    pub fn pool_health(
        &self,
        followups: &[Vec<i64>],
        outcomes: &[conversion::Outcome],
        groups: &pool::HealthGroups,
    ) -> Result<polars::prelude::DataFrame> {
        pool::health(&self.pool_inputs(followups, outcomes), groups)
    }

    fn pool_inputs<'a>(
        &'a self,
        followups: &'a [Vec<i64>],
        outcomes: &'a [conversion::Outcome],
    ) -> pool::Inputs<'a> {
        pool::Inputs {
            own: &self.own,
            customers: &self.customers,
            strings: &self.strings,
            orders: &self.orders,
            followups,
            conversion: outcomes,
            as_of: self.as_of,
        }
    }
}

/// [`load`] over a date range (docs/metrics.md, "Periods"): as of the range's end, loading again
/// there when a relative range ends before the data do; with the range's days.
pub fn load_in_range(
    files: &Files,
    need_events: bool,
    range: Option<&crate::load::range::Ranged>,
    settings: &Settings,
) -> Result<(Loaded, Option<crate::metrics::periods::Span>)> {
    crate::load::range::load_in(
        range,
        crate::load::parse_as_of(&files.as_of)?,
        settings,
        |as_of, settings| {
            let files = Files {
                as_of: as_of.map(|d| d.to_string()),
                ..files.clone()
            };
            load(&files, need_events, settings)
        },
        |data| data.as_of,
    )
}

/// Loads what `files` names. `need_events` makes --events required.
pub fn load(files: &Files, need_events: bool, settings: &Settings) -> Result<Loaded> {
    let Some(orders_path) = &files.orders else {
        return Err(crate::error::usage("--orders FILE is required"));
    };
    if need_events && files.events.is_none() {
        return Err(crate::error::usage("--events FILE is required"));
    }
    let as_of = crate::load::parse_as_of(&files.as_of)?;
    let progress = Progress::new(2, settings.output.quiet);
    progress.step(format!("loading {orders_path}"));
    let watch = crate::diag::Stopwatch::new();
    let orders = load_orders(orders_path, ORDER_ROLES, settings)?;
    watch.lap("loading the orders");
    progress.step("loading the event log, building spells, grouping orders per customer");
    let mut tables = Tables::load(files, settings)?;
    let as_of = match as_of {
        Some(d) => d,
        None => tables
            .latest_day(&orders)?
            .map(Day::new)
            .ok_or_else(|| anyhow::anyhow!("no dated rows in the files given"))?,
    };
    // The event rows become spells (and their frame is freed) before the ledger takes the orders:
    // the two never need to be in memory at once.
    let log = EventLog::read(tables.events.take(), as_of, &settings.output)?;
    let (orders, ledger) = build_ledger(orders, Some(as_of), &settings.output)?;
    note_after_as_of(&settings.output, ledger.stats.rows_after_as_of, as_of);
    spells(log, tables, &orders, Arc::new(ledger), settings)
}

/// The optional order columns the spell analyses use.
pub const ORDER_ROLES: &[Role] = &[Role::Owner];

/// Like [`load`], with the orders already loaded into their ledger (`files.orders` and
/// `files.as_of` are not read: the ledger's as_of is the analysis date).
pub fn load_with(
    files: &Files,
    orders: &SourceInfo,
    ledger: Arc<Ledger>,
    settings: &Settings,
) -> Result<Loaded> {
    let mut tables = Tables::load(files, settings)?;
    let log = EventLog::read(tables.events.take(), ledger.as_of, &settings.output)?;
    spells(log, tables, orders, ledger, settings)
}

/// The event log read into spells, with the numbering of customers and strings it started (the
/// customers of the log come first) and its file's description.
struct EventLog {
    own: Ownership,
    info: Option<SourceInfo>,
    customers: Interner,
    strings: Interner,
}

impl EventLog {
    fn read(events: Option<Table>, as_of: Day, out: &OutputOptions) -> Result<EventLog> {
        let watch = crate::diag::Stopwatch::new();
        let mut customers = Interner::default();
        let mut strings = Interner::default();
        let (own, info) = match events {
            Some(t) => {
                let (list, issues) = ownership::events_from_frame(
                    &t.df,
                    &mut strings,
                    &mut customers,
                    as_of.start_ms(),
                )
                .map_err(|e| anyhow::anyhow!("{}: {e}", t.info.display))?;
                let Table { info, .. } = t;
                let own = ownership::build(list, issues);
                for line in own.issues.lines(&info.display) {
                    note(out, line);
                }
                (own, Some(info))
            }
            None => (Ownership::default(), None),
        };
        watch.lap("building the spells");
        Ok(EventLog {
            own,
            info,
            customers,
            strings,
        })
    }
}

/// The event log, follow-ups and customers exports, as loaded.
struct Tables {
    events: Option<Table>,
    followups: Option<Table>,
    customers: Option<Table>,
}

impl Tables {
    fn load(files: &Files, settings: &Settings) -> Result<Tables> {
        let watch = crate::diag::Stopwatch::new();
        let load = |path: &Option<String>, kind, roles: Option<&[Role]>| -> Result<Option<Table>> {
            path.as_ref()
                .map(|p| crate::load::table(p, kind, roles, settings))
                .transpose()
        };
        let tables = Tables {
            events: load(&files.events, TableKind::Events, None)?,
            followups: load(&files.followups, TableKind::Followups, Some(&[]))?,
            customers: load(
                &files.customers,
                TableKind::Customers,
                Some(&[Role::Source]),
            )?,
        };
        watch.lap("loading the events, follow-ups and customers");
        Ok(tables)
    }

    /// The day after the latest date in the orders, events and follow-ups.
    fn latest_day(&self, orders: &Table) -> Result<Option<i32>> {
        let mut cols = vec![(&orders.df, "order_date")];
        if let Some(e) = &self.events {
            cols.push((&e.df, "event_time"));
        }
        if let Some(f) = &self.followups {
            cols.push((&f.df, "followup_time"));
        }
        ownership::latest_day(&cols)
    }
}

/// The spells of the event log with the orders, follow-ups and sources per customer, on the
/// ledger's customers (its as_of is the analysis date).
fn spells(
    log: EventLog,
    tables: Tables,
    orders: &SourceInfo,
    ledger: Arc<Ledger>,
    settings: &Settings,
) -> Result<Loaded> {
    let out = &settings.output;
    let watch = crate::diag::Stopwatch::new();
    let Tables {
        followups,
        customers: customers_table,
        ..
    } = tables;
    let as_of = ledger.as_of;
    let as_of_ms = as_of.start_ms();
    let EventLog {
        own,
        info: events,
        mut customers,
        mut strings,
    } = log;
    let with_events = customers.len();
    let order_data = CustomerOrders::new(ledger, &mut customers, &mut strings);
    watch.lap("orders per customer");
    if let Some(t) = &events {
        report_orders_without_spell(&own, &order_data, with_events, &customers, (orders, t), out);
    }
    let followups = match &followups {
        Some(t) => Some(
            followups_by_customer(&t.df, as_of_ms, &mut customers)
                .map_err(|e| anyhow::anyhow!("{}: {e}", t.info.display))?,
        ),
        None => None,
    };
    let source = match &customers_table {
        Some(t) => Some(sources(t, &mut customers)?),
        None => None,
    };
    if let (Some(map), Some(table), Some(events_table)) = (&source, &customers_table, &events) {
        // Customers of the event log (numbered first) that the customers export does not list.
        let missing: Vec<u32> = (0..with_events as u32)
            .filter(|c| !map.contains_key(c))
            .collect();
        if !missing.is_empty() {
            note(
                out,
                format!(
                    "{}: {} customers have no row in {} (e.g. {}); their spells count, in the (unknown) group of --by columns",
                    events_table.display,
                    missing.len(),
                    table.info.display,
                    missing
                        .iter()
                        .take(3)
                        .map(|&c| format!("{:?}", customers.name(c)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
    watch.lap("follow-ups and sources per customer");
    Ok(Loaded {
        own,
        orders: order_data,
        followups,
        customers,
        strings,
        source,
        as_of,
    })
}

fn sources(t: &Table, customers: &mut Interner) -> Result<HashMap<u32, String>> {
    let ids = t.df.column("customer_id")?.str()?;
    let mut map = HashMap::new();
    let source = if t.has(Role::Source) {
        Some(t.df.column("source")?.str()?.clone())
    } else {
        None
    };
    for (i, id) in ids.iter().enumerate() {
        let Some(id) = id else { continue };
        let s = source
            .as_ref()
            .and_then(|s| s.get(i))
            .unwrap_or("")
            .to_string();
        map.insert(customers.id(id.trim()), s);
    }
    Ok(map)
}

/// Orders of customers absent from the event log, and purchases before a customer's first spell:
/// counted on stderr (they belong to no spell).
fn report_orders_without_spell(
    own: &Ownership,
    orders: &CustomerOrders,
    with_events: usize,
    names: &Interner,
    (orders_file, events_file): (&SourceInfo, &SourceInfo),
    out: &crate::output::OutputOptions,
) {
    let mut first_spell: Vec<i32> = vec![i32::MAX; with_events];
    for s in &own.spells {
        let d = s.start_day();
        if let Some(x) = first_spell.get_mut(s.customer as usize) {
            *x = (*x).min(d);
        }
    }
    let (mut unknown, mut unknown_examples) = (0usize, Vec::new());
    let (mut before, mut before_customers) = (0usize, 0usize);
    for c in orders.customers() {
        let days = orders.purchases_of(c);
        if days.is_empty() {
            continue;
        }
        if c as usize >= with_events {
            unknown += 1;
            if unknown_examples.len() < 3 {
                unknown_examples.push(c);
            }
            continue;
        }
        let first = first_spell[c as usize];
        let n = days.iter().filter(|&&d| d < first).count();
        if n > 0 {
            before += n;
            before_customers += 1;
        }
    }
    if unknown > 0 {
        note(
            out,
            format!(
                "{}: {unknown} customers with purchases have no row in {} (e.g. {}); their orders belong to no spell",
                orders_file.display,
                events_file.display,
                unknown_examples
                    .iter()
                    .map(|&c| format!("{:?}", names.name(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    if before > 0 {
        note(
            out,
            format!(
                "{}: {before} purchases of {before_customers} customers come before the customer's first assignment or claim; they belong to no spell",
                orders_file.display
            ),
        );
    }
}
