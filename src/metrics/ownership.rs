//! Ownership spells from the event log (SPEC.md, "Conversion", "Recovery", "Pool rules").
//!
//! An *ownership spell* runs from an `assign`, `claim` or `transfer` (to the event's owner) of a
//! customer until the customer's next `recycle`, `release`, `transfer`, `assign` or `claim`, or
//! is still open at `as_of`. A `recycle` or `release` also opens a *pool stay* (公海), which
//! lasts until the next spell starts. Events are taken in time order per customer (ties in file
//! order); problems are counted with examples, never silently dropped.

use std::collections::HashMap;

use anyhow::Result;
use polars::prelude::*;

use crate::metrics::orders::{flatten_list, ListValues};

pub const DAY_MS: i64 = 86_400_000;

/// The ownership event types, after synonyms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Assign,
    Claim,
    Transfer,
    Recycle,
    Release,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Assign => "assign",
            EventKind::Claim => "claim",
            EventKind::Transfer => "transfer",
            EventKind::Recycle => "recycle",
            EventKind::Release => "release",
        }
    }

    pub const ACCEPTED: &'static str = "assign/分配, claim/领取, transfer/转移, \
        recycle/回收/退回公海, release/释放/放弃";

    pub fn parse(raw: &str) -> Option<EventKind> {
        let s = raw.trim().to_lowercase();
        Some(match s.as_str() {
            "assign" | "assigned" | "assignment" | "allocate" | "allocated" | "allocation"
            | "distribute" | "分配" | "指派" | "分派" | "已分配" | "分配客户" => {
                EventKind::Assign
            }
            "claim" | "claimed" | "receive" | "received" | "pick" | "take" | "领取" | "认领"
            | "抢占" | "已领取" | "领取客户" => EventKind::Claim,
            "transfer" | "transferred" | "reassign" | "reassigned" | "handover" | "转移"
            | "转交" | "转移客户" | "变更负责人" | "移交" => EventKind::Transfer,
            "recycle" | "recycled" | "reclaim" | "reclaimed" | "return" | "returned" | "back"
            | "回收" | "收回" | "退回公海" | "自动回收" | "回收公海" | "放入公海" => {
                EventKind::Recycle
            }
            "release" | "released" | "abandon" | "abandoned" | "give up" | "drop" | "释放"
            | "放弃" | "退回" | "主动退回" | "放弃客户" => EventKind::Release,
            _ => return None,
        })
    }

    pub fn starts_spell(self) -> bool {
        matches!(
            self,
            EventKind::Assign | EventKind::Claim | EventKind::Transfer
        )
    }
}

/// Strings shared by many rows (customer IDs, owners, reasons, pools) as small integers.
///
/// Millions of rows are looked up, so the map uses foldhash with a fixed seed (SipHash cost
/// about half of `conversion`'s time on 10 million orders) and numbers are handed out in the order
/// strings are first seen, which is deterministic.
#[derive(Debug, Default)]
pub struct Interner {
    index: HashMap<Box<str>, u32, foldhash::fast::FixedState>,
    pub names: Vec<String>,
}

pub const NONE: u32 = u32::MAX;

impl Interner {
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.index.insert(s.into(), i);
        i
    }
    pub fn opt(&mut self, s: Option<&str>) -> u32 {
        match s {
            Some(s) if !s.trim().is_empty() => self.id(s.trim()),
            _ => NONE,
        }
    }
    pub fn get(&self, s: &str) -> Option<u32> {
        self.index.get(s).copied()
    }
    pub fn name(&self, i: u32) -> &str {
        if i == NONE {
            ""
        } else {
            &self.names[i as usize]
        }
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub customer: u32,
    pub time_ms: i64,
    pub kind: EventKind,
    pub owner: u32,
    pub reason: u32,
    pub pool: u32,
    /// Spreadsheet row (header = 1).
    pub row: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct Spell {
    pub customer: u32,
    pub owner: u32,
    /// The pool named on the starting event.
    pub pool: u32,
    pub start_ms: i64,
    pub start: EventKind,
    /// None while the spell is open at as_of.
    pub end_ms: Option<i64>,
    pub end: Option<EventKind>,
}

impl Spell {
    pub fn start_day(&self) -> i32 {
        self.start_ms.div_euclid(DAY_MS) as i32
    }
    /// First day not covered: a spell ended by recycle/release still covers its last day (nobody
    /// else holds the customer that day); one ended by a hand-over leaves that day to the next
    /// owner; an open spell covers up to as_of.
    pub fn cover_end(&self, as_of: i32) -> i32 {
        match (self.end_ms, self.end) {
            (Some(ms), Some(EventKind::Recycle | EventKind::Release)) => {
                ms.div_euclid(DAY_MS) as i32 + 1
            }
            (Some(ms), _) => ms.div_euclid(DAY_MS) as i32,
            (None, _) => as_of,
        }
    }
}

/// A recycle or release: the customer goes to the pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolReturn {
    pub customer: u32,
    pub at_ms: i64,
    pub kind: EventKind,
    /// The owner who lost the customer (the spell's owner, else the event's).
    pub previous_owner: u32,
    pub reason: u32,
    pub pool: u32,
    /// The next spell of the customer, if any (index into `Ownership::spells`).
    pub next_spell: Option<usize>,
}

/// Counts of what was odd in the event log, with a few examples each.
#[derive(Debug, Default)]
pub struct EventIssues {
    pub unknown: Vec<(u32, String)>,
    pub unknown_count: usize,
    pub out_of_order: usize,
    pub out_of_order_examples: Vec<u32>,
    pub end_without_spell: usize,
    pub end_without_spell_examples: Vec<u32>,
    pub missing_time: usize,
    pub after_as_of: usize,
}

impl EventIssues {
    /// One line per kind of problem, for stderr.
    pub fn lines(&self, file: &str) -> Vec<String> {
        let rows = |v: &[u32]| {
            v.iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = Vec::new();
        if self.unknown_count > 0 {
            let ex = self
                .unknown
                .iter()
                .map(|(r, v)| format!("row {r}: {v:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(format!(
                "{file}: {} events of an unknown type skipped ({ex}); expected {}",
                self.unknown_count,
                EventKind::ACCEPTED
            ));
        }
        if self.out_of_order > 0 {
            out.push(format!(
                "{file}: {} events are earlier than the customer's previous row (rows {}); taken in time order",
                self.out_of_order,
                rows(&self.out_of_order_examples)
            ));
        }
        if self.end_without_spell > 0 {
            out.push(format!(
                "{file}: {} recycle/release events come while nobody holds the customer (rows {}); counted as pool returns, no spell ends",
                self.end_without_spell,
                rows(&self.end_without_spell_examples)
            ));
        }
        if self.missing_time > 0 {
            out.push(format!(
                "{file}: {} events without an event time skipped",
                self.missing_time
            ));
        }
        if self.after_as_of > 0 {
            out.push(format!(
                "{file}: {} events on or after the analysis date left out",
                self.after_as_of
            ));
        }
        out
    }
}

const EXAMPLES: usize = 5;

/// Spells and pool returns of every customer.
#[derive(Debug, Default)]
pub struct Ownership {
    pub spells: Vec<Spell>,
    pub returns: Vec<PoolReturn>,
    pub issues: EventIssues,
}

/// Reads an events table (customer_id, event_time, event; owner, reason, pool optional) into
/// events, interning the strings. Rows of an unknown type or without a time are counted.
pub fn events_from_frame(
    df: &DataFrame,
    strings: &mut Interner,
    customers: &mut Interner,
    as_of_ms: i64,
) -> Result<(Vec<Event>, EventIssues)> {
    let watch = crate::output::progress::Stopwatch::new();
    let mut issues = EventIssues::default();
    let customer_of_row = customer_per_row(df, customers)?;
    watch.lap("  customer per event row");
    let times = df.column("event_time")?.datetime()?.physical().clone();
    let kinds = df.column("event")?.str()?;
    let has = |name: &str| df.get_column_names().iter().any(|c| c.as_str() == name);
    // Sequential iterators: `get(i)` on a many-chunk column searches the chunks every time.
    let strs = |name: &str| -> Result<Box<dyn Iterator<Item = Option<&str>> + '_>> {
        Ok(if has(name) {
            Box::new(df.column(name)?.str()?.iter())
        } else {
            Box::new(std::iter::repeat(None))
        })
    };
    let (mut owners, mut reasons, mut pools) = (strs("owner")?, strs("reason")?, strs("pool")?);
    let mut events = Vec::with_capacity(df.height());
    let mut kind_cache: HashMap<&str, Option<EventKind>> = HashMap::new();
    // Interned per distinct text (owners, pools and reasons are few).
    let mut text_cache: HashMap<&str, u32, foldhash::fast::FixedState> = HashMap::default();
    for (i, ((&customer, time), raw)) in customer_of_row
        .iter()
        .zip(times.iter())
        .zip(kinds.iter())
        .enumerate()
    {
        let (owner, reason, pool) = (
            owners.next().flatten(),
            reasons.next().flatten(),
            pools.next().flatten(),
        );
        let row = (i + 2) as u32;
        let Some(time) = time else {
            issues.missing_time += 1;
            continue;
        };
        let raw = raw.unwrap_or("");
        let kind = *kind_cache
            .entry(raw)
            .or_insert_with(|| EventKind::parse(raw));
        let Some(kind) = kind else {
            issues.unknown_count += 1;
            if issues.unknown.len() < EXAMPLES {
                issues.unknown.push((row, raw.to_string()));
            }
            continue;
        };
        if time >= as_of_ms {
            issues.after_as_of += 1;
            continue;
        }
        if customer == NONE {
            continue;
        }
        events.push(Event {
            customer,
            time_ms: time,
            kind,
            owner: intern_cached(&mut text_cache, strings, owner),
            reason: intern_cached(&mut text_cache, strings, reason),
            pool: intern_cached(&mut text_cache, strings, pool),
            row,
        });
    }
    watch.lap("  events");
    Ok((events, issues))
}

/// `strings.opt(s)`, remembered per distinct text of the column.
fn intern_cached<'a>(
    cache: &mut HashMap<&'a str, u32, foldhash::fast::FixedState>,
    strings: &mut Interner,
    s: Option<&'a str>,
) -> u32 {
    match s {
        None => NONE,
        Some(s) => *cache.entry(s).or_insert_with(|| strings.opt(Some(s))),
    }
}

/// Builds the spells and pool returns. `events` are in file order.
pub fn build(mut events: Vec<Event>, mut issues: EventIssues) -> Ownership {
    // Out of order: a row earlier than the same customer's previous row in the file.
    let customers = events
        .iter()
        .map(|e| e.customer as usize + 1)
        .max()
        .unwrap_or(0);
    let mut last: Vec<i64> = vec![i64::MIN; customers];
    for e in &events {
        let prev = &mut last[e.customer as usize];
        if e.time_ms < *prev {
            issues.out_of_order += 1;
            if issues.out_of_order_examples.len() < EXAMPLES {
                issues.out_of_order_examples.push(e.row);
            }
        }
        *prev = (*prev).max(e.time_ms);
    }
    // Per customer in time order; the sort is stable, so ties keep file order.
    events.sort_by_key(|e| (e.customer, e.time_ms));
    let mut own = Ownership::default();
    let mut open: Option<usize> = None;
    let mut pending_returns: Vec<usize> = Vec::new();
    for (k, e) in events.iter().enumerate() {
        if k > 0 && events[k - 1].customer != e.customer {
            open = None;
            pending_returns.clear();
        }
        let close = |own: &mut Ownership, open: &mut Option<usize>| {
            if let Some(s) = open.take() {
                own.spells[s].end_ms = Some(e.time_ms);
                own.spells[s].end = Some(e.kind);
            }
        };
        match e.kind {
            EventKind::Assign | EventKind::Claim | EventKind::Transfer => {
                close(&mut own, &mut open);
                let owner = if e.owner == NONE {
                    // A transfer without the new owner only ends the old spell; an assign or
                    // claim without an owner still opens one, owned by "".
                    if e.kind == EventKind::Transfer {
                        continue;
                    }
                    NONE
                } else {
                    e.owner
                };
                own.spells.push(Spell {
                    customer: e.customer,
                    owner,
                    pool: e.pool,
                    start_ms: e.time_ms,
                    start: e.kind,
                    end_ms: None,
                    end: None,
                });
                let s = own.spells.len() - 1;
                for r in pending_returns.drain(..) {
                    own.returns[r].next_spell = Some(s);
                }
                open = Some(s);
            }
            EventKind::Recycle | EventKind::Release => {
                let previous_owner = match open {
                    Some(s) => own.spells[s].owner,
                    None => {
                        issues.end_without_spell += 1;
                        if issues.end_without_spell_examples.len() < EXAMPLES {
                            issues.end_without_spell_examples.push(e.row);
                        }
                        e.owner
                    }
                };
                close(&mut own, &mut open);
                own.returns.push(PoolReturn {
                    customer: e.customer,
                    at_ms: e.time_ms,
                    kind: e.kind,
                    previous_owner,
                    reason: e.reason,
                    pool: e.pool,
                    next_spell: None,
                });
                pending_returns.push(own.returns.len() - 1);
            }
        }
    }
    own.issues = issues;
    own
}

/// Each customer's orders: purchase days (orders with positive net, by the shared order rules)
/// and every counted row's (day, net) for revenue, both sorted by day; indexed by customer.
#[derive(Debug, Default)]
pub struct CustomerOrders {
    pub purchases: Vec<Vec<i32>>,
    pub rows: Vec<Vec<(i32, f64)>>,
    /// Order owner of each purchase (same order as `purchases`), when the export has one.
    pub purchase_owner: Vec<Vec<u32>>,
}

impl CustomerOrders {
    pub fn purchases_of(&self, customer: u32) -> &[i32] {
        self.purchases
            .get(customer as usize)
            .map_or(&[], |v| v.as_slice())
    }
    pub fn rows_of(&self, customer: u32) -> &[(i32, f64)] {
        self.rows
            .get(customer as usize)
            .map_or(&[], |v| v.as_slice())
    }
    /// Net of the rows dated in [from, to).
    pub fn net_between(&self, customer: u32, from: i32, to: i32) -> f64 {
        let rows = self.rows_of(customer);
        let start = rows.partition_point(|r| r.0 < from);
        rows[start..]
            .iter()
            .take_while(|r| r.0 < to)
            .map(|r| r.1)
            .sum()
    }
    /// The first purchase day in [from, to).
    pub fn first_purchase_between(&self, customer: u32, from: i32, to: i32) -> Option<i32> {
        let days = self.purchases_of(customer);
        let i = days.partition_point(|&d| d < from);
        days.get(i).copied().filter(|&d| d < to)
    }
}

/// Loads the orders before `as_of` per customer, interning customer IDs into `customers`.
pub fn orders_by_customer(
    orders: &DataFrame,
    as_of: i32,
    customers: &mut Interner,
    strings: &mut Interner,
) -> Result<CustomerOrders> {
    use crate::metrics::orders::{
        before_as_of, collect, counted_rows_expr, has_column, row_net_expr,
    };
    let watch = crate::output::progress::Stopwatch::new();
    let has_status = has_column(orders, "status");
    let has_owner = has_column(orders, "owner");
    let (kept, _) = before_as_of(orders, as_of)?;
    let with_owner = if has_owner {
        kept.clone()
    } else {
        kept.clone()
            .with_column(lit(NULL).cast(DataType::String).alias("owner"))
    };
    // One group-by per customer (in polars, in parallel) brings each customer's rows together; the
    // per-order netting is then done per customer here, on a handful of rows at a time, instead
    // of a second polars group-by over every (customer, order) key. Each customer ID is interned
    // once, not once per row.
    let has_order_id = has_column(orders, "order_id");
    let mut aggs = vec![col("order_date"), col("net"), col("counted")];
    if has_order_id {
        aggs.push(col("order_id"));
    }
    let grouped = collect(
        kept.clone()
            .select([
                col("customer_id"),
                col("order_date").cast(DataType::Int32),
                row_net_expr(has_status).fill_null(lit(0.0)),
                counted_rows_expr(has_status)
                    .fill_null(lit(false))
                    .cast(DataType::Int32)
                    .alias("counted"),
                if has_order_id {
                    col("order_id")
                } else {
                    lit(NULL).cast(DataType::String).alias("order_id")
                },
            ])
            .filter(col("order_date").is_not_null())
            .group_by([col("customer_id")])
            .agg(aggs),
    )?;
    watch.lap("  rows per customer (polars)");
    let owners_by_day = if has_owner {
        Some(collect(
            with_owner.filter(counted_rows_expr(has_status)).select([
                col("customer_id"),
                col("order_date"),
                col("owner"),
            ]),
        )?)
    } else {
        None
    };
    let mut out = CustomerOrders::default();
    // Customers new to the interner are numbered in ID order, not in the (thread-dependent)
    // order of polars' groups.
    let ids = grouped.column("customer_id")?.str()?;
    let mut new: Vec<(&str, usize)> = Vec::new();
    let mut of_group: Vec<u32> = ids
        .iter()
        .enumerate()
        .map(|(g, id)| match id {
            Some(id) => customers.get(id).unwrap_or_else(|| {
                new.push((id, g));
                NONE
            }),
            None => NONE,
        })
        .collect();
    new.sort_unstable();
    for (id, g) in new {
        of_group[g] = customers.id(id);
    }
    let size = customers.len();
    out.purchases.resize_with(size, Vec::new);
    out.rows.resize_with(size, Vec::new);
    out.purchase_owner.resize_with(size, Vec::new);
    let days = ListValues::<Int32Type>::new(grouped.column("order_date")?)?;
    let nets = ListValues::<Float64Type>::new(grouped.column("net")?)?;
    let counted = ListValues::<Int32Type>::new(grouped.column("counted")?)?;
    let order_ids = if has_order_id {
        Some(ListStrings::new(grouped.column("order_id")?)?)
    } else {
        None
    };
    watch.lap("  list values");
    let mut order: Vec<(Option<&str>, usize)> = Vec::new();
    for (g, &c) in of_group.iter().enumerate() {
        if c == NONE {
            continue;
        }
        let (d, n, k) = (days.get(g), nets.get(g), counted.get(g));
        let mut rows: Vec<(i32, f64)> = (0..d.len())
            .filter(|&r| k[r] != 0)
            .map(|r| (d[r], n[r]))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        // Purchases: orders whose net is positive, on the day of their first positive row.
        let mut purchases: Vec<i32> = Vec::new();
        match &order_ids {
            Some(ids) => {
                let base = ids.start(g);
                order.clear();
                order.extend((0..d.len()).map(|r| (ids.get(base + r), r)));
                order.sort_unstable();
                let mut start = 0;
                while start < order.len() {
                    let id = order[start].0;
                    let mut end = start;
                    let (mut net, mut day) = (0.0, i32::MAX);
                    while end < order.len() && order[end].0 == id {
                        let r = order[end].1;
                        net += n[r];
                        if n[r] > 0.0 {
                            day = day.min(d[r]);
                        }
                        end += 1;
                    }
                    if net > 0.0 && day != i32::MAX {
                        purchases.push(day);
                    }
                    start = end;
                }
            }
            None => purchases.extend((0..d.len()).filter(|&r| n[r] > 0.0).map(|r| d[r])),
        }
        purchases.sort_unstable();
        out.purchases[c as usize] = purchases;
        out.rows[c as usize] = rows;
    }
    watch.lap("  per-customer lists");
    // The owner of a purchase: the order owner on that day (first in sort order), if exported.
    if let Some(df) = owners_by_day {
        let mut by_day: HashMap<(u32, i32), u32> = HashMap::new();
        let ids = df.column("customer_id")?.str()?;
        let days = df.column("order_date")?.date()?.physical().clone();
        let owners = df.column("owner")?.str()?;
        for ((id, day), owner) in ids.iter().zip(days.iter()).zip(owners.iter()) {
            let (Some(id), Some(day)) = (id, day) else {
                continue;
            };
            let Some(c) = customers.get(id) else { continue };
            let o = strings.opt(owner);
            by_day
                .entry((c, day))
                .and_modify(|cur| {
                    if *cur == NONE || (o != NONE && strings.name(o) < strings.name(*cur)) {
                        *cur = o;
                    }
                })
                .or_insert(o);
        }
        for (c, days) in out.purchases.iter().enumerate() {
            out.purchase_owner[c] = days
                .iter()
                .map(|&d| by_day.get(&(c as u32, d)).copied().unwrap_or(NONE))
                .collect();
        }
    } else {
        for (c, days) in out.purchases.iter().enumerate() {
            out.purchase_owner[c] = vec![NONE; days.len()];
        }
    }
    Ok(out)
}

/// The interned customer of every row of `df` (NONE for an empty ID). The rows are grouped by ID
/// in polars (in parallel) so that each distinct ID is hashed here once rather than once per row;
/// IDs are numbered in the order of their first row, as a row-by-row pass would.
pub fn customer_per_row(df: &DataFrame, customers: &mut Interner) -> Result<Vec<u32>> {
    let groups = df
        .select(["customer_id"])?
        .lazy()
        .with_row_index("row", None)
        .group_by([col("customer_id")])
        .agg([col("row")])
        .collect()?;
    let ids = groups.column("customer_id")?.str()?;
    let rows = ListValues::<IdxType>::new(groups.column("row")?)?;
    let mut order: Vec<usize> = (0..groups.height()).collect();
    order.sort_unstable_by_key(|&g| rows.get(g).first().copied().unwrap_or(IdxSize::MAX));
    let mut out = vec![NONE; df.height()];
    for g in order {
        let c = customers.opt(ids.get(g));
        for &r in rows.get(g) {
            out[r as usize] = c;
        }
    }
    Ok(out)
}

/// The values of a list-of-strings column: row `g` holds values `start(g) .. start(g + 1)`.
struct ListStrings {
    offsets: Vec<usize>,
    values: StringChunked,
}

impl ListStrings {
    fn new(column: &Column) -> Result<ListStrings> {
        let (offsets, inner) = flatten_list(column)?;
        Ok(ListStrings {
            offsets,
            values: inner.str()?.clone(),
        })
    }

    fn start(&self, row: usize) -> usize {
        self.offsets[row]
    }

    fn get(&self, i: usize) -> Option<&str> {
        self.values.get(i)
    }
}

/// Follow-up times (ms) per customer, sorted; rows on or after as_of left out.
pub fn followups_by_customer(
    df: &DataFrame,
    as_of_ms: i64,
    customers: &mut Interner,
) -> Result<Vec<Vec<i64>>> {
    let customer_of_row = customer_per_row(df, customers)?;
    let times = df.column("followup_time")?.datetime()?.physical().clone();
    let mut out: Vec<Vec<i64>> = Vec::new();
    for (&c, t) in customer_of_row.iter().zip(times.iter()) {
        let Some(t) = t else { continue };
        if t >= as_of_ms || c == NONE {
            continue;
        }
        let c = c as usize;
        if out.len() <= c {
            out.resize_with(c + 1, Vec::new);
        }
        out[c].push(t);
    }
    for list in &mut out {
        list.sort_unstable();
    }
    Ok(out)
}

/// The first time in `times` (sorted) within [from, to).
pub fn first_between(times: &[i64], from: i64, to: i64) -> Option<i64> {
    let i = times.partition_point(|&t| t < from);
    times.get(i).copied().filter(|&t| t < to)
}

/// The day after the latest date in any of the given Date/Datetime columns: the default analysis
/// date of the commands that read several files.
pub fn latest_day(columns: &[(&DataFrame, &str)]) -> Result<Option<i32>> {
    let mut best: Option<i32> = None;
    for (df, name) in columns {
        let col = df.column(name)?;
        let day = match col.dtype() {
            DataType::Date => col.date()?.physical().max(),
            DataType::Datetime(_, _) => col
                .datetime()?
                .physical()
                .max()
                .map(|ms| ms.div_euclid(DAY_MS) as i32),
            _ => None,
        };
        best = best.max(day);
    }
    Ok(best.map(|d| d + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::values::parse_iso_day;

    fn orders(with_order_id: bool) -> DataFrame {
        let day = |s: &str| parse_iso_day(s).unwrap();
        let mut df = df!(
            "customer_id" => ["A", "A", "A", "A", "B", "B", "B", "C"],
            "order_id" => [Some("o1"), Some("o1"), Some("o2"), Some("o3"), Some("o4"), None, None, Some("o9")],
            "order_date" => [day("2024-01-05"), day("2024-01-09"), day("2024-01-07"), day("2024-01-08"),
                             day("2024-02-01"), day("2024-02-02"), day("2024-02-03"), day("2024-03-01")],
            "amount" => [100.0, 100.0, 30.0, 40.0, 20.0, 5.0, 6.0, 10.0],
            "status" => ["paid", "refunded", "paid", "cancelled", "paid", "paid", "refunded", "paid"],
        )
        .unwrap();
        df.apply("order_date", |c| c.cast(&DataType::Date).unwrap())
            .unwrap();
        if !with_order_id {
            df = df.drop("order_id").unwrap();
        }
        df
    }

    fn check(with_order_id: bool) -> (CustomerOrders, Interner) {
        let mut customers = Interner::default();
        let mut strings = Interner::default();
        let as_of = parse_iso_day("2024-03-01").unwrap();
        let o = orders_by_customer(&orders(with_order_id), as_of, &mut customers, &mut strings)
            .unwrap();
        (o, customers)
    }

    #[test]
    fn orders_net_per_order_id_and_rows_keep_every_counted_line() {
        let d = |s: &str| parse_iso_day(s).unwrap();
        let (
            CustomerOrders {
                purchases, rows, ..
            },
            customers,
        ) = check(true);
        // New customers are numbered in ID order; C's only order is on as_of, so left out.
        assert_eq!(customers.names, ["A", "B"]);
        // A: o1 is refunded in full (no purchase), o2 is one, o3 is cancelled.
        assert_eq!(purchases[0], [d("2024-01-07")]);
        assert_eq!(
            rows[0],
            [
                (d("2024-01-05"), 100.0),
                (d("2024-01-07"), 30.0),
                (d("2024-01-09"), -100.0)
            ]
        );
        // B: o4, and the two rows without an order ID net as one order (5 − 6 < 0): no purchase.
        assert_eq!(purchases[1], [d("2024-02-01")]);
        assert_eq!(rows[1].len(), 3);
    }

    #[test]
    fn without_order_ids_every_row_is_its_own_order() {
        let d = |s: &str| parse_iso_day(s).unwrap();
        let (CustomerOrders { purchases, .. }, _) = check(false);
        assert_eq!(purchases[0], [d("2024-01-05"), d("2024-01-07")]);
        assert_eq!(purchases[1], [d("2024-02-01"), d("2024-02-02")]);
    }
}
